"""The practice page: choose or type a sentence, read it aloud, see how each word was said."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from speechsite.accounts.quota import QuotaExceeded
from speechsite.lib.decode import AudioFileError, probe
from speechsite.practice.assignments import statuses_for_student
from speechsite.practice.forms import UploadForm
from speechsite.practice.models import Exercise
from speechsite.providers.models import ProviderKey
from speechsite.providers.registry import PROVIDERS
from speechsite.speech import uploads
from speechsite.speech.models import Recording
from speechsite.speech.protocol import ProtocolError


def offered_providers(*, assess: bool) -> list[tuple[str, object]]:
    """The embedded engine and every provider with an active key (only assessors when assessing)."""
    keyed = set(ProviderKey.objects.filter(active=True).values_list("provider", flat=True))
    return [
        (name, caps)
        for name, caps in PROVIDERS.items()
        if (not caps.needs_key or name in keyed) and (caps.assess or not assess)
    ]


@login_required
def practice(request: HttpRequest) -> HttpResponse:
    exercises = list(Exercise.objects.filter(active=True))
    chosen = None
    asked = request.GET.get("exercise", "")
    if asked.isdigit():
        chosen = next((exercise for exercise in exercises if exercise.pk == int(asked)), None)
    if chosen is None and not request.GET.get("own") and exercises:
        chosen = exercises[0]
    providers = offered_providers(assess=True)
    free_speech = any(caps.unscripted_assess for _name, caps in providers)
    context = {"exercises": exercises, "exercise": chosen, "providers": providers, "free_speech": free_speech}
    context["my_assignments"] = statuses_for_student(request.user)
    return render(request, "practice/practice.html", context)


def _upload_context(form: UploadForm, error: str = "") -> dict:
    return {"form": form, "error": error, "max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024)}


def _upload_form_response(request: HttpRequest, form: UploadForm, error: str, status: int) -> HttpResponse:
    template = "practice/_upload_form.html" if request.htmx else "practice/upload.html"
    return render(request, template, _upload_context(form, error), status=status)


def _save_upload(request: HttpRequest):
    """Parse the multipart body and copy the file to our upload directory (blocking: in a thread)."""
    form = UploadForm(request.POST, request.FILES, providers=offered_providers(assess=False))
    if not form.is_valid():
        return form, None
    upload = form.cleaned_data["audio"]
    if upload.size > settings.UPLOAD_MAX_BYTES:
        form.add_error("audio", f"This file is larger than {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB.")
        return form, None
    folder = Path(settings.MEDIA_ROOT) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4()}.upload"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return form, path


async def upload(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method != "POST":
        form = await sync_to_async(_initial_upload_form)(request)
        return await sync_to_async(render)(request, "practice/upload.html", _upload_context(form))
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.UPLOAD_MAX_BYTES + 64 * 1024:  # refuse before reading a huge body
        limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        form = await sync_to_async(_initial_upload_form)(request)
        return await sync_to_async(_upload_form_response)(request, form, f"This file is larger than {limit} MB.", 413)
    form, path = await sync_to_async(_save_upload)(request)
    if path is None:
        return await sync_to_async(_upload_form_response)(request, form, "", 422)
    data = form.cleaned_data
    try:
        plan = uploads.plan_upload(data["provider"], data["expected_text"], data["exercise"] and data["exercise"].pk)
        seconds = await asyncio.to_thread(probe, path, max_seconds=plan.max_seconds)
        await sync_to_async(uploads.check_quota)(user, seconds)
        recording = await uploads.start(user, plan, path, data["audio"].name)
    except (ProtocolError, AudioFileError, QuotaExceeded) as exc:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        status = 429 if isinstance(exc, QuotaExceeded) else 422
        return await sync_to_async(_upload_form_response)(request, form, exc.message, status)
    if request.htmx:
        return await sync_to_async(render)(request, "practice/_upload_status.html", {"recording": recording})
    return redirect("practice:upload_status", recording_id=recording.id)


def _initial_upload_form(request: HttpRequest) -> UploadForm:
    initial = {}
    asked = request.GET.get("exercise", "")
    if asked.isdigit():
        exercise = Exercise.objects.filter(pk=int(asked), active=True).first()
        if exercise:
            initial = {"exercise": exercise, "expected_text": exercise.text}
    return UploadForm(initial=initial, providers=offered_providers(assess=False))


@login_required
def upload_status(request: HttpRequest, recording_id) -> HttpResponse:
    recording = get_object_or_404(
        Recording.objects.select_related("assessment"), pk=recording_id, user=request.user, uploaded_name__gt=""
    )
    template = "practice/_upload_status.html" if request.htmx else "practice/upload_status.html"
    return render(request, template, {"recording": recording})
