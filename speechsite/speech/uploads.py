"""Uploaded recordings: decoded with PyAV, then scored or transcribed like a live session.

ELSA scores a file by REST; every other provider has the decoded audio streamed to it through
the same LiveSession a browser's socket uses, so storage and scoring behave the same. The work
runs as a task on the server's event loop after the upload's response has gone; the page polls
the recording's `progress`. Decoding (blocking) runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from speechsite.accounts import quota
from speechsite.accounts.quota import QuotaExceeded
from speechsite.lib.audio import WavWriter
from speechsite.lib.decode import AudioFileError, DecodedAudio, decode_file, iter_pcm_chunks
from speechsite.providers import registry
from speechsite.providers.base import Assessment, KeyReport, ProviderError
from speechsite.speech import store
from speechsite.speech.live import LiveSession
from speechsite.speech.metering import Meter
from speechsite.speech.models import Recording
from speechsite.speech.protocol import ProtocolError
from speechsite.speech.render import assessment_fields

log = logging.getLogger(__name__)

DECODING_SHARE = 0.3  # of the progress bar; the rest is streaming or scoring
CHUNK_SECONDS = 0.5

# The event loop keeps only weak references to tasks; these are the uploads being processed.
RUNNING: dict[str, asyncio.Task] = {}


@dataclass(frozen=True)
class UploadPlan:
    provider: str
    mode: str  # "assess" | "transcribe"
    expected_text: str
    exercise_id: int | None
    max_seconds: float


def plan_upload(provider: str, expected_text: str, exercise_id: int | None = None) -> UploadPlan:
    """What to do with a file: scripted or unscripted assessment, or transcription.

    A request the chosen provider cannot serve raises ProtocolError, as the same start would on the socket.
    """
    try:
        caps = registry.capabilities(provider)
    except ProviderError as exc:
        raise ProtocolError(exc.code, exc.message) from None
    expected_text = expected_text.strip()
    if expected_text and not caps.assess:
        raise ProtocolError(
            "assess_unsupported",
            f"{caps.label} cannot score pronunciation; leave the sentence empty to transcribe the file.",
        )
    if caps.assess and not expected_text and not caps.unscripted_assess:
        if provider != "local":
            raise ProtocolError("expected_text_required", f"{caps.label} needs the sentence that was read.")
        mode = "transcribe"  # the embedded engine transcribes a file with no sentence to score
    else:
        mode = "assess" if caps.assess else "transcribe"
    limit = settings.UPLOAD_MAX_SECONDS_SCORED if mode == "assess" else settings.UPLOAD_MAX_SECONDS
    if provider == "elsa":
        limit = settings.UPLOAD_MAX_SECONDS  # ELSA scores long free speech; it needs 20 s or more of it
    return UploadPlan(provider, mode, expected_text, exercise_id, limit)


def check_quota(user, seconds: float) -> None:
    """Refuse a file longer than the user's speech time left, before anything is processed.

    (`seconds` is what the container says; 0 when it does not say, and then the session's own
    metering stops at the limit.)
    """
    stand = quota.standing(user)
    left = stand.seconds_left
    if left is not None and left <= 0:
        raise QuotaExceeded(quota.exhausted_message(stand))
    if left is not None and seconds > left:
        raise QuotaExceeded(
            f"This file is {quota.describe(seconds)} long and you have {quota.describe(left)} of speech left. "
            "Upload a shorter file."
        )


async def start(user, plan: UploadPlan, path: Path, original_name: str) -> Recording:
    """Create the recording and start processing the saved file in the background (QuotaExceeded
    if the user may not start a session now)."""
    recording = await store.create_upload_recording(user, plan.provider, plan.mode, original_name)
    task = asyncio.create_task(process(user, recording, plan, path))
    RUNNING[str(recording.id)] = task
    task.add_done_callback(lambda _task: RUNNING.pop(str(recording.id), None))
    return recording


async def wait(recording_id) -> None:
    """For tests and shutdown: wait until an upload has been processed."""
    task = RUNNING.get(str(recording_id))
    if task is not None:
        await asyncio.shield(task)


class _Progress:
    """Writes progress to the recording now and then (each write is a database round trip)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.written = 0.0

    async def set(self, fraction: float) -> None:
        if fraction - self.written >= 0.05 or fraction >= 1.0:
            self.written = fraction
            await store.set_progress(self.recording, round(min(1.0, fraction), 3))


async def process(user, recording: Recording, plan: UploadPlan, path: Path) -> None:
    progress = _Progress(recording)
    loop = asyncio.get_running_loop()
    decoded_share = [0.0]

    def on_decode(fraction: float) -> None:  # called in the decoding thread
        decoded_share[0] = fraction

    try:
        decoding = asyncio.create_task(
            asyncio.to_thread(decode_file, path, max_seconds=plan.max_seconds, progress=on_decode)
        )
        while not decoding.done():
            await asyncio.wait({decoding}, timeout=0.25)
            await progress.set(decoded_share[0] * DECODING_SHARE)
        decoded = decoding.result()
    except AudioFileError as exc:
        await store.fail_upload(recording, exc.code, exc.message)
        return
    finally:
        await loop.run_in_executor(None, _remove, path)
    try:
        if plan.provider == "elsa":
            await _score_by_rest(user, recording, plan, decoded, progress)
        else:
            await _stream(user, recording, plan, decoded, progress)
    except Exception:  # a bug must not leave the page polling a "processing" recording forever
        log.exception("processing upload %s failed", recording.id)
        await store.fail_upload(recording, "upload_failed", "Processing this file failed; please try again.")


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _stream(user, recording: Recording, plan: UploadPlan, decoded: DecodedAudio, progress: _Progress) -> None:
    """Feed the file through a LiveSession, as if a browser were sending it."""
    notes: list[dict] = []

    async def send(payload: dict) -> None:
        if payload["type"] == "error":
            notes.append(payload)

    async def close(code: int) -> None:
        pass

    live = LiveSession(user, send, close, recording=recording)
    start = {
        "type": "start",
        "mode": plan.mode,
        "provider": plan.provider,
        "format": "json",
        "sample_rate": decoded.sample_rate,
    }
    if plan.expected_text:
        start["expected_text"] = plan.expected_text
    if plan.exercise_id:
        start["exercise_id"] = plan.exercise_id
    try:
        await live.start(start, "json")
    except (ProtocolError, ProviderError) as exc:
        await store.fail_upload(recording, exc.code, exc.message)
        return
    chunks = list(iter_pcm_chunks(decoded, CHUNK_SECONDS))
    for index, chunk in enumerate(chunks, 1):
        if live.finished:
            break  # the provider failed; LiveSession has stored what it could
        await live.audio(chunk)
        await progress.set(DECODING_SHARE + (1 - DECODING_SHARE) * 0.9 * index / len(chunks))
        await asyncio.sleep(0)  # let the provider's replies in between chunks
    if not live.finished:
        await live.stop()
    if notes and not live.failure:  # e.g. no speech in the file: the recording is kept, with why
        await store.note_upload(recording, notes[-1]["code"], notes[-1]["message"])
    await progress.set(1.0)


async def _score_by_rest(
    user, recording: Recording, plan: UploadPlan, decoded: DecodedAudio, progress: _Progress
) -> None:
    """ELSA's single-file API: send the decoded audio as one WAV, store its result."""
    meter = Meter(user, decoded.sample_rate)
    if len(await meter.admit(decoded.pcm)) < len(decoded.pcm):  # the whole file, or none of it
        await meter.settle(recording, plan.provider, None, 0.0)
        await store.fail_upload(recording, "quota_exceeded", meter.spent_message())
        return
    key_ref = None
    try:
        key_ref = await _send_to_elsa(recording, plan, decoded, progress)
    finally:  # charged for the file sent, whatever ELSA made of it
        await meter.settle(recording, plan.provider, key_ref, decoded.duration)


async def _send_to_elsa(
    recording: Recording, plan: UploadPlan, decoded: DecodedAudio, progress: _Progress
) -> int | None:
    """Returns the key ELSA accepted, if any."""
    from speechsite.providers import elsa_rest

    writer = await asyncio.to_thread(WavWriter, recording.audio_file, decoded.sample_rate)
    await asyncio.to_thread(writer.write, decoded.pcm)
    await asyncio.to_thread(writer.close)
    wav = await asyncio.to_thread(recording.audio_file.read_bytes)
    await progress.set(DECODING_SHARE + 0.1)
    credentials = await store.usable_credentials("elsa")
    if not credentials:
        await store.fail_upload(recording, "missing_key", "No ELSA key is configured. Ask an administrator.")
        return None
    try:
        events = await elsa_rest.score_file(
            wav,
            "attempt.wav",
            plan.expected_text,
            credentials,
            base_url=settings.PROVIDER_URLS["elsa"],
            **settings.PROVIDER_OPTIONS.get("elsa", {}),
        )
    except ProviderError as exc:
        for report in getattr(exc, "reports", ()):  # elsa_rest.ScoringFailed: the keys it tried
            await store.record_key(report)
        await store.fail_upload(recording, exc.code, exc.message, seconds=decoded.duration)
        return None
    key_ref = None
    for event in events:
        if isinstance(event, KeyReport):
            await store.record_key(event)
            key_ref = key_ref if event.refused else event.ref
        elif isinstance(event, Assessment):
            await store.save_assessment(recording, assessment_fields(event), plan.exercise_id)
    await store.finish_recording(recording, Recording.Status.COMPLETED, decoded.duration)
    await progress.set(1.0)
    return key_ref if isinstance(key_ref, int) else None
