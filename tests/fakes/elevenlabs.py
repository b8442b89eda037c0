"""Fake ElevenLabs Scribe v2 Realtime server (PROTOCOLS.md section 1; "§1 X" = its subsection X).

Fake transcript: one word per 0.5 s of counted audio (`script` words, else "word1 word2 ...").
Manual mode counts all audio; VAD mode counts only non-silent audio. Silence is digital silence
judged per 10 ms frame: every PCM sample 0, or every μ-law byte 0xFF/0x7F (μ-law zero).
Query and chunk problems are recorded as violations; the session still goes on (the vendor's reaction is [UNK]).
Faults count chunks that carry audio; the chunk that triggers a drop/error is already in `audio`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.base import FakeServer, Faults

MODEL_ID = "scribe_v2_realtime"
FORMATS = {
    "pcm_8000": 8000,
    "pcm_16000": 16000,
    "pcm_22050": 22050,
    "pcm_24000": 24000,
    "pcm_44100": 44100,
    "pcm_48000": 48000,
    "ulaw_8000": 8000,
}  # §1 Endpoint and handshake
# §1 Errors and close; `unaccepted_terms_error` is EL-SEED's spelling of `unaccepted_terms`.
ERROR_TYPES = (
    "error",
    "auth_error",
    "quota_exceeded",
    "commit_throttled",
    "transcriber_error",
    "unaccepted_terms",
    "rate_limited",
    "input_error",
    "invalid_request",
    "queue_overflow",
    "resource_exhausted",
    "session_time_limit_exceeded",
    "chunk_size_exceeded",
    "insufficient_audio_activity",
    "unaccepted_terms_error",
)
ERROR_CLOSE_CODE = 1008  # §1 Errors and close: close codes are [UNK]; not 1000/1005 so EL-JS sees an error
BOOLS = ("include_timestamps", "include_language_detection", "enable_logging", "no_verbatim", "filter_background_audio")
RANGES: dict[str, tuple[type, float, float]] = {
    "vad_silence_threshold_secs": (float, 0.3, 3.0),
    "vad_threshold": (float, 0.1, 0.9),
    "min_speech_duration_ms": (int, 50, 2000),
    "min_silence_duration_ms": (int, 50, 2000),
}
LISTS = ("secondary_languages", "keyterms", "entity_detection", "entity_redaction")  # §1: repeated keys
SINGLES = (
    "model_id",
    "audio_format",
    "commit_strategy",
    "language_code",
    "entity_redaction_mode",
    "transcript_edit",
    "token",
    *BOOLS,
    *RANGES,
)
CHUNK_KEYS = {"message_type", "audio_base_64", "commit", "sample_rate", "previous_text"}  # §1 Client → server
WORD_FRAMES = 50  # 10 ms frames per fake word (0.5 s)
PARTIALS_AFTER = 2.0  # §1 Limits: transcription starts after the first 2 s of audio
MAX_CHUNK_SECS = 1.0  # §1 Limits: send chunks of 0.1-1 s


def parse_query(target: str) -> tuple[dict[str, Any], list[str]]:
    """Parse and check the handshake query (§1 Endpoint and handshake): (query, problems)."""
    query: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in parse_qsl(urlsplit(target).query, keep_blank_values=True):
        if key in LISTS:
            query.setdefault(key, []).append(value)
        elif key not in SINGLES:
            problems.append(f"unknown query parameter {key}={value!r}")
        elif key in query:
            problems.append(f"query parameter {key} repeated")
        else:
            query[key] = value
    if query.get("model_id") != MODEL_ID:
        problems.append(f"model_id must be {MODEL_ID!r}, got {query.get('model_id')!r}")
    if query.get("audio_format", "pcm_16000") not in FORMATS:
        problems.append(f"audio_format {query['audio_format']!r} not in {sorted(FORMATS)}")
    if query.get("commit_strategy", "manual") not in ("manual", "vad"):
        problems.append(f"commit_strategy {query['commit_strategy']!r} not manual|vad")
    # ISO 639-1/639-3; empty means auto-detect ("leave empty" in EL-SEED).
    if not re.fullmatch(r"([a-z]{2,3})?", query.get("language_code", "")):
        problems.append(f"language_code {query['language_code']!r} is not ISO 639-1/3")
    for key in BOOLS:  # the SDKs write lowercase true/false (§1)
        if key in query and query[key] not in ("true", "false"):
            problems.append(f"{key}={query[key]!r}: booleans are lowercase true/false")
    for key, (kind, low, high) in RANGES.items():
        if key in query:
            try:
                number = kind(query[key])
            except ValueError:
                problems.append(f"{key}={query[key]!r} is not {kind.__name__}")
                continue
            if not low <= number <= high:
                problems.append(f"{key}={number} outside {low}-{high}")
    if query.get("entity_redaction_mode", "redacted") not in ("redacted", "entity_type", "enumerated_entity_type"):
        problems.append(f"entity_redaction_mode {query['entity_redaction_mode']!r} unknown")
    terms = query.get("keyterms", [])
    if len(terms) > 50 or any(len(t) > 20 for t in terms):
        problems.append("keyterms: at most 50, each ≤20 chars")
    if len(query.get("transcript_edit", "")) > 2000:
        problems.append("transcript_edit longer than 2000 chars")
    return query, problems


@dataclass
class _Session:
    """One connection's state. Times are counted in samples of the session's format."""

    index: int
    rate: int
    width: int  # bytes per sample: 2 for PCM16, 1 for μ-law
    vad: bool
    timestamps: bool
    language: str
    vad_silence: int  # samples
    min_speech: int  # samples
    chunks: int = 0  # input_audio_chunk messages carrying audio
    messages: int = 0  # input_audio_chunk messages of any kind
    pending: bytearray = field(default_factory=bytearray)  # bytes short of a full 10 ms frame
    clock: int = 0  # samples processed in this connection
    seg_frames: int = 0  # frames counted towards words in the current segment
    seg_speech: int = 0  # non-silent samples in the current segment
    silent_run: int = 0
    word_starts: list[int] = field(default_factory=list)
    partial_words: int = 0
    next_word: int = 0

    @property
    def frame_bytes(self) -> int:
        return self.rate // 100 * self.width


class FakeElevenLabs(FakeServer):
    path = "/v1/speech-to-text/realtime"

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        keys: Sequence[str] = ("test-key",),
        tokens: Sequence[str] = (),
        script: Sequence[str] | None = None,
        auto_commit_secs: float = 90.0,
    ) -> None:
        super().__init__(faults)
        if self.faults.error_after_chunks is not None and (self.faults.error_type or "error") not in ERROR_TYPES:
            raise ValueError(f"unknown ElevenLabs error type {self.faults.error_type!r}")
        self.keys = set(keys)
        self.tokens = set(tokens)  # single-use tokens (§1 Single-use token): consumed on first use
        self.used_tokens: set[str] = set()
        self.script = list(script) if script else None
        self.auto_commit_secs = auto_commit_secs  # §1 Limits: manual mode auto-commits every 90 s of audio
        self.auto_commits = 0
        self.queries: list[dict[str, Any]] = []
        self._audio: list[bytearray] = []
        self.sent: list[list[dict[str, Any]]] = []  # per connection: every message the fake sent
        self.errors_done = 0

    @property
    def audio(self) -> list[bytes]:
        """Decoded audio per connection, in arrival order."""
        return [bytes(a) for a in self._audio]

    def word(self, i: int) -> str:
        return self.script[i % len(self.script)] if self.script else f"word{i + 1}"

    # --- handshake ---------------------------------------------------------------------------
    def check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        query, problems = parse_query(request.path)
        self.queries.append(query)
        for problem in problems:
            self.violation(f"handshake: {problem}")
        if "token" not in query and "xi-api-key" not in request.headers:
            self.violation("handshake: neither xi-api-key header nor token query parameter")
        return None  # §1: the upgrade is accepted; bad auth is an auth_error message, then close

    def _auth_problem(self, request: Request, query: dict[str, Any]) -> str | None:
        if "token" in query:  # the token takes precedence over the header (§1, EL-PY)
            token = query["token"]
            if token in self.used_tokens:
                self.violation("single-use token reused")
                return "Token already used"
            if token not in self.tokens:
                return "Invalid token"
            self.tokens.discard(token)
            self.used_tokens.add(token)
            return None
        return None if request.headers.get("xi-api-key") in self.keys else "Invalid API key"

    # --- session -----------------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        index = len(self._audio)
        self._audio.append(bytearray())
        self.sent.append([])
        f = self.faults
        if f.close_code is not None and f.error_after_chunks is None:
            await ws.close(f.close_code, "fake close")  # Faults.close_code alone: close at once
            return
        assert ws.request is not None
        query, _ = parse_query(ws.request.path)
        problem = self._auth_problem(ws.request, query)
        if problem:
            await self._fail(ws, index, "auth_error", problem)
            return
        fmt = query.get("audio_format", "pcm_16000")
        rate = FORMATS.get(fmt, 16000)
        s = _Session(
            index=index,
            rate=rate,
            width=1 if fmt.startswith("ulaw") else 2,
            vad=query.get("commit_strategy") == "vad",
            timestamps=query.get("include_timestamps") == "true",
            language=query.get("language_code") or "en",
            vad_silence=int(float(query.get("vad_silence_threshold_secs", 1.5)) * rate),
            min_speech=int(query.get("min_speech_duration_ms", 100)) * rate // 1000,
        )
        config = {
            "sample_rate": rate,
            "audio_format": fmt,
            "language_code": query.get("language_code"),
            "model_id": MODEL_ID,
            "commit_strategy": query.get("commit_strategy", "manual"),
            "enable_logging": query.get("enable_logging", "true") == "true",
            "include_timestamps": s.timestamps,
        }
        await self._send(
            ws, index, {"message_type": "session_started", "session_id": uuid.uuid4().hex, "config": config}
        )  # §1 Server → client: right after connect
        try:
            async for frame in ws:
                if not await self._on_frame(ws, s, frame):
                    return
        except ConnectionClosed:
            pass

    async def _on_frame(self, ws: ServerConnection, s: _Session, frame: str | bytes) -> bool:
        """Handle one client frame; False ends the connection."""
        if isinstance(frame, bytes):
            self.received[s.index].append(frame)
            self.violation("binary frame: audio goes base64 in input_audio_chunk JSON (§1 Client → server)")
            return True
        try:
            msg = json.loads(frame)
        except ValueError:
            msg = frame
        self.received[s.index].append(msg)
        audio = self._check_chunk(s, msg)
        if audio is None:
            return True
        s.messages += 1
        if audio:
            s.chunks += 1
            self._audio[s.index] += audio
        if audio and self.should_drop(s.chunks):
            await self.drop(ws)
            return False
        f = self.faults
        if (
            audio
            and f.error_after_chunks is not None
            and s.chunks >= f.error_after_chunks
            and self.errors_done < f.extra.get("error_times", 1)
        ):
            self.errors_done += 1
            closes = f.extra.get("error_closes", True)  # whether e.g. commit_throttled is fatal is [UNK]
            await self._fail(ws, s.index, f.error_type or "error", "Fake error", closes)
            if closes:
                return False
        if isinstance(msg, dict) and msg.get("previous_text") is not None and s.messages > 1:
            # §1: previous_text after the first chunk "will result in an error" (type [UNK]: input_error)
            await self._fail(ws, s.index, "input_error", "previous_text is only allowed on the first chunk")
            return False
        events = self._feed(s, audio)
        if msg["commit"]:
            if s.pending:
                events += self._frame(s, bytes(s.pending))
                s.pending.clear()
            events += self._commit(s)
        for event in events:
            await self._send(ws, s.index, event)
        return True

    def _check_chunk(self, s: _Session, msg: Any) -> bytes | None:
        """Validate an input_audio_chunk (§1 Client → server); its audio, or None if unusable."""
        if not isinstance(msg, dict):
            self.violation(f"not a JSON object: {msg!r:.80}")
            return None
        if msg.get("message_type") == "commit":
            self.violation('{"message_type":"commit"} is unverified (EL-SKILL only); send commit: true')
            return None
        if msg.get("message_type") != "input_audio_chunk":
            self.violation(f"unknown message_type {msg.get('message_type')!r}")
            return None
        bad = [f"missing {k}" for k in ("audio_base_64", "commit", "sample_rate") if k not in msg]
        bad += [f"unknown field {k}" for k in sorted(set(msg) - CHUNK_KEYS)]
        if not isinstance(msg.get("commit", False), bool):
            bad.append("commit must be a boolean")
        rate = msg.get("sample_rate")
        if "sample_rate" in msg and (type(rate) is not int or rate != s.rate):
            bad.append(f"sample_rate {rate!r} does not match audio_format ({s.rate})")
        if msg.get("previous_text") is not None and not isinstance(msg["previous_text"], str):
            bad.append("previous_text must be a string or null")
        audio: bytes | None = None
        try:
            audio = base64.b64decode(msg.get("audio_base_64", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            bad.append("audio_base_64 is not valid base64")
        if audio is not None and len(audio) % s.width:
            bad.append(f"audio is {len(audio)} bytes: not whole {s.width}-byte samples")
        if audio is not None and len(audio) > MAX_CHUNK_SECS * s.rate * s.width:
            bad.append(f"chunk of {len(audio) / s.width / s.rate:.2f} s exceeds {MAX_CHUNK_SECS} s (§1 Limits)")
        if audio == b"" and not msg.get("commit"):
            bad.append("empty audio chunk without commit")
        if msg.get("previous_text") is not None and s.messages > 0:
            bad.append("previous_text after the first chunk of the connection")
        for problem in bad:
            self.violation(f"input_audio_chunk: {problem}")
        return None if any(p.startswith(("missing", "commit must")) for p in bad) else audio

    # --- fake transcription ------------------------------------------------------------------
    def _feed(self, s: _Session, audio: bytes) -> list[dict[str, Any]]:
        s.pending += audio
        events: list[dict[str, Any]] = []
        n = s.frame_bytes
        while len(s.pending) >= n:
            events += self._frame(s, bytes(s.pending[:n]))
            del s.pending[:n]
        return events

    def _frame(self, s: _Session, frame: bytes) -> list[dict[str, Any]]:
        samples = len(frame) // s.width
        silent = not frame.strip(b"\xff\x7f" if s.width == 1 else b"\x00")
        events: list[dict[str, Any]] = []
        if not s.vad or not silent:
            if s.seg_frames % WORD_FRAMES == 0:
                s.word_starts.append(s.clock)
            s.seg_frames += 1
        s.clock += samples
        if silent:
            s.silent_run += samples
            # §1: VAD commits after vad_silence_threshold_secs of silence following speech
            if s.vad and s.seg_speech >= s.min_speech and s.silent_run >= s.vad_silence:
                return self._commit(s)
        else:
            s.silent_run = 0
            s.seg_speech += samples
        if not s.vad and s.seg_frames >= self.auto_commit_secs * 100:
            self.auto_commits += 1  # §1 Limits: automatic commit every 90 s in manual mode
            return self._commit(s)
        done = s.seg_frames // WORD_FRAMES
        if s.clock >= PARTIALS_AFTER * s.rate and done > s.partial_words:
            s.partial_words = done
            events.append({"message_type": "partial_transcript", "text": self._text(s, done)})
        return events

    def _text(self, s: _Session, count: int) -> str:
        return " ".join(self.word(s.next_word + i) for i in range(count))

    def _commit(self, s: _Session) -> list[dict[str, Any]]:
        """committed_transcript, then with_timestamps if asked (§1 Server → client)."""
        count = len(s.word_starts)
        events: list[dict[str, Any]] = [{"message_type": "committed_transcript", "text": self._text(s, count)}]
        if s.timestamps:
            words: list[dict[str, Any]] = []
            for i, start in enumerate(s.word_starts):
                begin, end = round(start / s.rate, 3), round(start / s.rate + 0.4, 3)
                if words:
                    words.append(
                        {"text": " ", "start": words[-1]["end"], "end": begin, "type": "spacing", "logprob": 0.0}
                    )
                words.append(
                    {"text": self.word(s.next_word + i), "start": begin, "end": end, "type": "word", "logprob": -0.05}
                )
            events.append(
                {
                    "message_type": "committed_transcript_with_timestamps",
                    "text": events[0]["text"],
                    "language_code": s.language,
                    "words": words,
                }
            )
        s.next_word += count
        s.seg_frames = s.seg_speech = s.silent_run = s.partial_words = 0
        s.word_starts = []
        return events

    # --- output ------------------------------------------------------------------------------
    async def _send(self, ws: ServerConnection, index: int, message: dict[str, Any]) -> None:
        await self.pause()
        self.sent[index].append(message)
        await ws.send(json.dumps(message))

    async def _fail(self, ws: ServerConnection, index: int, kind: str, text: str, close: bool = True) -> None:
        """§1 Errors and close: {"message_type": <type>, "error": <text>} before the close."""
        await self._send(ws, index, {"message_type": kind, "error": text})
        if close:
            await ws.close(self.faults.close_code or ERROR_CLOSE_CODE, kind)
