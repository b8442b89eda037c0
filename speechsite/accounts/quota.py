"""Speech quotas: seconds per day, seconds per month and sessions at once.

A session reserves seconds before it accepts the audio they cover, under a row lock on the
user's QuotaState, and gives back what it did not use when it ends. Reservations never exceed
what is left, so parallel sessions of one user cannot together go over a limit at all.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from speechsite.accounts.models import QuotaState, RoleQuota, Usage
from speechsite.providers.models import ProviderKey

T = TypeVar("T")
LIMIT_NAMES = ("daily_seconds", "monthly_seconds", "concurrent_sessions")


class QuotaExceeded(Exception):
    code = "quota_exceeded"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    daily_seconds: int | None
    monthly_seconds: int | None
    concurrent_sessions: int | None


@dataclass(frozen=True)
class Standing:
    """What a user has used and has left, for pages and for the checks below."""

    limits: Limits
    used_today: float
    used_this_month: float

    @property
    def left_today(self) -> float | None:
        return _left(self.limits.daily_seconds, self.used_today)

    @property
    def left_this_month(self) -> float | None:
        return _left(self.limits.monthly_seconds, self.used_this_month)

    @property
    def binding(self) -> str:
        """ "day" or "month": the limit that runs out first ("" when neither is set)."""
        day, month = self.left_today, self.left_this_month
        if day is None and month is None:
            return ""
        if month is None or (day is not None and day <= month):
            return "day"
        return "month"

    @property
    def seconds_left(self) -> float | None:
        """None means unlimited."""
        return {"day": self.left_today, "month": self.left_this_month, "": None}[self.binding]

    @property
    def limit(self) -> int | None:
        return {"day": self.limits.daily_seconds, "month": self.limits.monthly_seconds, "": None}[self.binding]

    @property
    def used(self) -> float:
        return {"day": self.used_today, "month": self.used_this_month, "": self.used_today}[self.binding]


@dataclass(frozen=True)
class Grant:
    """Seconds a session may stream now, and where the user stands after granting them."""

    seconds: float
    day: datetime.date
    month: datetime.date
    standing: Standing


def _left(limit: int | None, used: float) -> float | None:
    return None if limit is None else max(0.0, limit - used)


def limits_for(user) -> Limits:
    """The user's own overrides, else their role's quota, else the settings' defaults."""
    role = RoleQuota.objects.filter(role=user.role).first()
    defaults = settings.QUOTA_DEFAULTS.get(user.role, {})
    values = {}
    for name in LIMIT_NAMES:
        own = getattr(user, name)
        if own is not None:
            values[name] = own
        elif role is not None:
            values[name] = getattr(role, name)
        else:
            values[name] = defaults.get(name)
    return Limits(**values)


def _periods() -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    return today, today.replace(day=1)


def _locked_state(user) -> QuotaState:
    """The user's counters, locked until the transaction ends, rolled over to today and this month."""
    day, month = _periods()
    try:
        with transaction.atomic():  # a savepoint: two first sessions may race to create the row
            QuotaState.objects.get_or_create(user=user, defaults={"day": day, "month": month})
    except IntegrityError:
        pass
    state = QuotaState.objects.select_for_update().get(user=user)
    if state.day != day:
        state.day, state.day_seconds = day, 0.0
    if state.month != month:
        state.month, state.month_seconds = month, 0.0
    return state


def _standing_of(state: QuotaState, limits: Limits) -> Standing:
    return Standing(limits, state.day_seconds, state.month_seconds)


def standing(user) -> Standing:
    """Read-only: what the user has used and has left (reserved seconds count as used)."""
    day, month = _periods()
    state = QuotaState.objects.filter(user=user).first()
    used_today = state.day_seconds if state and state.day == day else 0.0
    used_month = state.month_seconds if state and state.month == month else 0.0
    return Standing(limits_for(user), used_today, used_month)


def describe(seconds: float) -> str:
    """Seconds as people say them: "45 seconds", "12 minutes", "1 h 30 min"."""
    if 0 < seconds < 1:
        return "less than a second"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{minutes // 60} h {minutes % 60} min"


def exhausted_message(stand: Standing) -> str:
    period = "today" if stand.binding == "day" else "this month"
    return f"You have used all {describe(stand.limit or 0)} of speech you have {period}."


def begin_session(user, live_sessions: Callable[[], int], create: Callable[[], T]) -> T:
    """Run `create` (which makes the session's recording) if the user may start a session now.

    `live_sessions` counts the user's sessions in progress; it runs under the lock, so two
    sessions starting at once cannot both take the last free place.
    """
    with transaction.atomic():
        state = _locked_state(user)
        limits = limits_for(user)
        running = live_sessions()
        if limits.concurrent_sessions is not None and running >= limits.concurrent_sessions:
            raise QuotaExceeded(
                f"You already have {running} session{'s' if running != 1 else ''} running, the most you may "
                "have at once. Stop one (or close its tab) and try again."
            )
        stand = _standing_of(state, limits)
        if stand.seconds_left is not None and stand.seconds_left <= 0:
            raise QuotaExceeded(exhausted_message(stand))
        return create()


def reserve(user, needed: float, ahead: float = 0.0) -> Grant:
    """`needed` seconds of the user's quota or what is left of it, plus up to `ahead` more.

    Near the limit a reservation takes at most half of what is left beyond `needed`, so one
    session cannot hold back the seconds another of the user's sessions needs right now.
    """
    with transaction.atomic():
        state = _locked_state(user)
        limits = limits_for(user)
        left = _standing_of(state, limits).seconds_left
        if left is None:  # no limit
            granted = max(needed, ahead)
        else:
            spare = max(0.0, left - needed)
            granted = min(left, needed + min(max(0.0, ahead - needed), spare / 2))
        state.day_seconds += granted
        state.month_seconds += granted
        state.save()
        return Grant(granted, state.day, state.month, _standing_of(state, limits))


def settle(
    user,
    unused: float,
    day: datetime.date | None,
    month: datetime.date | None,
    *,
    recording=None,
    provider: str,
    key_id: int | None = None,
    seconds: float,
) -> Usage:
    """Give back the unused part of a session's reservations and write its ledger entry.

    Unused seconds go back only to the day and month they were taken from (a session may cross
    midnight). `seconds` is what was actually streamed: that is what the ledger charges.
    """
    with transaction.atomic():
        if unused > 0 and day is not None:
            state = _locked_state(user)
            if state.day == day:
                state.day_seconds = max(0.0, state.day_seconds - unused)
            if state.month == month:
                state.month_seconds = max(0.0, state.month_seconds - unused)
            state.save()
        usage = Usage(user=user, recording=recording, provider=provider, key_id=key_id, seconds=round(seconds, 3))
        if key_id is not None:
            usage.key_label = ProviderKey.objects.filter(pk=key_id).values_list("label", flat=True).first() or ""
        usage.save()
        return usage
