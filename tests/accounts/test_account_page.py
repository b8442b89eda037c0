"""The account page: a user's own speaking time, limits and recent usage, never anyone else's."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from speechsite.accounts.models import QuotaState, RoleQuota, Usage
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db

ACCOUNT = "/account/"


def spend(user, *, today: float = 0.0, month: float = 0.0) -> None:
    day = timezone.localdate()
    QuotaState.objects.create(user=user, day=day, day_seconds=today, month=day.replace(day=1), month_seconds=month)


def test_it_lives_at_slash_account():
    assert reverse("accounts:account") == ACCOUNT


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={ACCOUNT}"


def test_it_refuses_post(client, student):
    client.force_login(student)
    assert client.post(ACCOUNT).status_code == 405


def test_a_student_sees_what_they_used_and_have_left_today_and_this_month(client, student):
    spend(student, today=600, month=3 * 3600)
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "10 minutes" in page  # used today
    assert "20 minutes" in page  # left of 30 today
    assert "3 h 0 min" in page  # used this month
    assert "7 h 0 min" in page  # left of 10 h
    assert "10 h 0 min" in page  # the monthly limit


def test_a_student_with_nothing_used_sees_their_full_limits(client, student):
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "30 minutes" in page
    assert "You may run 2 sessions at once." in page
    assert "You have not used any speaking time yet." in page


def test_an_exhausted_day_is_marked(client, student):
    spend(student, today=1800, month=1800)
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert 'class="exhausted"' in page
    assert "0 seconds" in page


def test_a_teacher_sees_the_teacher_limits(client, teacher):
    client.force_login(teacher)
    page = client.get(ACCOUNT).content.decode()
    assert "2 h 0 min" in page and "40 h 0 min" in page
    assert "You may run 3 sessions at once." in page


def test_a_school_admin_sees_no_limit(client, school_admin):
    client.force_login(school_admin)
    response = client.get(ACCOUNT)
    rows = response.context["quota_rows"]
    assert [(row["left"], row["limit"]) for row in rows] == [("no limit", "no limit")] * 2
    assert "any number of sessions at once" in response.content.decode()


def test_a_users_own_override_beats_the_role_default(client, student):
    student.daily_seconds = 5 * 60
    student.save()
    client.force_login(student)
    assert "300 seconds" not in (page := client.get(ACCOUNT).content.decode())
    assert "5 minutes" in page


def test_the_role_quota_edited_in_admin_is_what_the_page_shows(client, student):
    RoleQuota.objects.filter(role="student").update(daily_seconds=45 * 60)
    client.force_login(student)
    assert "45 minutes" in client.get(ACCOUNT).content.decode()


def test_a_student_sees_their_own_usage_entries(client, student):
    recording = make_recording(student)
    Usage.objects.create(user=student, recording=recording, provider="elevenlabs", seconds=12.5)
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "elevenlabs" in page and "12.5" in page
    assert recording.get_absolute_url() in page


def test_a_student_never_sees_another_users_usage(client, student, outsider):
    Usage.objects.create(user=student, provider="local", seconds=12.5)
    theirs = make_recording(outsider)
    Usage.objects.create(user=outsider, recording=theirs, provider="prosa", seconds=77.7)
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "12.5" in page
    assert "77.7" not in page and "prosa" not in page
    assert str(theirs.pk) not in page


def test_a_teacher_does_not_see_their_students_usage_here(client, teacher, student, classroom):
    Usage.objects.create(user=student, provider="prosa", seconds=77.7)
    client.force_login(teacher)
    page = client.get(ACCOUNT).content.decode()
    assert "77.7" not in page and "prosa" not in page


def test_it_shows_only_the_latest_twenty_entries(client, student):
    for minutes in range(25):
        Usage.objects.create(
            user=student,
            provider="local",
            seconds=100 + minutes,
            created_at=timezone.now() - timezone.timedelta(minutes=minutes),
        )
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert "100.0" in page and "119.0" in page
    assert "120.0" not in page


def test_it_shows_the_shared_quota_summary(client, student):
    spend(student, today=600)
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert 'id="quota"' in page and "Speech time left" in page


def test_it_has_the_token_section_and_explains_the_bearer_header(client, student):
    client.force_login(student)
    page = client.get(ACCOUNT).content.decode()
    assert 'id="tokens"' in page
    assert "Authorization: Bearer" in page and "/ws/speech/" in page
    assert f'action="{reverse("accounts:token_create")}"' in page
