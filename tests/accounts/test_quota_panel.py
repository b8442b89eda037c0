"""The pages that record show how much speech time is left; the navigation fits the role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from speechsite.accounts import quota

pytestmark = pytest.mark.django_db

RECORDING_PAGES = ["speech:live", "practice:practice", "practice:upload"]


@pytest.mark.parametrize("page", RECORDING_PAGES)
def test_a_student_sees_the_time_left_today_and_this_month(client, student, page):
    student.daily_seconds, student.monthly_seconds = 600, 36000
    student.save()
    quota.reserve(student, 90)
    client.force_login(student)
    html = client.get(reverse(page)).content.decode()
    assert 'id="quota"' in html
    assert "<b>8 minutes</b> of 10 minutes today" in html
    assert "<b>9 h 58 min</b> of 10 h 0 min this month" in html


def test_a_spent_quota_says_so_and_when_it_renews(client, student):
    student.daily_seconds = 60
    student.save()
    quota.reserve(student, 60)
    client.force_login(student)
    html = client.get(reverse("speech:live")).content.decode()
    assert "quota-spent" in html and "it renews tomorrow" in html


def test_someone_without_limits_is_told_so(client, school_admin):
    client.force_login(school_admin)
    html = client.get(reverse("speech:live")).content.decode()
    assert "Speech time left:" in html and "no limit" in html


def test_a_teacher_has_the_classes_link_and_a_student_does_not(client, student, teacher):
    client.force_login(teacher)
    assert reverse("classroom:list") in client.get(reverse("speech:live")).content.decode()
    client.force_login(student)
    assert reverse("classroom:list") not in client.get(reverse("speech:live")).content.decode()


def test_everyone_signed_in_has_the_account_link(client, student):
    client.force_login(student)
    assert reverse("accounts:account") in client.get(reverse("speech:live")).content.decode()
