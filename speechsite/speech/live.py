"""One live speech session: the start request, the provider stream, and what gets stored.

The consumer hands every client frame here and sends whatever this calls `send` with.
Audio is written to the recording's WAV as it arrives and committed text is saved as it
arrives, so a session that ends badly still keeps everything received.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable

from django.conf import settings

from speechsite.accounts.quota import QuotaExceeded
from speechsite.lib.audio import AudioFrameError, WavWriter, check_frame
from speechsite.providers import registry
from speechsite.providers.base import (
    Assessment,
    CommittedTranscript,
    KeyReport,
    ProviderError,
    ProviderSession,
    SessionConfig,
)
from speechsite.speech import monitor, store
from speechsite.speech.metering import Meter
from speechsite.speech.models import Recording
from speechsite.speech.protocol import ProtocolError, StartRequest, parse_start
from speechsite.speech.render import assessment_fields, error_payload, event_payload, payload_for, word_dicts

Send = Callable[[dict], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]
# How long a dropped browser's session may take to flush the provider's last words.
DRAIN_SECONDS = 5.0
# Audio goes to the WAV file in batches of this much: one thread hop per chunk was the consumer's
# largest cost per chunk (`make bench`). A server crash can lose at most this much of a recording.
WRITE_BATCH_SECONDS = 0.5
CLOSE_CODES = {
    "quota_exceeded": 4429,
    "provider_auth_failed": 4403,
    "provider_quota_exceeded": 4403,
    "provider_terms_not_accepted": 4403,
    "provider_unreachable": 4503,
    "provider_dropped": 4503,
}


class LiveSession:
    """Created per socket by the consumer, which passes `send` (one event) and `close` (a code)."""

    def __init__(self, user, send: Send, close: Close, recording: Recording | None = None) -> None:
        self.user = user
        self.given_recording = recording  # an upload's, made before its file is streamed through here
        self.client_send = send
        self.close = close
        self.request: StartRequest | None = None
        self.recording: Recording | None = None
        self.provider: ProviderSession | None = None
        self.writer: WavWriter | None = None
        self.unwritten: list[bytes] = []  # audio not yet in the WAV file (written in batches)
        self.unwritten_bytes = 0
        self.pump: asyncio.Task | None = None
        self.segments = 0
        self.finished = False  # no more audio will be accepted
        self.finalized = False  # the recording's status is written
        self.failure: ProviderError | None = None
        self.meter: Meter | None = None
        self.quota_spent = False  # the quota ran out: the session ends, later audio is dropped quietly
        self.key_ref: object = None  # the provider key in use, for the usage ledger

    @property
    def started(self) -> bool:
        return self.request is not None

    async def start(self, message: dict, default_format: str) -> None:
        if self.started:
            raise ProtocolError("already_started", "This session has already started; open a new socket for another.")
        request = parse_start(message, default_format)
        caps = registry.capabilities(request.provider)
        language = request.language.split("-")[0]
        if language not in caps.languages:
            supported = ", ".join(caps.languages)
            raise ProtocolError(
                "unsupported_language",
                f"{caps.label} does not support language {request.language!r}; it supports: {supported}.",
            )
        if request.mode == "assess" and not caps.assess:
            raise ProtocolError(
                "assess_unsupported", f"{caps.label} cannot assess pronunciation; choose a provider that can."
            )
        if request.commit_strategy == "manual" and not caps.manual_commit:
            raise ProtocolError("unsupported_commit_strategy", f"{caps.label} does not support manual commits.")
        request = await self._with_exercise(request)
        if request.mode == "assess" and not request.expected_text and not caps.unscripted_assess:
            raise ProtocolError(
                "expected_text_required",
                f"{caps.label} scores a sentence read aloud: send expected_text (or an exercise_id).",
            )
        config = SessionConfig(
            language=language,
            sample_rate=request.sample_rate,
            commit_strategy=request.commit_strategy,
            mode=request.mode,
            expected_text=request.expected_text,
            vad_silence_ms=request.vad_silence_ms or settings.LOCAL_VAD_SILENCE_MS,
            partial_interval_ms=settings.LOCAL_PARTIAL_INTERVAL_MS,
        )
        credentials = []
        if caps.needs_key:
            credentials = await store.usable_credentials(request.provider)
            if not credentials:
                raise ProtocolError(
                    "missing_key",
                    f"No {caps.label} key is configured. Ask an administrator to add one, or choose another provider.",
                )
        try:
            recording = self.given_recording or await store.begin_recording(self.user, request)
        except QuotaExceeded as exc:
            await self.send(error_payload(exc.code, exc.message, True))
            await self.close(CLOSE_CODES[exc.code])
            return
        provider = registry.create_session(request.provider, config, credentials)
        self.request = request
        self.recording = recording
        self.meter = Meter(self.user, request.sample_rate)
        self.writer = await asyncio.to_thread(WavWriter, self.recording.audio_file, request.sample_rate)
        self.provider = provider
        await self.send(
            event_payload(
                "session_started", recording_id=str(self.recording.id), provider=request.provider, mode=request.mode
            )
        )
        try:
            await provider.open()
        except ProviderError as exc:
            await self._fail(exc)
            return
        self.pump = asyncio.create_task(self._pump(provider))

    async def _with_exercise(self, request: StartRequest) -> StartRequest:
        """An exercise supplies the expected text unless the client sent its own."""
        if request.exercise_id is None:
            return request
        exercise = await store.active_exercise(request.exercise_id)
        if exercise is None:
            raise ProtocolError("unknown_exercise", f"There is no exercise {request.exercise_id}.")
        return dataclasses.replace(request, expected_text=request.expected_text or exercise.text)

    async def send(self, payload: dict) -> None:
        """To the client, then to any teacher watching this recording (see monitor.py)."""
        await self.client_send(payload)
        if self.recording is not None:
            await monitor.publish(self.recording.id, payload)

    async def audio(self, frame: bytes) -> None:
        if not self.started:
            raise ProtocolError("audio_before_start", "Send a start message before any audio.")
        if self.quota_spent:
            return  # the client is told once; audio still in flight is not an error of theirs
        if self.finished:
            raise ProtocolError("audio_after_stop", "Audio arrived after the session ended; it was ignored.")
        try:
            check_frame(frame, self.request.sample_rate)
        except AudioFrameError as exc:
            raise ProtocolError(exc.code, exc.message) from None
        frame = await self.meter.admit(frame)
        if frame:
            await self.provider.send_audio(frame)
            self.unwritten.append(frame)
            self.unwritten_bytes += len(frame)
            if self.unwritten_bytes >= WRITE_BATCH_SECONDS * self.request.sample_rate * 2:
                await self._write_audio()
        warning = self.meter.warning()
        if warning:
            await self.send(warning)
        if self.meter.exhausted:
            await self._quota_spent()

    async def _write_audio(self) -> None:
        """Append the buffered audio to the recording's WAV, off the event loop."""
        if self.unwritten:
            batch = b"".join(self.unwritten)
            self.unwritten.clear()
            self.unwritten_bytes = 0
            await asyncio.to_thread(self.writer.write, batch)

    async def commit(self) -> None:
        if not self.started:
            raise ProtocolError("commit_before_start", "Send a start message before a commit.")
        if not self.finished:
            await self.provider.commit()

    async def stop(self) -> bool:
        """End of audio: let the provider finish, store, report. False if the session failed."""
        if not self.started:
            raise ProtocolError("stop_before_start", "Send a start message before stop.")
        if self.finished:
            return not self.failure and not self.quota_spent
        return await self._end()

    async def _end(self, reason: dict | None = None) -> bool:
        """Finish the provider and store the recording as completed; `reason` goes out before session_ended."""
        self.finished = True
        await self.provider.finish()
        await self.pump
        if self.failure:
            return False
        if reason:
            await self.send(reason)
        code, message = (reason["code"], reason["message"]) if reason else ("", "")
        await self._finalize(Recording.Status.COMPLETED, code, message)  # writes the last audio first
        await self.send(
            event_payload("session_ended", recording_id=str(self.recording.id), seconds=round(self.writer.seconds, 3))
        )
        return True

    async def _quota_spent(self) -> None:
        """The limit is reached: the words so far are transcribed and kept, then the socket closes."""
        self.quota_spent = True
        if await self._end(error_payload("quota_exceeded", self.meter.exhausted_message(), True)):
            await self.close(CLOSE_CODES["quota_exceeded"])

    async def abandon(self) -> None:
        """The client went away: flush what the provider still holds, keep it, mark interrupted."""
        if not self.started or self.finalized:
            return
        try:
            if not self.finished and self.pump is not None:
                self.finished = True
                with contextlib.suppress(Exception):
                    await self.provider.finish()
                    await asyncio.wait_for(asyncio.shield(self.pump), DRAIN_SECONDS)
        finally:  # even if the server cancels us mid-drain, the recording is closed and kept
            finalizing = asyncio.ensure_future(self._finalize(Recording.Status.INTERRUPTED))
            try:
                await asyncio.shield(finalizing)
            except asyncio.CancelledError:
                await finalizing  # a cancel that lands while storing must not leave it half done
                raise

    async def _pump(self, provider: ProviderSession) -> None:
        async for event in provider.events():
            if isinstance(event, KeyReport):
                await store.record_key(event)  # bookkeeping only: keys never reach the client
                if not event.refused:
                    self.key_ref = event.ref
                continue
            if isinstance(event, ProviderError):
                if event.fatal:
                    await self._fail(event)
                    return
                await self.send(error_payload(event.code, event.message, False))
                continue
            payload = payload_for(event) if not isinstance(event, Assessment) else None
            if isinstance(event, CommittedTranscript):
                await store.save_segment(self.recording, self.segments, event, word_dicts(event))
                payload["index"] = self.segments  # lets a live monitor drop a segment it already has
                self.segments += 1
            if isinstance(event, Assessment):
                await self._assessed(event)
                continue
            await self.send(payload)

    async def _assessed(self, assessment: Assessment) -> None:
        fields = assessment_fields(assessment)
        await store.save_assessment(self.recording, fields, self.request.exercise_id)
        await self.send(event_payload("assessment", recording_id=str(self.recording.id), **fields))

    async def _fail(self, error: ProviderError) -> None:
        self.failure = error
        self.finished = True
        await self.send(error_payload(error.code, error.message, True))
        received = self.segments or self.unwritten_bytes or (self.writer and self.writer.bytes_written)
        await self._finalize(Recording.Status.INTERRUPTED if received else Recording.Status.FAILED)
        await self.close(CLOSE_CODES.get(error.code, 4500))

    async def _finalize(self, status: str, note_code: str = "", note: str = "") -> None:
        if self.finalized:
            return
        self.finalized = True
        if self.provider is not None:
            await self.provider.close()
        if self.pump is not None and not self.pump.done() and self.pump is not asyncio.current_task():
            self.pump.cancel()
        await self._write_audio()
        await asyncio.to_thread(self.writer.close)
        code, message = (self.failure.code, self.failure.message) if self.failure else (note_code, note)
        await store.finish_recording(self.recording, status, self.writer.seconds, code, message)
        # Charged for what was streamed, however the session ended.
        key_id = self.key_ref if isinstance(self.key_ref, int) else None
        await self.meter.settle(self.recording, self.request.provider, key_id, self.writer.seconds)
