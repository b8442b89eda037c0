"""ElevenLabs Scribe v2 Realtime (shared/PROTOCOLS.md section 1).

Everything is configured in the query string; audio goes as base64 in `input_audio_chunk`
JSON; the server answers with `message_type`-tagged events. We always ask for timestamps: they
give words their timings and tell us exactly how much audio a commit covered, which is what the
replay after a drop needs.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect

from speechsite.lib.audio import mulaw_encode, to_base64
from speechsite.providers.base import CommittedTranscript, Notice, PartialTranscript, ProviderError, Word
from speechsite.providers.pauses import PauseDetector
from speechsite.providers.remote import WIRE_LOG, RemoteSession, VendorFault, websocket_url

log = logging.getLogger(__name__)

PATH = "/v1/speech-to-text/realtime"
MODEL_ID = "scribe_v2_realtime"
AUDIO_FORMATS = {
    "pcm_8000": 8000, "pcm_16000": 16000, "pcm_22050": 22050, "pcm_24000": 24000,
    "pcm_44100": 44100, "pcm_48000": 48000, "ulaw_8000": 8000,
}  # fmt: skip
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "id", "ja", "ko", "zh", "hi", "ar", "ru", "tr")
# The documented ranges of the VAD query parameters (PROTOCOLS.md section 1).
VAD_RANGES: dict[str, tuple[type, float, float]] = {
    "vad_silence_threshold_secs": (float, 0.3, 3.0),
    "vad_threshold": (float, 0.1, 0.9),
    "min_speech_duration_ms": (int, 50, 2000),
    "min_silence_duration_ms": (int, 50, 2000),
}
PREVIOUS_TEXT_CHARS = 50  # "works best under 50 characters"
# Manual mode: the server commits on its own every 90 s, wherever that falls. We commit first,
# in a pause, once this much audio is uncommitted (the docs recommend every 20-30 s) ...
COMMIT_IN_PAUSE_AFTER = 20.0
PAUSE_SECONDS = 0.3
# ... and unconditionally here, still well before the server would cut a word.
FORCE_COMMIT_AFTER = 80.0
# A transcript whose last word ends this close to one of our commits answers that commit.
VAD_ANSWER_SLACK = 0.5

# Vendor error type -> (what to do, our code, what to tell the learner).
ERRORS: dict[str, tuple[str, str, str]] = {
    "auth_error": (VendorFault.KEY, "provider_auth_failed", "ElevenLabs rejected the API key"),
    "quota_exceeded": (VendorFault.KEY, "provider_quota_exceeded", "The ElevenLabs quota is used up"),
    "unaccepted_terms": (
        VendorFault.KEY, "provider_terms_not_accepted", "The ElevenLabs account has not accepted the terms of service",
    ),
    "rate_limited": (VendorFault.RETRY, "provider_rate_limited", "ElevenLabs is limiting our request rate"),
    "queue_overflow": (VendorFault.RETRY, "provider_busy", "ElevenLabs is overloaded"),
    "resource_exhausted": (VendorFault.RETRY, "provider_busy", "ElevenLabs is out of capacity"),
    "transcriber_error": (VendorFault.RETRY, "provider_error", "The ElevenLabs transcriber failed"),
    "error": (VendorFault.RETRY, "provider_error", "ElevenLabs reported an error"),
    "session_time_limit_exceeded": (
        VendorFault.RETRY, "provider_session_limit", "The ElevenLabs session reached its time limit",
    ),
    "insufficient_audio_activity": (
        VendorFault.RETRY, "provider_idle_timeout", "ElevenLabs closed the session for lack of speech",
    ),
    "input_error": (VendorFault.FATAL, "provider_rejected_audio", "ElevenLabs could not use the audio"),
    "chunk_size_exceeded": (VendorFault.FATAL, "provider_rejected_audio", "ElevenLabs refused an audio chunk"),
    "invalid_request": (VendorFault.FATAL, "provider_rejected_request", "ElevenLabs refused the request"),
}  # fmt: skip
ERRORS["unaccepted_terms_error"] = ERRORS["unaccepted_terms"]  # the docs' older spelling
NOT_FATAL = {"commit_throttled": ("provider_commit_throttled", "ElevenLabs asked us to commit less often")}
# Events we accept and do not show: language-detection finals, entities, redaction, edits, diarization.
IGNORED = {
    "final_transcript", "final_transcript_with_timestamps", "committed_transcript_entities",
    "redacted_transcript", "edited_transcript", "diarized_transcript", "speakers_merged",
}  # fmt: skip


def vad_parameters(options: dict[str, Any]) -> dict[str, str]:
    """The VAD query parameters among `options`, checked against their documented ranges."""
    query = {}
    for name, (kind, low, high) in VAD_RANGES.items():
        if name not in options or options[name] is None:
            continue
        try:
            value = kind(options[name])
        except (TypeError, ValueError):
            raise ProviderError("invalid_option", f"{name} must be a number.", fatal=False) from None
        if not low <= value <= high:
            raise ProviderError("invalid_option", f"{name} must be between {low:g} and {high:g}.", fatal=False)
        query[name] = f"{value:g}"
    return query


def query_for(config, audio_format: str, defaults: dict[str, Any] | None = None) -> dict[str, str]:
    """The handshake query: the session's config over the server's defaults (VAD tuning, logging)."""
    options = {**(defaults or {}), **config.extra}
    query = {
        "model_id": MODEL_ID,
        "audio_format": audio_format,
        "commit_strategy": config.commit_strategy,
        "include_timestamps": "true",
    }
    if config.language:
        query["language_code"] = config.language
    if config.commit_strategy == "vad":
        options.setdefault("vad_silence_threshold_secs", round(config.vad_silence_ms / 1000, 3))
        query.update(vad_parameters(options))
    if "enable_logging" in options:
        query["enable_logging"] = "true" if options["enable_logging"] else "false"
    return query


class ElevenLabsSession(RemoteSession):
    vendor = "ElevenLabs"

    def __init__(self, *args, audio_format: str = "pcm_16000", query: dict[str, Any] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if audio_format not in AUDIO_FORMATS:
            raise ProviderError("invalid_option", f"Unknown ElevenLabs audio format {audio_format!r}.", fatal=False)
        self.audio_format = audio_format
        self.rate = AUDIO_FORMATS[audio_format]
        self.url = websocket_url(self.base_url, PATH) + "?" + urlencode(query_for(self.config, audio_format, query))
        self.manual = self.config.commit_strategy == "manual"
        self.commit_marks: deque[float] = deque()  # recording time of each commit we sent
        self.held: str | None = None  # a committed text waiting for its timestamps
        self.segment_start = 0.0
        self.last_commit_at = 0.0
        self.pauses = PauseDetector(self.config.sample_rate) if self.manual else None
        self.final_commit_sent = False

    # --- connection ----------------------------------------------------------------------------
    async def dial(self, secret: str) -> ClientConnection:
        return await connect(
            self.url, additional_headers={"xi-api-key": secret}, max_size=2**22, open_timeout=None, logger=WIRE_LOG
        )

    async def handshake(self, ws: ClientConnection) -> None:
        message = json.loads(await ws.recv())
        kind = message.get("message_type")
        if kind != "session_started":
            raise self.fault(message)

    def encode(self, audio: bytes) -> str:
        if self.audio_format == "ulaw_8000":
            audio = mulaw_encode(audio)
        chunk: dict[str, Any] = {
            "message_type": "input_audio_chunk",
            "audio_base_64": to_base64(audio),
            "commit": False,
            "sample_rate": self.rate,
        }
        if self.first_frame and self.last_committed_text:
            # After a reconnect, the last words heard give the new session its context.
            chunk["previous_text"] = self.last_committed_text[-PREVIOUS_TEXT_CHARS:].lstrip()
        return json.dumps(chunk)

    # --- audio and commits ---------------------------------------------------------------------
    async def send_audio(self, pcm: bytes) -> None:
        await super().send_audio(pcm)
        if self.pauses is None:
            return
        pause = self.pauses.feed(pcm)
        uncommitted = self.received_seconds - self.last_commit_at
        if (uncommitted >= COMMIT_IN_PAUSE_AFTER and pause >= PAUSE_SECONDS) or uncommitted >= FORCE_COMMIT_AFTER:
            await self.commit()

    async def commit(self) -> None:
        async with self._lock:
            if self.received_seconds <= self.last_commit_at:
                return  # nothing new to commit; the server would throttle repeats
            self.last_commit_at = self.received_seconds
            self.commit_marks.append(self.received_seconds)
            if self._live and self.ws is not None:
                await self.ws.send(self._commit_frame())

    def _commit_frame(self) -> str:
        return json.dumps(
            {"message_type": "input_audio_chunk", "audio_base_64": "", "commit": True, "sample_rate": self.rate}
        )

    async def end_of_audio(self) -> None:
        self.final_commit_sent = True
        if not self.replay.chunks and self.held is None and not self.commit_marks:
            await self.hang_up()  # everything sent is already in a committed transcript
            return
        await self.commit()

    async def after_replay(self) -> None:
        """Commits sent on the lost connection went unanswered: one commit now covers them."""
        if self.commit_marks:
            self.commit_marks = deque([self.received_seconds])
            self.last_commit_at = self.received_seconds
            await self.ws.send(self._commit_frame())

    # --- events --------------------------------------------------------------------------------
    async def on_message(self, message: str | bytes) -> None:
        data = json.loads(message)
        kind = data.get("message_type", "")
        if kind == "partial_transcript":
            self.flush_held()
            if data.get("text"):
                self.emit(PartialTranscript(data["text"]))
        elif kind == "committed_transcript":
            self.flush_held()
            self.held = data.get("text") or ""
        elif kind == "committed_transcript_with_timestamps":
            self.held = None
            self.commit_segment(data.get("text") or "", data.get("words") or [])
        elif kind in ERRORS:
            self.flush_held()
            raise self.fault(data)
        elif kind in NOT_FATAL:
            code, text = NOT_FATAL[kind]
            self.emit(ProviderError(code, f"{text}: {data.get('error', '')}".rstrip(": "), fatal=False))
        elif kind == "warning":
            self.emit(Notice(f"ElevenLabs: {data.get('warning', '')}"))
        elif kind not in IGNORED and kind != "session_started":
            log.info("ElevenLabs sent an event we do not know: %r", kind)
        if self.finishing and self.final_commit_sent and not self.commit_marks and self.held is None:
            await self.hang_up()  # the final commit's transcript is in

    def flush_held(self) -> None:
        if self.held is not None:
            text, self.held = self.held, None
            self.commit_segment(text, [])

    def commit_segment(self, text: str, raw_words: list[dict[str, Any]]) -> None:
        words = tuple(
            Word(
                text=w.get("text", "").strip(),
                start=self.timeline(float(w.get("start") or 0.0)),
                end=self.timeline(float(w.get("end") or 0.0)),
                confidence=round(math.exp(w["logprob"]), 3) if isinstance(w.get("logprob"), int | float) else None,
            )
            for w in raw_words
            if w.get("type", "word") == "word" and w.get("text", "").strip()
        )
        mark = self._answered_mark(words)
        # Without words (a commit of silence) it covers what we had sent when we committed.
        until = mark if mark is not None else self.received_seconds
        if words:
            until = max(words[-1].end, mark or 0.0)
        text = text.strip()
        if text:
            start = words[0].start if words else self.segment_start
            end = words[-1].end if words else until
            self.emit(CommittedTranscript(text=text, start=start, end=max(start, end), words=words))
        self.segment_start = until
        self.committed(text, until)

    def _answered_mark(self, words: tuple[Word, ...]) -> float | None:
        """The commit this transcript answers, if it answers one of ours.

        In VAD mode the server also commits on its own; such a transcript ends well before our
        next commit mark and must not be taken for its answer.
        """
        if not self.commit_marks:
            return None
        if self.manual or not words or words[-1].end >= self.commit_marks[0] - VAD_ANSWER_SLACK:
            return self.commit_marks.popleft()
        return None

    def fault(self, data: dict[str, Any]) -> VendorFault:
        kind = data.get("message_type", "")
        action, code, text = ERRORS.get(kind, (VendorFault.RETRY, "provider_error", "ElevenLabs reported an error"))
        detail = data.get("error") or data.get("message") or ""
        return VendorFault(action, code, f"{text}: {detail}" if detail else f"{text}.")
