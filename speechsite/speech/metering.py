"""Charging a session's audio to its user's quota while it streams.

The meter reserves seconds ahead in blocks (one locked database write per block, not per
chunk) and admits each chunk only as far as the reservation covers it. When no more can be
reserved the chunk is cut at the limit, so the user's sessions together never go over it.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings

from speechsite.accounts import quota
from speechsite.accounts.quota import Grant, Standing


class Meter:
    def __init__(self, user, sample_rate: int) -> None:
        self.user = user
        self.rate = sample_rate
        self.reserved_seconds = 0.0
        self.reserved = 0  # samples reserved so far
        self.admitted = 0  # samples let through so far
        self.last_grant: Grant | None = None
        self.spent = False  # nothing more can be reserved: the quota ends with the reservation
        self.warned = False

    @property
    def allowance(self) -> int:
        """Samples reserved and not yet used."""
        return self.reserved - self.admitted

    @property
    def exhausted(self) -> bool:
        return self.spent and self.allowance == 0

    async def admit(self, frame: bytes) -> bytes:
        """The part of `frame` the quota covers: all of it, a prefix at the limit, or nothing."""
        samples = len(frame) // 2
        if samples > self.allowance and not self.spent:
            needed = (samples - self.allowance) / self.rate
            grant = await database_sync_to_async(quota.reserve)(self.user, needed, settings.QUOTA_RESERVE_SECONDS)
            self.last_grant = grant
            self.reserved_seconds += grant.seconds
            # Rounded down (never over the grants), summed first so that no sample is lost per grant.
            self.reserved = int(self.reserved_seconds * self.rate + 1e-6)
            if grant.seconds < needed:
                self.spent = True
        taken = min(samples, self.allowance)
        self.admitted += taken
        return frame if taken == samples else frame[: taken * 2]

    def warning(self) -> dict | None:
        """A quota_warning payload, once, when the user's usage passes the warning share of a limit."""
        if self.warned or self.last_grant is None:
            return None
        stand = self.last_grant.standing
        if stand.limit is None or stand.limit <= 0:
            return None
        used = stand.used - self.allowance / self.rate  # the reservation's unused part is not spoken yet
        if used < settings.QUOTA_WARN_AT * stand.limit:
            return None
        self.warned = True
        left = max(0.0, stand.limit - used)
        return warning_payload(stand, left)

    async def settle(self, recording, provider: str, key_id: int | None, seconds: float) -> None:
        """Give back what was reserved and not streamed; write the ledger entry for `seconds`."""
        grant = self.last_grant
        await database_sync_to_async(quota.settle)(
            self.user,
            self.allowance / self.rate,
            grant.day if grant else None,
            grant.month if grant else None,
            recording=recording,
            provider=provider,
            key_id=key_id,
            seconds=seconds,
        )
        self.reserved = self.admitted

    def spent_message(self) -> str:
        stand = self.last_grant.standing if self.last_grant else None
        return quota.exhausted_message(stand) if stand and stand.limit else "You have used all your speech time."

    def exhausted_message(self) -> str:
        return f"{self.spent_message()} The recording so far is saved."


def warning_payload(stand: Standing, seconds_left: float) -> dict:
    period = "today" if stand.binding == "day" else "this month"
    return {
        "type": "quota_warning",
        "seconds_left": round(seconds_left, 1),
        "period": stand.binding,
        "limit": stand.limit,
        "message": f"About {quota.describe(seconds_left)} of speech left {period}.",
    }
