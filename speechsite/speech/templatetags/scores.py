"""Template filters for pronunciation scores: the three color bands and how a score reads."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def band(score: float | None) -> str:
    """good / fair / poor by the site's thresholds; `none` when the provider gave no score."""
    if score is None or score == "":
        return "none"
    good, fair = settings.SCORE_BANDS
    score = float(score)
    return "good" if score >= good else "fair" if score >= fair else "poor"


@register.filter
def score(value: float | None) -> str:
    return "\u2013" if value is None or value == "" else f"{float(value):.0f}"
