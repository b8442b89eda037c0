"""Persistence for live sessions, in small sync helpers the consumer awaits via a thread."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils import timezone

from speechsite.accounts import quota
from speechsite.lib.secrets import SecretUnreadable
from speechsite.practice.models import Exercise
from speechsite.providers.base import CommittedTranscript, KeyReport
from speechsite.providers.models import ProviderKey
from speechsite.providers.remote import Credential
from speechsite.speech.models import Assessment, Recording, Segment, audio_path
from speechsite.speech.protocol import StartRequest


def _sessions_in_progress(user) -> int:
    return Recording.objects.filter(user=user, status__in=(Recording.Status.LIVE, Recording.Status.PROCESSING)).count()


def _new_recording(user, **fields) -> Recording:
    recording = Recording(user=user, **fields)
    recording.audio.name = audio_path(recording)
    recording.save()
    return recording


@database_sync_to_async
def begin_recording(user, request: StartRequest) -> Recording:
    """The session's recording, if the user's quota allows a session now (else QuotaExceeded)."""
    return quota.begin_session(
        user,
        lambda: _sessions_in_progress(user),
        lambda: _new_recording(
            user,
            mode=request.mode,
            provider=request.provider,
            language=request.language,
            sample_rate=request.sample_rate,
        ),
    )


@database_sync_to_async
def save_segment(recording: Recording, index: int, event: CommittedTranscript, words: list[dict]) -> None:
    Segment.objects.create(
        recording=recording, index=index, text=event.text, start=event.start, end=event.end, words=words
    )


@database_sync_to_async
def finish_recording(recording: Recording, status: str, duration: float, code: str = "", message: str = "") -> None:
    Recording.objects.filter(pk=recording.pk).update(
        status=status, duration=round(duration, 3), ended_at=timezone.now(), error_code=code, error_message=message
    )


@database_sync_to_async
def usable_credentials(provider: str) -> list[Credential]:
    """The provider's active keys, in failover order; a key we cannot decrypt is skipped and flagged."""
    credentials = []
    for key in ProviderKey.usable(provider):
        try:
            credentials.append(Credential(ref=key.pk, secret=key.secret))
        except SecretUnreadable:
            key.mark_failed("The secret cannot be decrypted with the configured encryption keys.")
    return credentials


@database_sync_to_async
def record_key(report: KeyReport) -> None:
    key = ProviderKey.objects.filter(pk=report.ref).first()
    if key is None:
        return
    if report.refused:
        key.mark_failed(report.refused)
    else:
        key.mark_used()


@database_sync_to_async
def active_exercise(exercise_id: int) -> Exercise | None:
    return Exercise.objects.filter(pk=exercise_id, active=True).first()


@database_sync_to_async
def save_assessment(recording: Recording, fields: dict, exercise_id: int | None) -> Assessment:
    """Stores (or replaces: a provider may re-score after a reconnect) the recording's assessment."""
    columns = ("expected_text", "transcript", "overall", "accuracy", "fluency", "completeness", "words", "details")
    values = {name: fields[name] for name in columns}
    values["provider_raw"] = fields["provider_raw"]
    assessment, _ = Assessment.objects.update_or_create(
        recording=recording, defaults={**values, "exercise_id": exercise_id}
    )
    return assessment


@database_sync_to_async
def create_upload_recording(user, provider: str, mode: str, original_name: str) -> Recording:
    """An upload's recording, if the user's quota allows a session now (else QuotaExceeded)."""
    return quota.begin_session(
        user,
        lambda: _sessions_in_progress(user),
        lambda: _new_recording(
            user, mode=mode, provider=provider, status=Recording.Status.PROCESSING, uploaded_name=original_name[:255]
        ),
    )


@database_sync_to_async
def set_progress(recording: Recording, fraction: float) -> None:
    Recording.objects.filter(pk=recording.pk).update(progress=fraction)


@database_sync_to_async
def fail_upload(recording: Recording, code: str, message: str, seconds: float = 0.0) -> None:
    Recording.objects.filter(pk=recording.pk).update(
        status=Recording.Status.FAILED,
        duration=round(seconds, 3),
        ended_at=timezone.now(),
        error_code=code,
        error_message=message,
        progress=1.0,
    )


@database_sync_to_async
def note_upload(recording: Recording, code: str, message: str) -> None:
    """A completed upload that still has something to say (e.g. no speech was found in it)."""
    Recording.objects.filter(pk=recording.pk).update(error_code=code, error_message=message)
