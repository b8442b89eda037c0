"""The monthly usage report: seconds per user, provider and key, in admin and as CSV."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from speechsite.accounts import reports
from speechsite.accounts.models import Usage

pytestmark = pytest.mark.django_db

REPORT = "/admin/accounts/usage/report/"
UTC = datetime.UTC


def at(year: int, month: int, day: int = 15, hour: int = 12, minute: int = 0, second: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def use(user, provider: str, seconds: float, when: datetime.datetime, key_label: str = "") -> Usage:
    return Usage.objects.create(user=user, provider=provider, key_label=key_label, seconds=seconds, created_at=when)


@pytest.fixture
def ledger(student, outsider):
    """March 2025 for alice and mallory on two providers and keys, with entries around it."""
    use(student, "elevenlabs", 60, at(2025, 3, 1, 0, 0, 0), "school key")  # first instant of March
    use(student, "elevenlabs", 30, at(2025, 3, 20), "school key")
    use(student, "elevenlabs", 15, at(2025, 3, 21), "backup key")
    use(student, "local", 12.5, at(2025, 3, 31, 23, 59, 59))  # last second of March
    use(outsider, "elevenlabs", 120, at(2025, 3, 5), "school key")
    use(outsider, "prosa", 45, at(2025, 3, 6), "prosa key")
    use(student, "elevenlabs", 999, at(2025, 2, 28, 23, 59, 59), "school key")  # February
    use(outsider, "prosa", 888, at(2025, 4, 1, 0, 0, 0), "prosa key")  # April
    return date(2025, 3)


def date(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, 1)


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-123")


# The aggregation


def test_parse_month_reads_year_and_month():
    assert reports.parse_month("2025-03") == date(2025, 3)
    assert reports.parse_month(" 2025-12 ") == date(2025, 12)


@pytest.mark.parametrize(
    "bad", ["", "2025", "2025-13", "2025-00", "03-2025", "2025-3", "2025-03-01", "soon", "0000-01"]
)
def test_parse_month_refuses_anything_else(bad):
    assert reports.parse_month(bad) is None


def test_it_sums_seconds_per_user_provider_and_key(ledger):
    report = reports.usage_report(ledger)
    lines = [(line.username, line.provider, line.key_label, line.seconds) for line in report.lines]
    assert lines == [
        ("alice", "elevenlabs", "backup key", 15),
        ("alice", "elevenlabs", "school key", 90),
        ("alice", "local", "no key", 12.5),
        ("mallory", "elevenlabs", "school key", 120),
        ("mallory", "prosa", "prosa key", 45),
    ]


def test_it_totals_each_provider_and_the_month(ledger):
    report = reports.usage_report(ledger)
    assert [(total.provider, total.seconds) for total in report.provider_totals] == [
        ("elevenlabs", 225),
        ("local", 12.5),
        ("prosa", 45),
    ]
    assert report.total_seconds == 282.5
    assert report.total_minutes == pytest.approx(282.5 / 60)


def test_it_keeps_other_months_apart(ledger):
    february = reports.usage_report(date(2025, 2))
    april = reports.usage_report(date(2025, 4))
    assert [(line.username, line.seconds) for line in february.lines] == [("alice", 999)]
    assert [(line.username, line.seconds) for line in april.lines] == [("mallory", 888)]


def test_an_empty_month_has_no_lines(ledger):
    report = reports.usage_report(date(2024, 1))
    assert report.lines == [] and report.provider_totals == [] and report.total_seconds == 0


def test_months_follow_the_site_time_zone(settings, student):
    settings.TIME_ZONE = "Asia/Jakarta"  # UTC+7: 20:00 UTC on 31 March is already April there
    with timezone.override("Asia/Jakarta"):
        use(student, "local", 10, at(2025, 3, 31, 20))
        assert reports.usage_report(date(2025, 3)).lines == []
        assert reports.usage_report(date(2025, 4)).total_seconds == 10


def test_previous_and_next_month_cross_years():
    december = reports.usage_report(date(2024, 12))
    assert december.next_month == date(2025, 1)
    assert reports.usage_report(date(2025, 1)).previous_month == date(2024, 12)


def test_the_csv_has_the_same_lines_and_totals(ledger):
    report = reports.usage_report(ledger)
    rows = list(csv.reader(io.StringIO(reports.report_csv(report))))
    assert rows[0] == ["month", "user", "provider", "key", "seconds", "minutes"]
    assert rows[1:6] == [
        ["2025-03", "alice", "elevenlabs", "backup key", "15.0", "0.2"],
        ["2025-03", "alice", "elevenlabs", "school key", "90.0", "1.5"],
        ["2025-03", "alice", "local", "no key", "12.5", "0.2"],
        ["2025-03", "mallory", "elevenlabs", "school key", "120.0", "2.0"],
        ["2025-03", "mallory", "prosa", "prosa key", "45.0", "0.8"],
    ]
    assert rows[6:] == [
        ["2025-03", "(all)", "elevenlabs", "(all)", "225.0", "3.8"],
        ["2025-03", "(all)", "local", "(all)", "12.5", "0.2"],
        ["2025-03", "(all)", "prosa", "(all)", "45.0", "0.8"],
    ]


# The admin page


def test_the_report_url_is_in_admin():
    assert reverse("admin:accounts_usage_report") == REPORT


def test_it_shows_the_chosen_month(client, boss, ledger):
    client.force_login(boss)
    response = client.get(REPORT, {"month": "2025-03"})
    assert response.status_code == 200
    assert response.context["report"] == reports.usage_report(ledger)
    page = response.content.decode()
    assert "Usage in March 2025" in page
    assert "backup key" in page and "mallory" in page
    assert "282.5" in page and "225.0" in page  # the month's and elevenlabs' totals
    assert "999.0" not in page and "888.0" not in page
    assert 'value="2025-03"' in page
    assert "?month=2025-02" in page and "?month=2025-04" in page


def test_it_defaults_to_this_month(client, boss, student):
    use(student, "prosa", 33, timezone.now(), "prosa key")
    client.force_login(boss)
    response = client.get(REPORT)
    assert response.context["report"].month == timezone.localdate().replace(day=1)
    assert "33.0" in response.content.decode()


def test_a_bad_month_shows_a_message_and_this_month(client, boss):
    client.force_login(boss)
    response = client.get(REPORT, {"month": "2025-13"})
    assert response.status_code == 200
    assert response.context["report"].month == timezone.localdate().replace(day=1)
    messages = [str(message) for message in response.context["messages"]]
    assert any("is not a month" in message for message in messages)


def test_an_empty_month_says_so(client, boss):
    client.force_login(boss)
    assert "No usage in January 2024." in client.get(REPORT, {"month": "2024-01"}).content.decode()


def test_the_csv_download_matches_the_report(client, boss, ledger):
    client.force_login(boss)
    response = client.get(REPORT, {"month": "2025-03", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="usage-2025-03.csv"'
    assert response.content.decode() == reports.report_csv(reports.usage_report(ledger))


def test_the_page_links_to_the_csv(client, boss, ledger):
    client.force_login(boss)
    assert "?month=2025-03&amp;format=csv" in client.get(REPORT, {"month": "2025-03"}).content.decode()


def test_a_non_staff_user_is_sent_to_the_admin_login(client, student):
    client.force_login(student)
    response = client.get(REPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(REPORT, {"format": "csv"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_view_permission_on_usage_are_refused(client, teacher):
    teacher.is_staff = True
    teacher.save()
    client.force_login(teacher)
    assert client.get(REPORT).status_code == 403
    assert client.get(REPORT, {"format": "csv"}).status_code == 403


def test_staff_with_view_permission_on_usage_see_it(client, teacher, ledger):
    teacher.is_staff = True
    teacher.save()
    teacher.user_permissions.add(Permission.objects.get(codename="view_usage"))
    client.force_login(teacher)
    assert client.get(REPORT, {"month": "2025-03"}).status_code == 200
