"""Pages: the live page, the learner's history, one recording, its audio and its downloads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from speechsite.lib.ranged import ranged_file_response
from speechsite.providers.models import ProviderKey
from speechsite.providers.registry import PROVIDERS
from speechsite.speech import exports
from speechsite.speech.models import Recording


def own_recording(request: HttpRequest, recording_id) -> Recording:
    """A recording of the signed-in user's; anyone else's is a 404, not a 403, to hide it exists."""
    return get_object_or_404(Recording, pk=recording_id, user=request.user)


@login_required
def live(request: HttpRequest) -> HttpResponse:
    keyed = set(ProviderKey.objects.filter(active=True).values_list("provider", flat=True))
    providers = [(name, caps) for name, caps in PROVIDERS.items() if not caps.needs_key or name in keyed]
    return render(request, "speech/live.html", {"providers": providers})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    recordings = (
        Recording.objects.filter(user=request.user)
        .order_by("-started_at")
        .select_related("assessment")
        .prefetch_related("segments")
        .annotate(comment_count=Count("comments"))
    )
    page = Paginator(recordings, settings.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "speech/history.html", {"page": page})


@login_required
def detail(request: HttpRequest, recording_id) -> HttpResponse:
    recording = get_object_or_404(Recording.objects.select_related("assessment"), pk=recording_id, user=request.user)
    return render(
        request,
        "speech/detail.html",
        {
            "recording": recording,
            "segments": recording.segments.all(),
            "formats": list(exports.FORMATS),
            "comments": recording.comments.select_related("author"),  # the teachers' notes on this recording only
        },
    )


@login_required
def audio(request: HttpRequest, recording_id) -> HttpResponse:
    recording = own_recording(request, recording_id)
    path = recording.audio_file
    if not path.exists():
        raise Http404("This recording has no audio.")
    return ranged_file_response(request, path, "audio/wav")


@login_required
def export(request: HttpRequest, recording_id, fmt: str) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404("Unknown transcript format.")
    recording = own_recording(request, recording_id)
    segments = list(recording.segments.all())
    if fmt == "json":
        meta = {
            "recording_id": str(recording.id),
            "provider": recording.provider,
            "language": recording.language,
            "status": recording.status,
            "started_at": recording.started_at.isoformat(),
            "duration": recording.duration,
        }
        body = exports.to_json(meta, segments)
    else:
        body = {"txt": exports.to_txt, "srt": exports.to_srt, "vtt": exports.to_vtt}[fmt](segments)
    response = HttpResponse(body, content_type=exports.FORMATS[fmt])
    stamp = recording.started_at.strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="recording-{stamp}.{fmt}"'
    return response
