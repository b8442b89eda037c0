"""Who may review whom. Every teacher-facing view and socket goes through these.

A teacher reviews the students of the classrooms they teach; an admin reviews everyone's.
Anything else is a 404, never a 403, so a page does not tell an outsider what exists.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from speechsite.accounts.models import Classroom, User
from speechsite.speech.models import Recording


def classroom_for(user, classroom_id: int) -> Classroom:
    """A classroom `user` may review, or 404."""
    return get_object_or_404(Classroom.visible_to(user), pk=classroom_id)


def student_in(classroom: Classroom, student_id: int) -> User:
    """A student of `classroom`, or 404."""
    return get_object_or_404(classroom.students.all(), pk=student_id)


def attempt_of(student: User, recording_id) -> Recording:
    """One of `student`'s recordings, or 404."""
    return get_object_or_404(Recording.objects.select_related("assessment"), pk=recording_id, user=student)


def reviewable_students(user) -> QuerySet[User]:
    """Every student `user` may review, across their classrooms."""
    return User.objects.filter(classrooms__in=Classroom.visible_to(user)).distinct()


def can_review(user, student: User) -> bool:
    return user.is_authenticated and reviewable_students(user).filter(pk=student.pk).exists()


def reviewable_recording(user, recording_id) -> Recording:
    """A recording whose owner `user` may review (the live monitor's check), or Http404."""
    recording = Recording.objects.select_related("user").filter(pk=recording_id).first()
    if recording is None or not can_review(user, recording.user):
        raise Http404("No such recording.")
    return recording
