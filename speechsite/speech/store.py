"""Persistence for live sessions, in small sync helpers the consumer awaits via a thread."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils import timezone

from speechsite.lib.secrets import SecretUnreadable
from speechsite.providers.base import CommittedTranscript, KeyReport
from speechsite.providers.models import ProviderKey
from speechsite.providers.remote import Credential
from speechsite.speech.models import Recording, Segment, audio_path
from speechsite.speech.protocol import StartRequest


@database_sync_to_async
def create_recording(user, request: StartRequest) -> Recording:
    recording = Recording(
        user=user,
        mode=request.mode,
        provider=request.provider,
        language=request.language,
        sample_rate=request.sample_rate,
    )
    recording.audio.name = audio_path(recording)
    recording.save()
    return recording


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
