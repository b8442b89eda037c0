"""Assignment status: on time, late, missing, pending, progress, and which attempts count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from speechsite.accounts.models import Classroom
from speechsite.practice.assignments import (
    Status,
    StatusCounts,
    classroom_statuses,
    classroom_summaries,
    statuses_for_student,
)
from speechsite.practice.models import Assignment, Exercise
from speechsite.speech.models import Assessment
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercises():
    return [
        Exercise.objects.create(title="Fox", text="The quick brown fox jumps over the lazy dog."),
        Exercise.objects.create(title="Birch", text="The birch canoe slid on the smooth planks."),
    ]


def make_assignment(classroom, exercises, *, due_in=timedelta(days=7), created_ago=timedelta(days=1), title="Week 1"):
    assignment = Assignment.objects.create(classroom=classroom, title=title, due_at=timezone.now() + due_in)
    assignment.exercises.set(exercises)
    Assignment.objects.filter(pk=assignment.pk).update(created_at=timezone.now() - created_ago)
    assignment.refresh_from_db()
    return assignment


def attempt(student, exercise, *, ago=timedelta(hours=1)) -> Assessment:
    """An assessed attempt at `exercise` made `ago` before now."""
    assessment = Assessment.objects.create(
        recording=make_recording(student, mode="assess", segments=0), exercise=exercise, overall=80
    )
    Assessment.objects.filter(pk=assessment.pk).update(created_at=timezone.now() - ago)
    return assessment


def status_of(student, assignment):
    return next(item for item in classroom_statuses(assignment) if item.student == student)


def test_it_is_pending_before_anything_is_done(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises)
    status = status_of(student, assignment)
    assert status.status == Status.PENDING
    assert (status.done, status.total) == (0, 2)
    assert status.completed_at is None


def test_it_counts_partial_progress(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises)
    attempt(student, exercises[0])
    status = status_of(student, assignment)
    assert status.status == Status.PENDING
    assert (status.done, status.total) == (1, 2)
    assert [item.done for item in status.exercises] == [True, False]


def test_it_is_on_time_when_every_exercise_is_done_before_the_due_date(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises)
    attempt(student, exercises[0], ago=timedelta(hours=3))
    latest = attempt(student, exercises[1], ago=timedelta(hours=2))
    status = status_of(student, assignment)
    assert status.status == Status.ON_TIME
    assert status.done == status.total == 2
    latest.refresh_from_db()
    assert status.completed_at == latest.created_at


def test_it_is_late_when_the_last_exercise_was_done_after_the_due_date(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises, due_in=-timedelta(days=1), created_ago=timedelta(days=5))
    attempt(student, exercises[0], ago=timedelta(days=3))
    attempt(student, exercises[1], ago=timedelta(hours=1))
    assert status_of(student, assignment).status == Status.LATE


def test_it_is_missing_when_not_done_by_a_due_date_that_has_passed(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises, due_in=-timedelta(days=1), created_ago=timedelta(days=5))
    attempt(student, exercises[0], ago=timedelta(days=3))
    status = status_of(student, assignment)
    assert status.status == Status.MISSING
    assert status.done == 1


def test_an_assignment_done_exactly_at_the_due_date_is_on_time(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises[:1], due_in=-timedelta(hours=1), created_ago=timedelta(days=2))
    done = attempt(student, exercises[0], ago=timedelta(hours=5))
    Assessment.objects.filter(pk=done.pk).update(created_at=assignment.due_at)
    assert status_of(student, assignment).status == Status.ON_TIME


def test_attempts_before_the_assignment_was_created_do_not_count(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises[:1], created_ago=timedelta(days=1))
    attempt(student, exercises[0], ago=timedelta(days=2))
    status = status_of(student, assignment)
    assert status.status == Status.PENDING and status.done == 0


def test_another_students_attempts_never_count(classroom, student, outsider, exercises):
    assignment = make_assignment(classroom, exercises[:1])
    attempt(outsider, exercises[0])
    assert status_of(student, assignment).done == 0


def test_a_classmates_attempts_do_not_count_for_alice(classroom, student, django_user_model, exercises):
    bob = django_user_model.objects.create_user("bob", password="bob-pass-123", role="student")
    classroom.students.add(bob)
    assignment = make_assignment(classroom, exercises[:1])
    attempt(bob, exercises[0])
    assert status_of(bob, assignment).status == Status.ON_TIME
    assert status_of(student, assignment).status == Status.PENDING


def test_an_attempt_at_another_exercise_does_not_count(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises[:1])
    attempt(student, exercises[1])
    assert status_of(student, assignment).done == 0


def test_an_exercise_attempted_twice_counts_once_from_its_first_attempt(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises, due_in=-timedelta(hours=1), created_ago=timedelta(days=5))
    attempt(student, exercises[0], ago=timedelta(days=4))
    first = attempt(student, exercises[1], ago=timedelta(days=3))
    attempt(student, exercises[1], ago=timedelta(minutes=5))  # practised again after the due date
    status = status_of(student, assignment)
    first.refresh_from_db()
    assert status.status == Status.ON_TIME
    assert status.done == 2
    assert status.completed_at == first.created_at


def test_a_retry_after_a_pre_assignment_attempt_counts(classroom, student, exercises):
    assignment = make_assignment(classroom, exercises[:1], created_ago=timedelta(days=1))
    attempt(student, exercises[0], ago=timedelta(days=2))
    attempt(student, exercises[0], ago=timedelta(hours=2))
    assert status_of(student, assignment).status == Status.ON_TIME


def test_it_lists_every_student_of_the_class_and_no_one_else(classroom, student, outsider, exercises):
    assignment = make_assignment(classroom, exercises)
    assert [item.student for item in classroom_statuses(assignment)] == [student]


def test_it_counts_statuses(classroom, student, django_user_model, exercises):
    bob = django_user_model.objects.create_user("bob", password="bob-pass-123", role="student")
    classroom.students.add(bob)
    assignment = make_assignment(classroom, exercises[:1])
    attempt(bob, exercises[0])
    assert StatusCounts.of(classroom_statuses(assignment)) == StatusCounts(on_time=1, pending=1)


def make_class_of(django_user_model, teacher, size: int, exercises) -> Classroom:
    room = Classroom.objects.create(name="Big class")
    room.teachers.add(teacher)
    for number in range(size):
        pupil = django_user_model.objects.create_user(f"pupil{number}", role="student")
        room.students.add(pupil)
        for exercise in exercises:
            attempt(pupil, exercise)
    return room


def test_a_classroom_status_takes_a_bounded_number_of_queries(
    django_user_model, teacher, exercises, django_assert_max_num_queries
):
    room = make_class_of(django_user_model, teacher, 6, exercises)
    assignment = make_assignment(room, exercises)
    with django_assert_max_num_queries(3):
        statuses = classroom_statuses(assignment)
    assert len(statuses) == 6 and all(item.status == Status.ON_TIME for item in statuses)


def test_a_classroom_summary_takes_a_bounded_number_of_queries(
    django_user_model, teacher, exercises, django_assert_max_num_queries
):
    room = make_class_of(django_user_model, teacher, 6, exercises)
    for number in range(4):
        make_assignment(room, exercises, title=f"Week {number}")
    with django_assert_max_num_queries(4):
        summaries = classroom_summaries(room)
        counts = [summary.counts for summary in summaries]
    assert counts == [StatusCounts(on_time=6)] * 4


def test_a_student_sees_the_assignments_of_their_classrooms(classroom, other_classroom, student, exercises):
    mine = make_assignment(classroom, exercises, title="Mine")
    make_assignment(other_classroom, exercises, title="Theirs")
    attempt(student, exercises[0])
    [(assignment, status)] = statuses_for_student(student)
    assert assignment == mine
    assert (status.status, status.done, status.total) == (Status.PENDING, 1, 2)


def test_a_student_no_longer_sees_assignments_long_past_due(classroom, student, exercises):
    make_assignment(classroom, exercises, due_in=-timedelta(days=40), created_ago=timedelta(days=50))
    recent = make_assignment(classroom, exercises, due_in=-timedelta(days=2), created_ago=timedelta(days=9))
    assert [assignment for assignment, _ in statuses_for_student(student)] == [recent]


def test_a_student_sees_the_soonest_due_first(classroom, student, exercises):
    later = make_assignment(classroom, exercises, due_in=timedelta(days=9), title="Later")
    sooner = make_assignment(classroom, exercises, due_in=timedelta(days=2), title="Sooner")
    assert [assignment for assignment, _ in statuses_for_student(student)] == [sooner, later]


def test_a_student_does_not_see_an_archived_classrooms_assignments(classroom, student, exercises):
    make_assignment(classroom, exercises)
    Classroom.objects.filter(pk=classroom.pk).update(archived=True)
    assert statuses_for_student(student) == []


def test_a_student_in_two_classes_sees_each_assignment_once(classroom, other_classroom, student, exercises):
    other_classroom.students.add(student)
    make_assignment(classroom, exercises, title="A")
    make_assignment(other_classroom, exercises, title="B")
    assert sorted(a.title for a, _ in statuses_for_student(student)) == ["A", "B"]


def test_a_students_own_view_takes_a_bounded_number_of_queries(
    classroom, student, exercises, django_assert_max_num_queries
):
    for number in range(4):
        make_assignment(classroom, exercises, title=f"Week {number}")
    attempt(student, exercises[0])
    with django_assert_max_num_queries(3):
        statuses = statuses_for_student(student)
    assert [status.done for _, status in statuses] == [1] * 4
