"""Where each student stands on an assignment: on time, late, missing or pending, and how far along.

Semantics:
- A student has *done* an exercise of an assignment when they have an assessed attempt at it: a
  `speech.Assessment` whose exercise is that exercise, whose recording belongs to the student, and which
  was created at or after the assignment's `created_at` (earlier practice does not count). Their
  first such attempt is when the exercise was done; attempting it again changes nothing.
- The assignment is *done* when every one of its exercises is done. It was completed at the latest of
  those first attempts.
- Status: "on_time" (done, completed at or before `due_at`), "late" (done after `due_at`), "missing"
  (not done and `due_at` has passed), "pending" (not done, not yet due). Progress is exercises done / total.

Every entry point runs a fixed number of queries whatever the size of the class: the relevant
assessments are fetched once and grouped in Python.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.utils import timezone

from speechsite.accounts.models import Classroom, User
from speechsite.practice.models import Assignment, Exercise
from speechsite.speech.models import Assessment

# How long after its due date an assignment still shows on a student's practice page.
RECENT_FOR_STUDENTS = timedelta(days=30)


class Status(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    PENDING = "pending"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {Status.ON_TIME: "On time", Status.LATE: "Late", Status.MISSING: "Missing", Status.PENDING: "Pending"}


@dataclass(frozen=True)
class ExerciseProgress:
    exercise: Exercise
    first_attempt_at: datetime | None  # the first counting attempt, None if not yet done

    @property
    def done(self) -> bool:
        return self.first_attempt_at is not None


@dataclass(frozen=True)
class StudentStatus:
    student: User
    status: Status
    exercises: tuple[ExerciseProgress, ...]
    completed_at: datetime | None

    @property
    def done(self) -> int:
        return sum(1 for item in self.exercises if item.done)

    @property
    def total(self) -> int:
        return len(self.exercises)

    @property
    def label(self) -> str:
        return self.status.label


@dataclass(frozen=True)
class StatusCounts:
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0

    @classmethod
    def of(cls, statuses: Iterable[StudentStatus]) -> StatusCounts:
        counts = dict.fromkeys(Status, 0)
        for item in statuses:
            counts[item.status] += 1
        return cls(**{status.value: number for status, number in counts.items()})


@dataclass(frozen=True)
class AssignmentSummary:
    assignment: Assignment
    students: list[StudentStatus]

    @property
    def counts(self) -> StatusCounts:
        return StatusCounts.of(self.students)


# (student id, exercise id) -> times of their assessed attempts, oldest first.
AttemptTimes = dict[tuple[int, int], list[datetime]]


def attempt_times(student_ids: Iterable[int], exercise_ids: Iterable[int], since: datetime) -> AttemptTimes:
    """Every assessed attempt of these students at these exercises since `since`, in one query."""
    student_ids, exercise_ids = set(student_ids), set(exercise_ids)
    times: AttemptTimes = defaultdict(list)
    if not student_ids or not exercise_ids:
        return times
    rows = (
        Assessment.objects.filter(
            recording__user_id__in=student_ids, exercise_id__in=exercise_ids, created_at__gte=since
        )
        .order_by("created_at")
        .values_list("recording__user_id", "exercise_id", "created_at")
    )
    for student_id, exercise_id, created_at in rows:
        times[(student_id, exercise_id)].append(created_at)
    return times


def _first_at_or_after(times: Sequence[datetime], moment: datetime) -> datetime | None:
    index = bisect.bisect_left(times, moment)
    return times[index] if index < len(times) else None


def student_status(
    student: User, assignment: Assignment, exercises: Sequence[Exercise], times: AttemptTimes, now: datetime
) -> StudentStatus:
    """One student's standing on one assignment, from attempt times already fetched."""
    progress = tuple(
        ExerciseProgress(exercise, _first_at_or_after(times.get((student.pk, exercise.pk), ()), assignment.created_at))
        for exercise in exercises
    )
    if progress and all(item.done for item in progress):
        completed_at = max(item.first_attempt_at for item in progress)
        status = Status.ON_TIME if completed_at <= assignment.due_at else Status.LATE
        return StudentStatus(student, status, progress, completed_at)
    status = Status.MISSING if now > assignment.due_at else Status.PENDING
    return StudentStatus(student, status, progress, None)


def _students_of(classroom_id: int) -> list[User]:
    return list(User.objects.filter(classrooms=classroom_id).order_by("last_name", "first_name", "username"))


def classroom_statuses(assignment: Assignment, now: datetime | None = None) -> list[StudentStatus]:
    """Every student of the assignment's classroom, with their status (three queries)."""
    now = now or timezone.now()
    exercises = list(assignment.exercises.all())
    students = _students_of(assignment.classroom_id)
    times = attempt_times((s.pk for s in students), (e.pk for e in exercises), assignment.created_at)
    return [student_status(student, assignment, exercises, times, now) for student in students]


def classroom_summaries(classroom: Classroom, now: datetime | None = None) -> list[AssignmentSummary]:
    """Every assignment of a classroom with every student's status (four queries, however many)."""
    now = now or timezone.now()
    assignments = list(classroom.assignments.prefetch_related("exercises"))
    if not assignments:
        return []
    students = _students_of(classroom.pk)
    times = attempt_times(
        (s.pk for s in students),
        {e.pk for a in assignments for e in a.exercises.all()},
        min(a.created_at for a in assignments),
    )
    return [
        AssignmentSummary(
            assignment, [student_status(s, assignment, list(assignment.exercises.all()), times, now) for s in students]
        )
        for assignment in assignments
    ]


def statuses_for_student(student: User, now: datetime | None = None) -> list[tuple[Assignment, StudentStatus]]:
    """The student's own assignments (their classrooms', not long past due), soonest due first."""
    now = now or timezone.now()
    if not student.is_authenticated:
        return []
    assignments = list(
        Assignment.objects.filter(
            classroom__students=student, classroom__archived=False, due_at__gte=now - RECENT_FOR_STUDENTS
        )
        .select_related("classroom")
        .prefetch_related("exercises")
        .order_by("due_at", "id")
        .distinct()
    )
    if not assignments:
        return []
    times = attempt_times(
        [student.pk], {e.pk for a in assignments for e in a.exercises.all()}, min(a.created_at for a in assignments)
    )
    return [(a, student_status(student, a, list(a.exercises.all()), times, now)) for a in assignments]
