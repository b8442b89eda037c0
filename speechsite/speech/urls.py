from __future__ import annotations

from django.urls import path

from speechsite.speech import views

app_name = "speech"

urlpatterns = [
    path("", views.live, name="live"),
    path("history/", views.history, name="history"),
    path("recordings/<uuid:recording_id>/", views.detail, name="detail"),
    path("recordings/<uuid:recording_id>/audio.wav", views.audio, name="audio"),
    path("recordings/<uuid:recording_id>/transcript.<str:fmt>", views.export, name="export"),
]
