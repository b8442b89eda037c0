"""The live monitor's pages: a class's sessions in progress, and one session as it happens.

The transcript itself arrives over /ws/monitor/<recording>/ (speechsite.classroom.consumers).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from speechsite.classroom.access import attempt_of, classroom_for, student_in
from speechsite.classroom.consumers import monitor_state
from speechsite.speech.models import Recording

POLL_SECONDS = 4  # how often the list of sessions in progress refreshes itself


def display_name(user) -> str:
    return user.get_full_name() or user.username


@login_required
def live(request: HttpRequest, classroom_id: int, student_id: int, recording_id) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    student = student_in(classroom, student_id)
    recording = attempt_of(student, recording_id)
    context = {"classroom": classroom, "student_name": display_name(student), "recording": recording}
    return render(request, "classroom/monitor.html", {**context, **monitor_state(recording)})


@login_required
def live_sessions(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    recordings = (
        Recording.objects.filter(status=Recording.Status.LIVE, user__in=classroom.students.all())
        .select_related("user")
        .order_by("started_at")
    )
    context = {"classroom": classroom, "recordings": recordings, "poll_seconds": POLL_SECONDS}
    template = "classroom/_monitor_sessions.html" if request.htmx else "classroom/monitor_sessions.html"
    return render(request, template, context)


urlpatterns = [
    path("<int:classroom_id>/students/<int:student_id>/live/<uuid:recording_id>/", live, name="live"),
    path("<int:classroom_id>/live/", live_sessions, name="live_sessions"),
]
