"""The form a teacher fills in to set an assignment."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from speechsite.practice.models import Assignment, Exercise

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and expects


class ExerciseChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, exercise: Exercise) -> str:
        return f"{exercise.get_level_display()} · {exercise}"


def default_due_at() -> datetime:
    """A week from now, at the end of that day (local time): what a teacher usually means."""
    return (timezone.localtime() + timedelta(days=7)).replace(hour=23, minute=59, second=0, microsecond=0)


class AssignmentForm(forms.ModelForm):
    exercises = ExerciseChoiceField(
        queryset=Exercise.objects.filter(active=True),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one exercise."},
    )

    class Meta:
        model = Assignment
        fields = ["title", "due_at", "exercises"]
        labels = {"due_at": "Due"}
        widgets = {"due_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_MINUTE)}
        error_messages = {
            "title": {"required": "Give the assignment a title."},
            "due_at": {
                "required": "Choose when it is due.",
                "invalid": "Enter a date and time, e.g. 2030-05-31 18:00.",
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {}).setdefault("due_at", default_due_at())
        super().__init__(*args, **kwargs)
        self.fields["title"].widget.attrs["autofocus"] = True
