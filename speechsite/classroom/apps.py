from __future__ import annotations

from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    """Teacher review pages. No models of its own: classrooms live in accounts, the rest in speech and practice."""

    name = "speechsite.classroom"
    default_auto_field = "django.db.models.BigAutoField"
