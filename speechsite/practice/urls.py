from __future__ import annotations

from django.urls import path

from speechsite.practice import views

app_name = "practice"

urlpatterns = [
    path("", views.practice, name="practice"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<uuid:recording_id>/", views.upload_status, name="upload_status"),
]
