"""quota.py: which limits apply, reserving and giving back seconds, and the checks at session start."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from speechsite.accounts import quota
from speechsite.accounts.models import QuotaState, RoleQuota, Usage
from speechsite.accounts.quota import QuotaExceeded
from speechsite.providers.models import ProviderKey

pytestmark = pytest.mark.django_db


def set_role_quota(role: str, **limits) -> None:
    RoleQuota.objects.update_or_create(role=role, defaults=limits)


@pytest.fixture
def tight(student):
    """Alice may speak 60 s a day, 100 s a month, in one session at a time."""
    set_role_quota("student", daily_seconds=60, monthly_seconds=100, concurrent_sessions=1)
    return student


def test_every_role_has_a_default_quota_row():
    assert set(RoleQuota.objects.values_list("role", flat=True)) == {"student", "teacher", "admin"}


def test_a_student_gets_the_student_role_quota(student):
    set_role_quota("student", daily_seconds=600, monthly_seconds=6000, concurrent_sessions=2)
    assert quota.limits_for(student) == quota.Limits(600, 6000, 2)


def test_a_users_own_override_beats_the_role_quota(student):
    set_role_quota("student", daily_seconds=600, monthly_seconds=6000, concurrent_sessions=2)
    student.daily_seconds = 30
    assert quota.limits_for(student) == quota.Limits(30, 6000, 2)


def test_without_a_role_row_the_settings_defaults_apply(student, settings):
    RoleQuota.objects.filter(role="student").delete()
    settings.QUOTA_DEFAULTS = {"student": {"daily_seconds": 5, "monthly_seconds": 50, "concurrent_sessions": 1}}
    assert quota.limits_for(student) == quota.Limits(5, 50, 1)


def test_an_admin_has_no_limit_by_default(school_admin):
    assert quota.standing(school_admin).seconds_left is None


def test_reserve_grants_what_was_asked_while_there_is_room(tight):
    grant = quota.reserve(tight, 5)
    assert grant.seconds == 5
    assert grant.standing.used_today == 5 and grant.standing.left_today == 55


def test_reserve_grants_only_what_is_left(tight):
    quota.reserve(tight, 58)
    assert quota.reserve(tight, 5).seconds == pytest.approx(2)
    assert quota.reserve(tight, 5).seconds == 0


def test_the_monthly_limit_binds_when_it_is_tighter(tight):
    QuotaState.objects.create(user=tight, day=timezone.localdate(), month=timezone.localdate().replace(day=1))
    QuotaState.objects.filter(user=tight).update(month_seconds=97)
    grant = quota.reserve(tight, 5)
    assert grant.seconds == pytest.approx(3)
    assert grant.standing.binding == "month"


def test_a_new_day_starts_from_zero_but_the_month_goes_on(tight):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    QuotaState.objects.create(
        user=tight, day=yesterday, day_seconds=60, month=yesterday.replace(day=1), month_seconds=60
    )
    grant = quota.reserve(tight, 5)
    assert grant.seconds == 5
    assert grant.standing.used_today == 5
    expected_month = 65 if yesterday.month == timezone.localdate().month else 5
    assert grant.standing.used_this_month == expected_month


def test_settle_gives_back_the_unused_part_and_writes_the_ledger(tight):
    grant = quota.reserve(tight, 5)
    usage = quota.settle(tight, 3.0, grant.day, grant.month, provider="local", seconds=2.0)
    state = QuotaState.objects.get(user=tight)
    assert state.day_seconds == pytest.approx(2) and state.month_seconds == pytest.approx(2)
    assert (usage.user, usage.provider, usage.seconds) == (tight, "local", 2.0)


def test_settle_after_midnight_gives_nothing_back_to_the_new_day(tight):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    quota.reserve(tight, 4)
    quota.settle(
        tight, 5.0, yesterday, yesterday.replace(day=1) - datetime.timedelta(days=1), provider="local", seconds=1
    )
    assert QuotaState.objects.get(user=tight).day_seconds == pytest.approx(4)


def test_the_ledger_keeps_the_keys_label(tight):
    key = ProviderKey(provider="elevenlabs", label="school key")
    key.set_secret("xi-secret-1234")
    key.save()
    usage = quota.settle(tight, 0, None, None, provider="elevenlabs", key_id=key.pk, seconds=3)
    key.delete()
    usage.refresh_from_db()
    assert usage.key is None and usage.key_label == "school key"


def test_begin_session_refuses_when_the_day_is_spent(tight):
    quota.reserve(tight, 60)
    with pytest.raises(QuotaExceeded, match="all 60 seconds of speech you have today"):
        quota.begin_session(tight, lambda: 0, lambda: "created")


def test_begin_session_refuses_one_session_too_many(tight):
    with pytest.raises(QuotaExceeded, match="already have 1 session running"):
        quota.begin_session(tight, lambda: 1, lambda: "created")


def test_begin_session_creates_when_allowed(tight):
    assert quota.begin_session(tight, lambda: 0, lambda: "created") == "created"


def test_a_teacher_is_not_limited_by_the_student_quota(teacher, tight):
    assert quota.reserve(teacher, 500).seconds == 500


def test_standing_counts_only_today_and_this_month(tight):
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    QuotaState.objects.create(
        user=tight, day=last_month, day_seconds=50, month=last_month.replace(day=1), month_seconds=90
    )
    stand = quota.standing(tight)
    assert (stand.used_today, stand.used_this_month, stand.seconds_left) == (0, 0, 60)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 seconds"),
        (0.4, "less than a second"),
        (1, "1 second"),
        (45, "45 seconds"),
        (150, "2 minutes"),
        (5400, "90 minutes"),
        (9000, "2 h 30 min"),
    ],
)
def test_describe_says_durations_as_people_do(seconds, said):
    assert quota.describe(seconds) == said


def test_usage_rows_are_per_user(tight, outsider):
    quota.settle(tight, 0, None, None, provider="local", seconds=1)
    assert Usage.objects.filter(user=outsider).count() == 0


def test_reserve_takes_a_block_ahead_while_there_is_plenty(tight):
    assert quota.reserve(tight, 0.1, 5).seconds == pytest.approx(5)


def test_near_the_limit_reserve_takes_at_most_half_of_what_is_left_beyond_the_need(tight):
    quota.reserve(tight, 56)
    assert quota.reserve(tight, 0.1, 5).seconds == pytest.approx(0.1 + 3.9 / 2)


def test_reserve_ahead_never_goes_past_the_limit(tight):
    quota.reserve(tight, 59.95)
    assert quota.reserve(tight, 0.1, 5).seconds == pytest.approx(0.05)


def test_without_a_limit_reserve_takes_the_whole_block(school_admin):
    assert quota.reserve(school_admin, 0.1, 5).seconds == 5
