"""Assignment pages: who may see them (per role, per view), what they show, and the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from speechsite.practice.models import Assignment, Exercise
from speechsite.speech.models import Assessment
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercises():
    return [
        Exercise.objects.create(title="Fox", text="The quick brown fox jumps over the lazy dog."),
        Exercise.objects.create(title="Birch", text="The birch canoe slid on the smooth planks."),
        Exercise.objects.create(title="Hidden", text="Nobody should see this one.", active=False),
    ]


@pytest.fixture
def assignment(classroom, teacher, exercises):
    item = Assignment.objects.create(
        classroom=classroom, title="Week 1 sounds", due_at=timezone.now() + timedelta(days=3), created_by=teacher
    )
    item.exercises.set(exercises[:2])
    Assignment.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(days=1))
    return item


def attempt(student, exercise) -> None:
    Assessment.objects.create(
        recording=make_recording(student, mode="assess", segments=0), exercise=exercise, overall=80
    )


def list_url(classroom) -> str:
    return reverse("classroom:assignments", args=[classroom.pk])


def new_url(classroom) -> str:
    return reverse("classroom:assignment_new", args=[classroom.pk])


def detail_url(assignment) -> str:
    return reverse("classroom:assignment", args=[assignment.classroom_id, assignment.pk])


def delete_url(assignment) -> str:
    return reverse("classroom:assignment_delete", args=[assignment.classroom_id, assignment.pk])


def form_data(exercises, **fields) -> dict:
    due = timezone.localtime() + timedelta(days=5)
    return {
        "title": "Vowels",
        "due_at": due.strftime("%Y-%m-%dT%H:%M"),
        "exercises": [e.pk for e in exercises],
    } | fields


def assert_login_redirect(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The list


def test_the_list_asks_anonymous_visitors_to_sign_in(client, classroom):
    assert_login_redirect(client.get(list_url(classroom)))


def test_the_list_is_a_404_for_a_student_of_the_class(client, student, classroom):
    client.force_login(student)
    assert client.get(list_url(classroom)).status_code == 404


def test_the_list_is_a_404_for_a_teacher_of_another_class(client, other_teacher, other_classroom, classroom):
    client.force_login(other_teacher)
    assert client.get(list_url(classroom)).status_code == 404


def test_the_list_is_a_404_for_an_outsider(client, outsider, classroom):
    client.force_login(outsider)
    assert client.get(list_url(classroom)).status_code == 404


def test_the_list_shows_the_teacher_each_assignment_with_its_counts(client, teacher, student, assignment, exercises):
    attempt(student, exercises[0])
    attempt(student, exercises[1])
    client.force_login(teacher)
    response = client.get(list_url(assignment.classroom))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Week 1 sounds" in page and detail_url(assignment) in page
    assert '<td data-count="on_time">1</td>' in page and '<td data-count="pending">0</td>' in page
    assert new_url(assignment.classroom) in page and "New assignment" in page


def test_the_list_shows_only_this_classrooms_assignments(client, teacher, classroom, other_classroom, exercises):
    other = Assignment.objects.create(classroom=other_classroom, title="B2 homework", due_at=timezone.now())
    other.exercises.set(exercises[:1])
    client.force_login(teacher)
    assert "B2 homework" not in client.get(list_url(classroom)).content.decode()


def test_the_list_says_when_there_are_no_assignments(client, teacher, classroom):
    client.force_login(teacher)
    assert "No assignments yet" in client.get(list_url(classroom)).content.decode()


def test_an_admin_sees_the_list(client, school_admin, assignment):
    client.force_login(school_admin)
    response = client.get(list_url(assignment.classroom))
    assert response.status_code == 200 and "Week 1 sounds" in response.content.decode()


# The form


def test_the_form_asks_anonymous_visitors_to_sign_in(client, classroom):
    assert_login_redirect(client.get(new_url(classroom)))


def test_the_form_is_a_404_for_a_student(client, student, classroom, exercises):
    client.force_login(student)
    assert client.get(new_url(classroom)).status_code == 404
    assert client.post(new_url(classroom), form_data(exercises[:1])).status_code == 404
    assert not Assignment.objects.exists()


def test_the_form_is_a_404_for_a_teacher_of_another_class(client, other_teacher, classroom, exercises):
    client.force_login(other_teacher)
    assert client.get(new_url(classroom)).status_code == 404
    assert client.post(new_url(classroom), form_data(exercises[:1])).status_code == 404
    assert not Assignment.objects.exists()


def test_the_form_is_a_404_for_an_outsider(client, outsider, classroom):
    client.force_login(outsider)
    assert client.get(new_url(classroom)).status_code == 404


def test_the_form_offers_the_teacher_only_active_exercises(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.get(new_url(classroom))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Beginner · Fox" in page and "Beginner · Birch" in page
    assert "Hidden" not in page
    assert 'type="datetime-local"' in page


def test_the_teacher_sets_an_assignment_and_lands_on_its_page(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data(exercises[:2]))
    assignment = Assignment.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(assignment)
    assert assignment.classroom == classroom and assignment.created_by == teacher
    assert assignment.title == "Vowels"
    assert set(assignment.exercises.all()) == set(exercises[:2])
    assert timezone.now() + timedelta(days=4) < assignment.due_at < timezone.now() + timedelta(days=6)


def test_an_admin_sets_an_assignment(client, school_admin, classroom, exercises):
    client.force_login(school_admin)
    assert client.get(new_url(classroom)).status_code == 200
    response = client.post(new_url(classroom), form_data(exercises[:1]))
    assert response.status_code == 302
    assert Assignment.objects.get().created_by == school_admin


def test_a_due_date_in_the_past_is_allowed(client, teacher, classroom, exercises):
    client.force_login(teacher)
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(new_url(classroom), form_data(exercises[:1], due_at=past)).status_code == 302


def test_the_form_requires_a_title(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data(exercises[:1], title="  "))
    assert response.status_code == 422
    assert "Give the assignment a title." in response.content.decode()
    assert not Assignment.objects.exists()


def test_the_form_requires_at_least_one_exercise(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data([]))
    assert response.status_code == 422
    assert "Choose at least one exercise." in response.content.decode()


def test_the_form_requires_a_due_date(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data(exercises[:1], due_at=""))
    assert response.status_code == 422
    assert "Choose when it is due." in response.content.decode()


def test_the_form_refuses_a_date_that_is_not_a_date(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data(exercises[:1], due_at="next friday"))
    assert response.status_code == 422
    assert "Enter a date and time" in response.content.decode()


def test_the_form_refuses_an_inactive_exercise(client, teacher, classroom, exercises):
    client.force_login(teacher)
    response = client.post(new_url(classroom), form_data([exercises[2]]))
    assert response.status_code == 422
    assert not Assignment.objects.exists()


def test_the_form_keeps_what_was_typed_after_an_error(client, teacher, classroom, exercises):
    client.force_login(teacher)
    page = client.post(new_url(classroom), form_data([], title="Diphthongs")).content.decode()
    assert 'value="Diphthongs"' in page


# One assignment


def test_the_assignment_page_asks_anonymous_visitors_to_sign_in(client, assignment):
    assert_login_redirect(client.get(detail_url(assignment)))


def test_the_assignment_page_is_a_404_for_a_student_of_the_class(client, student, assignment):
    client.force_login(student)
    assert client.get(detail_url(assignment)).status_code == 404


def test_the_assignment_page_is_a_404_for_a_teacher_of_another_class(client, other_teacher, assignment):
    client.force_login(other_teacher)
    assert client.get(detail_url(assignment)).status_code == 404


def test_the_assignment_page_is_a_404_for_an_outsider(client, outsider, assignment):
    client.force_login(outsider)
    assert client.get(detail_url(assignment)).status_code == 404


def test_the_teacher_sees_each_students_status_and_progress(
    client, teacher, student, django_user_model, assignment, exercises
):
    bob = django_user_model.objects.create_user("bob", password="bob-pass-123", role="student")
    assignment.classroom.students.add(bob)
    attempt(student, exercises[0])
    client.force_login(teacher)
    response = client.get(detail_url(assignment))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Week 1 sounds" in page
    assert "The quick brown fox jumps over the lazy dog." in page and "The birch canoe" in page
    assert 'data-student="alice"' in page and 'data-student="bob"' in page
    assert "1 / 2" in page and "0 / 2" in page
    assert "assignment-pending" in page and "Pending 2" in page


def test_the_teacher_sees_who_is_on_time_late_and_missing(client, teacher, student, assignment, exercises):
    attempt(student, exercises[0])
    attempt(student, exercises[1])
    client.force_login(teacher)
    page = client.get(detail_url(assignment)).content.decode()
    assert '<span class="badge assignment-badge assignment-on_time">On time</span>' in page
    Assignment.objects.filter(pk=assignment.pk).update(due_at=timezone.now() - timedelta(days=2))
    page = client.get(detail_url(assignment)).content.decode()
    assert '<span class="badge assignment-badge assignment-late">Late</span>' in page
    Assessment.objects.all().delete()
    page = client.get(detail_url(assignment)).content.decode()
    assert '<span class="badge assignment-badge assignment-missing">Missing</span>' in page


def test_an_assignment_of_another_class_is_a_404_through_this_classes_url(
    client, teacher, classroom, other_classroom, exercises
):
    other = Assignment.objects.create(classroom=other_classroom, title="B2 homework", due_at=timezone.now())
    client.force_login(teacher)
    url = reverse("classroom:assignment", args=[classroom.pk, other.pk])
    assert client.get(url).status_code == 404


def test_an_admin_sees_the_assignment_page(client, school_admin, assignment):
    client.force_login(school_admin)
    response = client.get(detail_url(assignment))
    assert response.status_code == 200 and 'data-student="alice"' in response.content.decode()


def test_the_assignment_page_takes_a_bounded_number_of_queries(
    client, teacher, django_user_model, assignment, exercises, django_assert_max_num_queries
):
    for number in range(5):
        pupil = django_user_model.objects.create_user(f"pupil{number}", role="student")
        assignment.classroom.students.add(pupil)
        attempt(pupil, exercises[0])
    client.force_login(teacher)
    with django_assert_max_num_queries(10):
        assert client.get(detail_url(assignment)).status_code == 200


# Deleting


def test_delete_asks_anonymous_visitors_to_sign_in(client, assignment):
    assert_login_redirect(client.post(delete_url(assignment)))
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_delete_is_a_404_for_a_student(client, student, assignment):
    client.force_login(student)
    assert client.post(delete_url(assignment)).status_code == 404
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_delete_is_a_404_for_a_teacher_of_another_class(client, other_teacher, assignment):
    client.force_login(other_teacher)
    assert client.post(delete_url(assignment)).status_code == 404
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_delete_is_a_404_for_an_outsider(client, outsider, assignment):
    client.force_login(outsider)
    assert client.post(delete_url(assignment)).status_code == 404
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_the_teacher_deletes_an_assignment_and_returns_to_the_list(client, teacher, assignment):
    client.force_login(teacher)
    response = client.post(delete_url(assignment))
    assert response.status_code == 302 and response["Location"] == list_url(assignment.classroom)
    assert not Assignment.objects.exists()


def test_an_admin_deletes_an_assignment(client, school_admin, assignment):
    client.force_login(school_admin)
    assert client.post(delete_url(assignment)).status_code == 302
    assert not Assignment.objects.exists()


def test_delete_refuses_a_get(client, teacher, assignment):
    client.force_login(teacher)
    assert client.get(delete_url(assignment)).status_code == 405
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_delete_cannot_reach_another_classes_assignment_through_this_classes_url(
    client, teacher, classroom, other_classroom
):
    other = Assignment.objects.create(classroom=other_classroom, title="B2 homework", due_at=timezone.now())
    client.force_login(teacher)
    assert client.post(reverse("classroom:assignment_delete", args=[classroom.pk, other.pk])).status_code == 404
    assert Assignment.objects.filter(pk=other.pk).exists()


def test_the_assignment_page_offers_delete(client, teacher, assignment):
    client.force_login(teacher)
    assert f'action="{delete_url(assignment)}"' in client.get(detail_url(assignment)).content.decode()


# The student's side: "Your assignments" on the practice page


def test_a_student_sees_their_classrooms_assignments_on_the_practice_page(client, student, assignment, exercises):
    attempt(student, exercises[0])
    client.force_login(student)
    page = client.get(reverse("practice:practice")).content.decode()
    assert "Your assignments" in page and "Week 1 sounds" in page
    assert "1 of 2 done" in page
    assert f'href="{reverse("practice:practice")}?exercise={exercises[1].pk}"' in page
    assert "assignment-pending" in page


def test_a_student_does_not_see_another_classrooms_assignments(client, outsider, other_classroom, assignment):
    client.force_login(outsider)
    page = client.get(reverse("practice:practice")).content.decode()
    assert "Week 1 sounds" not in page and "Your assignments" not in page


def test_an_assignment_link_chooses_that_exercise_on_the_practice_page(client, student, assignment, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice"), {"exercise": exercises[1].pk}).content.decode()
    assert ">The birch canoe slid on the smooth planks.</textarea>" in page
    assert 'aria-current="true">Birch</a>' in page


def test_an_exercise_no_longer_offered_is_not_linked_for_the_student(client, student, assignment, exercises):
    assignment.exercises.add(exercises[2])
    client.force_login(student)
    page = client.get(reverse("practice:practice")).content.decode()
    assert "(no longer offered)" in page
    assert f"?exercise={exercises[2].pk}" not in page


def test_the_form_says_when_there_are_no_exercises_to_choose(client, teacher, classroom):
    client.force_login(teacher)
    assert "no exercises to choose from yet" in client.get(new_url(classroom)).content.decode()
