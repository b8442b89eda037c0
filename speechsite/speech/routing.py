from __future__ import annotations

from django.urls import path

from speechsite.classroom.consumers import MonitorConsumer
from speechsite.speech.consumers import SpeechConsumer

websocket_urlpatterns = [
    path("ws/speech/", SpeechConsumer.as_asgi()),
    path("ws/monitor/<uuid:recording_id>/", MonitorConsumer.as_asgi()),
]
