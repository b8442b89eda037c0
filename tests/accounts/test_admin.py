"""Django admin for users, classrooms, quotas, usage, tokens, comments and assignments."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from speechsite.accounts.models import ApiToken, Classroom, QuotaState, RoleQuota, Usage, User
from speechsite.practice.models import Assignment, Exercise
from speechsite.speech.models import Comment
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-123")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def everything(student, teacher, classroom, outsider, other_classroom):
    """One row of every model the admin manages."""
    recording = make_recording(student)
    exercise = Exercise.objects.create(text="The cat sat on the mat.")
    assignment = Assignment.objects.create(
        classroom=classroom, title="Week 1", due_at=timezone.now() + datetime.timedelta(days=7)
    )
    assignment.exercises.add(exercise)
    day = timezone.localdate()
    return {
        "user": student,
        "classroom": classroom,
        "rolequota": RoleQuota.objects.get(role="student"),
        "quotastate": QuotaState.objects.create(user=student, day=day, month=day.replace(day=1), day_seconds=90),
        "usage": Usage.objects.create(user=student, recording=recording, provider="elevenlabs", seconds=42),
        "apitoken": ApiToken.issue(student, "laptop")[0],
        "comment": Comment.objects.create(recording=recording, author=teacher, body="Mind the th sound."),
        "assignment": assignment,
    }


ADMIN_NAMES = {
    "user": "accounts_user",
    "classroom": "accounts_classroom",
    "rolequota": "accounts_rolequota",
    "quotastate": "accounts_quotastate",
    "usage": "accounts_usage",
    "apitoken": "accounts_apitoken",
    "comment": "speech_comment",
    "assignment": "practice_assignment",
}


def changelist(name: str) -> str:
    return reverse(f"admin:{ADMIN_NAMES[name]}_changelist")


@pytest.mark.parametrize("name", list(ADMIN_NAMES))
def test_each_changelist_loads(admin_client, everything, name):
    response = admin_client.get(changelist(name))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("name", list(ADMIN_NAMES))
def test_each_change_form_loads(admin_client, everything, name):
    obj = everything[name]
    response = admin_client.get(reverse(f"admin:{ADMIN_NAMES[name]}_change", args=[obj.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["user", "classroom", "comment", "assignment"])
def test_the_add_forms_load(admin_client, name):
    assert admin_client.get(reverse(f"admin:{ADMIN_NAMES[name]}_add")).status_code == 200


@pytest.mark.parametrize("name", ["quotastate", "usage", "apitoken"])
def test_code_written_rows_cannot_be_added_in_admin(admin_client, name):
    assert admin_client.get(reverse(f"admin:{ADMIN_NAMES[name]}_add")).status_code == 403


def results(response) -> list:
    return list(response.context["cl"].result_list)


# Users


def test_user_search_finds_by_username_name_and_email(admin_client, student, teacher):
    student.first_name, student.email = "Alice", "alice@school.test"
    student.save()
    for query in ("alice", "Alice", "school.test"):
        assert results(admin_client.get(changelist("user"), {"q": query})) == [student]


def test_user_filters_by_role_active_and_classroom_members(
    admin_client, everything, student, outsider, teacher, classroom
):
    assert set(results(admin_client.get(changelist("user"), {"role__exact": "teacher"}))) >= {teacher}
    assert student not in results(admin_client.get(changelist("user"), {"role__exact": "teacher"}))
    assert set(results(admin_client.get(changelist("user"), {"classroom": classroom.pk}))) == {student, teacher}
    outsider.is_active = False
    outsider.save()
    assert results(admin_client.get(changelist("user"), {"is_active__exact": "0"})) == [outsider]


def test_user_list_shows_role_classes_and_quota_overrides(admin_client, student, classroom):
    student.daily_seconds = 600
    student.save()
    page = admin_client.get(changelist("user"), {"q": "alice"}).content.decode()
    assert "Classes" in page and "Quota overrides" in page
    assert "day 10 minutes" in page


def test_user_change_form_has_role_quota_overrides_and_the_current_standing(admin_client, student):
    day = timezone.localdate()
    QuotaState.objects.create(user=student, day=day, day_seconds=600, month=day.replace(day=1), month_seconds=600)
    page = admin_client.get(reverse("admin:accounts_user_change", args=[student.pk])).content.decode()
    assert "Quota overrides" in page and 'name="daily_seconds"' in page and 'name="concurrent_sessions"' in page
    assert "role&#x27;s default" in page or "role's default" in page
    assert "Today: used 10 minutes, left 20 minutes." in page


def test_a_superuser_can_set_a_quota_override(admin_client, student):
    url = reverse("admin:accounts_user_change", args=[student.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {"daily_seconds": "900", "monthly_seconds": "", "concurrent_sessions": "1", "date_joined_0": "2024-01-01"}
    )
    data.update(
        {"date_joined_1": "00:00:00", "last_login_0": "", "last_login_1": "", "groups": [], "user_permissions": []}
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    student.refresh_from_db()
    assert (student.daily_seconds, student.monthly_seconds, student.concurrent_sessions) == (900, None, 1)


def test_deleting_a_user_with_usage_and_tokens_is_allowed(admin_client, everything, student):
    response = admin_client.get(reverse("admin:accounts_user_delete", args=[student.pk]))
    assert response.status_code == 200
    assert not response.context["perms_lacking"]
    admin_client.post(reverse("admin:accounts_user_delete", args=[student.pk]), {"post": "yes"})
    assert not User.objects.filter(pk=student.pk).exists()
    assert not Usage.objects.exists()


# Classrooms


def test_classroom_list_shows_teachers_and_student_count(admin_client, classroom, teacher):
    teacher.first_name, teacher.last_name = "Tess", "Taylor"
    teacher.save()
    page = admin_client.get(changelist("classroom")).content.decode()
    assert "Tess Taylor" in page
    assert results(admin_client.get(changelist("classroom")))[0].student_count == 1


def test_classroom_search_finds_by_name_and_member(admin_client, classroom, other_classroom):
    assert results(admin_client.get(changelist("classroom"), {"q": "A1"})) == [classroom]
    assert results(admin_client.get(changelist("classroom"), {"q": "alice"})) == [classroom]
    assert results(admin_client.get(changelist("classroom"), {"q": "trent"})) == [other_classroom]


def test_classroom_filters_by_archived_and_teacher(admin_client, classroom, other_classroom, other_teacher):
    other_classroom.archived = True
    other_classroom.save()
    assert results(admin_client.get(changelist("classroom"), {"archived__exact": "1"})) == [other_classroom]
    assert results(admin_client.get(changelist("classroom"), {"teachers__id__exact": other_teacher.pk})) == [
        other_classroom
    ]


def test_classroom_form_uses_the_two_pane_pickers_and_lists_assignments(admin_client, everything, classroom):
    page = admin_client.get(reverse("admin:accounts_classroom_change", args=[classroom.pk])).content.decode()
    assert "selectfilter" in page.lower() or "SelectFilter" in page
    assert "Week 1" in page


def test_an_assignment_added_inline_is_created_by_the_admin(admin_client, boss, teacher, student):
    exercise = Exercise.objects.create(text="Hello there.")
    data = {
        "name": "Evening class",
        "description": "",
        "teachers": [teacher.pk],
        "students": [student.pk],
        "assignments-TOTAL_FORMS": "1",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
        "assignments-0-title": "Greetings",
        "assignments-0-due_at_0": "2030-01-31",
        "assignments-0-due_at_1": "18:00:00",
        "assignments-0-exercises": [exercise.pk],
    }
    response = admin_client.post(reverse("admin:accounts_classroom_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    room = Classroom.objects.get(name="Evening class")
    assignment = room.assignments.get()
    assert assignment.created_by == boss and list(assignment.exercises.all()) == [exercise]


# Quotas and usage


def test_role_quotas_are_editable_in_the_list(admin_client):
    response = admin_client.get(changelist("rolequota"))
    page = response.content.decode()
    assert 'name="form-0-daily_seconds"' in page and 'name="form-0-concurrent_sessions"' in page
    assert len(results(response)) == 3


def test_quota_state_is_read_only(admin_client, everything):
    state = everything["quotastate"]
    response = admin_client.get(reverse("admin:accounts_quotastate_change", args=[state.pk]))
    assert 'name="day_seconds"' not in response.content.decode()


def test_usage_is_read_only_and_links_its_recording(admin_client, everything):
    usage = everything["usage"]
    page = admin_client.get(changelist("usage")).content.decode()
    assert reverse("admin:speech_recording_change", args=[usage.recording_id]) in page
    change = admin_client.get(reverse("admin:accounts_usage_change", args=[usage.pk])).content.decode()
    assert 'name="seconds"' not in change


def test_usage_filters_by_provider_and_searches_by_username(admin_client, student, outsider):
    mine = Usage.objects.create(user=student, provider="elevenlabs", seconds=5)
    theirs = Usage.objects.create(user=outsider, provider="prosa", seconds=7)
    assert results(admin_client.get(changelist("usage"), {"provider": "prosa"})) == [theirs]
    assert results(admin_client.get(changelist("usage"), {"q": "alice"})) == [mine]


def test_usage_filters_by_month_in_the_date_hierarchy(admin_client, student):
    old = Usage.objects.create(
        user=student, provider="local", seconds=5, created_at=datetime.datetime(2024, 3, 9, tzinfo=datetime.UTC)
    )
    Usage.objects.create(user=student, provider="local", seconds=5)
    assert results(admin_client.get(changelist("usage"), {"created_at__year": "2024", "created_at__month": "3"})) == [
        old
    ]


def test_usage_changelist_links_to_the_monthly_report(admin_client):
    page = admin_client.get(changelist("usage")).content.decode()
    assert reverse("admin:accounts_usage_report") in page


# Tokens


def test_token_pages_never_show_the_digest(admin_client, everything):
    token = everything["apitoken"]
    for url in (changelist("apitoken"), reverse("admin:accounts_apitoken_change", args=[token.pk])):
        page = admin_client.get(url).content.decode()
        assert token.digest not in page
        assert token.hint in page


def test_the_token_list_filters_by_status_and_searches(admin_client, student, outsider):
    active = ApiToken.issue(student, "laptop")[0]
    revoked = ApiToken.issue(outsider, "phone")[0]
    revoked.revoke()
    assert results(admin_client.get(changelist("apitoken"), {"status": "revoked"})) == [revoked]
    assert results(admin_client.get(changelist("apitoken"), {"status": "active"})) == [active]
    assert results(admin_client.get(changelist("apitoken"), {"q": "mallory"})) == [revoked]


def test_the_revoke_action_revokes_the_selected_tokens(admin_client, student, outsider):
    first, second = ApiToken.issue(student, "laptop")[0], ApiToken.issue(outsider, "phone")[0]
    keep = ApiToken.issue(student, "desktop")[0]
    response = admin_client.post(
        changelist("apitoken"), {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "Revoked 2 tokens." in response.content.decode()
    assert [token.revoked for token in (first, second, keep) if token.refresh_from_db() is None] == [True, True, False]


# Comments and assignments


def test_comments_are_searchable_and_inline_on_the_recording(admin_client, everything):
    comment = everything["comment"]
    assert results(admin_client.get(changelist("comment"), {"q": "th sound"})) == [comment]
    assert results(admin_client.get(changelist("comment"), {"q": "alice"})) == [comment]
    page = admin_client.get(reverse("admin:speech_recording_change", args=[comment.recording_id])).content.decode()
    assert "Mind the th sound." in page


def test_a_comment_added_in_admin_is_written_by_the_admin(admin_client, boss, student):
    recording = make_recording(student)
    response = admin_client.post(reverse("admin:speech_comment_add"), {"recording": recording.pk, "body": "Nice!"})
    assert response.status_code == 302
    assert Comment.objects.get().author == boss


def test_assignments_filter_by_classroom_and_search_by_title(admin_client, everything, other_classroom):
    other = Assignment.objects.create(classroom=other_classroom, title="Vowels", due_at=timezone.now())
    assert results(admin_client.get(changelist("assignment"), {"classroom__id__exact": other_classroom.pk})) == [other]
    assert results(admin_client.get(changelist("assignment"), {"q": "Week"})) == [everything["assignment"]]


def test_the_assignment_form_picks_exercises_in_two_panes(admin_client, everything):
    url = reverse("admin:practice_assignment_change", args=[everything["assignment"].pk])
    assert 'class="selectfilter"' in admin_client.get(url).content.decode()
