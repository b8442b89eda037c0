"""The filter form on a student's attempts page (GET): dates, engine, mode, score range, exercise."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from speechsite.practice.models import Exercise
from speechsite.providers.registry import PROVIDERS
from speechsite.speech.models import Recording

ANY = ("", "Any")


class AttemptFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    provider = forms.ChoiceField(required=False, label="Engine")
    mode = forms.ChoiceField(required=False, choices=[ANY, *Recording.Mode.choices])
    score_min = forms.FloatField(required=False, min_value=0, max_value=100, label="Score from")
    score_max = forms.FloatField(required=False, min_value=0, max_value=100, label="Score to")
    exercise = forms.ModelChoiceField(
        required=False, queryset=Exercise.objects.order_by("title", "id"), empty_label="Any"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read the registry when the form is built, so a provider added later is offered without a restart.
        self.fields["provider"].choices = [ANY, *((name, caps.label) for name, caps in PROVIDERS.items())]

    def clean(self) -> dict:
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        score_min, score_max = data.get("score_min"), data.get("score_max")
        if score_min is not None and score_max is not None and score_min > score_max:
            self.add_error("score_max", "The highest score is below the lowest.")
        return data

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list (an unbound or empty form does not)."""
        if not self.is_bound or not self.is_valid():
            return False
        return any(value not in (None, "") for value in self.cleaned_data.values())

    def apply(self, recordings: QuerySet[Recording]) -> QuerySet[Recording]:
        """`recordings` narrowed by the valid form; an invalid form narrows nothing (its errors are shown instead)."""
        if not self.is_bound or not self.is_valid():
            return recordings
        data = self.cleaned_data
        if data["date_from"]:
            recordings = recordings.filter(started_at__date__gte=data["date_from"])
        if data["date_to"]:
            recordings = recordings.filter(started_at__date__lte=data["date_to"])
        if data["provider"]:
            recordings = recordings.filter(provider=data["provider"])
        if data["mode"]:
            recordings = recordings.filter(mode=data["mode"])
        if data["score_min"] is not None:
            recordings = recordings.filter(assessment__overall__gte=data["score_min"])
        if data["score_max"] is not None:
            recordings = recordings.filter(assessment__overall__lte=data["score_max"])
        if data["exercise"]:
            recordings = recordings.filter(assessment__exercise=data["exercise"])
        return recordings
