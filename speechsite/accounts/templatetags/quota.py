"""`{% quota_panel %}`: the signed-in user's speech time left, for the pages that record."""

from __future__ import annotations

from django import template

from speechsite.accounts import quota

register = template.Library()


@register.inclusion_tag("accounts/_quota.html", takes_context=True)
def quota_panel(context) -> dict:
    user = context["request"].user
    return {"standing": quota.standing(user) if user.is_authenticated else None}


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as people say them ("12 minutes"); "no limit" for None."""
    return "no limit" if seconds is None else quota.describe(seconds)
