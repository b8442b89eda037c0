"""The usage report: seconds of speech per user, provider and key in one calendar month.

Months are calendar months in the site's time zone, selected with a created_at range (not
TruncMonth) so the query uses the ledger's index and behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from speechsite.accounts.models import Usage

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
NO_KEY = "no key"  # how the embedded engine's rows (and deleted keys without a label) are shown


@dataclass(frozen=True)
class UsageLine:
    username: str
    provider: str
    key_label: str
    seconds: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@dataclass(frozen=True)
class ProviderTotal:
    provider: str
    seconds: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@dataclass(frozen=True)
class MonthReport:
    month: datetime.date  # the first day of the month
    lines: list[UsageLine]
    provider_totals: list[ProviderTotal]

    @property
    def total_seconds(self) -> float:
        return sum(total.seconds for total in self.provider_totals)

    @property
    def total_minutes(self) -> float:
        return self.total_seconds / 60

    @property
    def previous_month(self) -> datetime.date:
        return (self.month - datetime.timedelta(days=1)).replace(day=1)

    @property
    def next_month(self) -> datetime.date:
        return _next_month(self.month)


def this_month() -> datetime.date:
    return timezone.localdate().replace(day=1)


def parse_month(value: str) -> datetime.date | None:
    """A "YYYY-MM" string as the first day of that month; None for anything else."""
    match = MONTH_PATTERN.match(value.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 1 <= year <= 9998):
        return None
    return datetime.date(year, month, 1)


def _next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def month_range(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The month's first instant and the next month's first instant, in the site's time zone."""
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(month, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(_next_month(month), datetime.time.min, tzinfo=zone)
    return start, end


def usage_report(month: datetime.date) -> MonthReport:
    start, end = month_range(month)
    entries = Usage.objects.filter(created_at__gte=start, created_at__lt=end)
    grouped = (
        entries.values("user__username", "provider", "key_label")
        .annotate(total=Sum("seconds"))
        .order_by("user__username", "provider", "key_label")
    )
    lines = [
        UsageLine(row["user__username"], row["provider"], row["key_label"] or NO_KEY, row["total"] or 0.0)
        for row in grouped
    ]
    per_provider = entries.values("provider").annotate(total=Sum("seconds")).order_by("provider")
    totals = [ProviderTotal(row["provider"], row["total"] or 0.0) for row in per_provider]
    return MonthReport(month, lines, totals)


def report_csv(report: MonthReport) -> str:
    """The report's lines, then one total line per provider (user and key "(all)")."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["month", "user", "provider", "key", "seconds", "minutes"])
    month = f"{report.month:%Y-%m}"
    for line in report.lines:
        seconds, minutes = _number(line.seconds), _number(line.minutes)
        writer.writerow([month, line.username, line.provider, line.key_label, seconds, minutes])
    for total in report.provider_totals:
        writer.writerow([month, "(all)", total.provider, "(all)", _number(total.seconds), _number(total.minutes)])
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:.1f}"
