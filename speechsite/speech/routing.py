from __future__ import annotations

from django.urls import path

from speechsite.speech.consumers import SpeechConsumer

websocket_urlpatterns = [path("ws/speech/", SpeechConsumer.as_asgi())]
