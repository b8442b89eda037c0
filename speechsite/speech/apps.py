from __future__ import annotations

from django.apps import AppConfig


class SpeechConfig(AppConfig):
    name = "speechsite.speech"
    label = "speech"
