from __future__ import annotations

from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "speechsite.practice"
    default_auto_field = "django.db.models.BigAutoField"
