"""A classroom's assignments: list, set, follow and delete them (teachers of the class and admins only)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from speechsite.accounts.models import Classroom
from speechsite.classroom.access import classroom_for
from speechsite.classroom.assignment_forms import AssignmentForm
from speechsite.practice.assignments import StatusCounts, classroom_statuses, classroom_summaries
from speechsite.practice.models import Assignment


def _assignment_in(classroom: Classroom, assignment_id: int) -> Assignment:
    """An assignment of this classroom, or 404 (another class's assignment is not reachable through this URL)."""
    assignments = classroom.assignments.select_related("created_by").prefetch_related("exercises")
    return get_object_or_404(assignments, pk=assignment_id)


@login_required
def assignments(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    context = {"classroom": classroom, "summaries": classroom_summaries(classroom), "now": timezone.now()}
    return render(request, "classroom/assignments.html", context)


@login_required
def assignment_new(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    form = AssignmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assignment = form.save(commit=False)
        assignment.classroom = classroom
        assignment.created_by = request.user
        assignment.save()
        form.save_m2m()
        return redirect("classroom:assignment", classroom_id=classroom.pk, assignment_id=assignment.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "classroom/assignment_form.html", {"classroom": classroom, "form": form}, status=status)


@login_required
def assignment(request: HttpRequest, classroom_id: int, assignment_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    item = _assignment_in(classroom, assignment_id)
    students = classroom_statuses(item)
    context = {
        "classroom": classroom,
        "assignment": item,
        "exercises": list(item.exercises.all()),
        "students": students,
        "counts": StatusCounts.of(students),
        "overdue": timezone.now() > item.due_at,
    }
    return render(request, "classroom/assignment.html", context)


@login_required
@require_POST
def assignment_delete(request: HttpRequest, classroom_id: int, assignment_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    _assignment_in(classroom, assignment_id).delete()
    return redirect("classroom:assignments", classroom_id=classroom.pk)


urlpatterns = [
    path("<int:classroom_id>/assignments/", assignments, name="assignments"),
    path("<int:classroom_id>/assignments/new/", assignment_new, name="assignment_new"),
    path("<int:classroom_id>/assignments/<int:assignment_id>/", assignment, name="assignment"),
    path("<int:classroom_id>/assignments/<int:assignment_id>/delete/", assignment_delete, name="assignment_delete"),
]
