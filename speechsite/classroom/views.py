"""Teacher review pages: classes, a class's roster, a student's attempts, one attempt, its audio and comments.

Every lookup goes through access.py, in the URL's order (class, then a student of that class, then one
of that student's recordings), so a URL that mixes two classes is a 404 even for a teacher of both.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from speechsite.accounts.models import Classroom, User
from speechsite.classroom import export, stats
from speechsite.classroom.access import attempt_of, classroom_for, student_in
from speechsite.classroom.filters import AttemptFilterForm
from speechsite.classroom.trend import TrendPoint, render_trend
from speechsite.lib.ranged import ranged_file_response
from speechsite.speech.models import Comment, Recording

ATTEMPTS_PAGE_SIZE = 20
COMMENT_MAX_LENGTH = 4000


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=COMMENT_MAX_LENGTH,
        label="Your comment",
        error_messages={"required": "Write a comment before adding it."},
    )


@login_required
def classroom_list(request: HttpRequest) -> HttpResponse:
    return render(request, "classroom/list.html", {"classrooms": stats.classrooms_to_review(request.user)})


@login_required
def classroom_detail(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    return render(request, "classroom/detail.html", {"classroom": classroom, "students": stats.roster(classroom)})


@login_required
def export_results(request: HttpRequest, classroom_id: int) -> HttpResponse:
    return export.results_response(classroom_for(request.user, classroom_id))


@login_required
def student(request: HttpRequest, classroom_id: int, student_id: int) -> HttpResponse:
    classroom = classroom_for(request.user, classroom_id)
    learner = student_in(classroom, student_id)
    form = AttemptFilterForm(request.GET)
    recordings = form.apply(Recording.objects.filter(user=learner))
    listed = (
        recordings.select_related("assessment__exercise")
        .prefetch_related("segments")
        .annotate(comment_count=Count("comments"))
        .order_by("-started_at")
    )
    page = Paginator(listed, ATTEMPTS_PAGE_SIZE).get_page(request.GET.get("page"))
    assessments = list(stats.assessments_of(recordings))
    scored = [TrendPoint(a.recording.started_at, a.overall) for a in assessments if a.overall is not None]
    context = {
        "classroom": classroom,
        "student": learner,
        "form": form,
        "page": page,
        "weakest": stats.weakest_phonemes(assessments),
        "min_phoneme_count": stats.MIN_PHONEME_COUNT,
        "trend": render_trend(scored),
        "live_sessions": Recording.objects.filter(user=learner, status=Recording.Status.LIVE).order_by("-started_at"),
    }
    return render(request, "classroom/student.html", context)


def _attempt(request, classroom_id: int, student_id: int, recording_id) -> tuple[Classroom, User, Recording]:
    classroom = classroom_for(request.user, classroom_id)
    learner = student_in(classroom, student_id)
    return classroom, learner, attempt_of(learner, recording_id)


def _comments_context(classroom: Classroom, learner: User, recording: Recording, form: CommentForm) -> dict:
    return {
        "classroom": classroom,
        "student": learner,
        "recording": recording,
        "comments": recording.comments.select_related("author"),
        "comment_form": form,
    }


def _attempt_page(request, classroom, learner, recording, form: CommentForm, status: int = 200) -> HttpResponse:
    context = _comments_context(classroom, learner, recording, form)
    context["segments"] = recording.segments.all()
    context["audio_url"] = reverse("classroom:attempt_audio", args=[classroom.pk, learner.pk, recording.pk])
    return render(request, "classroom/attempt.html", context, status=status)


@login_required
def attempt(request: HttpRequest, classroom_id: int, student_id: int, recording_id) -> HttpResponse:
    classroom, learner, recording = _attempt(request, classroom_id, student_id, recording_id)
    return _attempt_page(request, classroom, learner, recording, CommentForm())


@login_required
def attempt_audio(request: HttpRequest, classroom_id: int, student_id: int, recording_id) -> HttpResponse:
    _classroom, _learner, recording = _attempt(request, classroom_id, student_id, recording_id)
    audio_file = recording.audio_file
    if not audio_file.exists():
        raise Http404("This recording has no audio.")
    return ranged_file_response(request, audio_file, "audio/wav")


@login_required
@require_POST
def comment(request: HttpRequest, classroom_id: int, student_id: int, recording_id) -> HttpResponse:
    classroom, learner, recording = _attempt(request, classroom_id, student_id, recording_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        Comment.objects.create(recording=recording, author=request.user, body=form.cleaned_data["body"])
        if not request.htmx:
            url = reverse("classroom:attempt", args=[classroom.pk, learner.pk, recording.pk])
            return redirect(f"{url}#comments")
        form, status = CommentForm(), 200
    else:
        status = 422  # htmx swaps 422 (base.html's config), so the error shows where the comment was typed
        if not request.htmx:
            return _attempt_page(request, classroom, learner, recording, form, status)
    context = _comments_context(classroom, learner, recording, form)
    context["added"] = status == 200
    return render(request, "classroom/_comments.html", context, status=status)


ATTEMPT = "<int:classroom_id>/students/<int:student_id>/attempts/<uuid:recording_id>/"

urlpatterns = [
    path("", classroom_list, name="list"),
    path("<int:classroom_id>/", classroom_detail, name="detail"),
    path("<int:classroom_id>/results.csv", export_results, name="export"),
    path("<int:classroom_id>/students/<int:student_id>/", student, name="student"),
    path(ATTEMPT, attempt, name="attempt"),
    path(f"{ATTEMPT}audio.wav", attempt_audio, name="attempt_audio"),
    path(f"{ATTEMPT}comments/", comment, name="comment"),
]
