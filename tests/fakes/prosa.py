"""Fake Prosa STT streaming server (PROTOCOLS.md §3).

    async with FakeProsa(keys=("k",), script=("selamat", "pagi")) as fake:
        ... adapter connects to fake.ws_url ...
    fake.assert_clean()

Transcript model (deterministic, not documented; a fake's choice): decoded audio is cut into
0.5 s blocks. A block with any non-zero sample is speech and adds the next word of `script`
(cycling) to the open segment (a `partial` follows when include_partial is true). An all-zero
block is silence and closes the open segment with a `result` (our stand-in for Prosa's VAD).
The end-of-stream empty frame closes the last segment; a trailing block shorter than 0.5 s is
ignored. Formats the fake cannot decode (mp3, opus...) are timed as 16 kHz mono s16le.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.base import FakeServer, Faults

# §3 "Close codes": the table's meaning doubles as the close reason (real reason text is [UNK]).
CLOSE_REASONS: dict[int, str] = {
    1000: "normal end",
    4000: "invalid authentication",
    4001: "invalid configuration",
    4002: "invalid model",
    4005: "insufficient quota",
    4029: "rate limited",
}
INTERNAL = "internal server error"  # §3: any other code
# §3 step 2: audio.format values from PR-JAVA1 and the PR-JAVA2 enum.
FORMATS = ("wav", "mp3", "s16le", "flac", "pcm_mulaw", "pcm_alaw", "opus", "webm")
CONFIG_KEYS = {"label", "model", "include_partial", "include_filler", "audio"}
AUDIO_KEYS = {"format", "channels", "sample_rate"}
BLOCK_SECONDS = 0.5


def reason(code: int) -> str:
    return CLOSE_REASONS.get(code, INTERNAL)


def parse_wav(chunk: bytes) -> tuple[int, int, int] | str:
    """(header length, channels, sample rate) of a 16-bit PCM WAV header, or what is wrong."""
    if len(chunk) < 12 or chunk[:4] != b"RIFF" or chunk[8:12] != b"WAVE":
        return "first chunk does not start with a RIFF/WAVE header"
    pos, fmt = 12, None
    while pos + 8 <= len(chunk):
        cid, size = chunk[pos : pos + 4], int.from_bytes(chunk[pos + 4 : pos + 8], "little")
        body = pos + 8
        if cid == b"fmt ":
            if body + 16 > len(chunk):
                return "truncated WAV fmt chunk"
            fmt = struct.unpack_from("<HHIIHH", chunk, body)
        elif cid == b"data":
            if fmt is None:
                return "WAV data chunk before fmt chunk"
            tag, channels, rate, _, _, bits = fmt
            if tag not in (1, 0xFFFE) or bits != 16:
                return f"WAV is not 16-bit PCM (format tag {tag}, {bits} bits)"
            return body, channels, rate
        pos = body + size + (size & 1)
    return "WAV header not complete in the first chunk (§3: header goes only in the first chunk)"


@dataclass
class Session:
    """One connection's state."""

    index: int
    include_partial: bool = False
    format: str = ""
    channels: int = 1
    sample_rate: int = 16000
    chunks: int = 0  # non-empty audio frames
    pending: bytearray = field(default_factory=bytearray)
    seconds: float = 0.0  # audio decoded into blocks so far
    words: list[str] = field(default_factory=list)  # open segment
    seg_start: float = 0.0
    seg_end: float = 0.0
    word_index: int = 0
    ended: bool = False  # empty frame received
    server_closed: bool = False


class FakeProsa(FakeServer):
    """Speaks §3. Knobs beyond Faults: keys, models, script, strict, quota_seconds, max_duration.

    strict=True (default) also requires include_partial and audio.{format,channels,sample_rate}:
    their defaults are [UNK] and auto-detection is not something to rely on (§3 step 2).
    Faults: close_code alone closes right after the handshake; with error_after_chunks, after N
    chunks (4005 first sends the `quota` alert; error_type="error" first sends PR-3P's error message).
    """

    path = "/v2/speech/stt"  # §3 "Endpoint and auth"

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        keys: tuple[str, ...] = ("test-key",),
        models: tuple[str, ...] = ("stt-general-online",),
        script: tuple[str, ...] = ("selamat", "pagi", "semua", "apa", "kabar"),
        strict: bool = True,
        quota_seconds: float | None = None,
        max_duration: float = 600.0,
    ) -> None:
        super().__init__(faults)
        self.keys, self.models, self.script, self.strict = keys, models, script, strict
        self.quota_seconds, self.max_duration = quota_seconds, max_duration
        self.headers: list[Headers] = []  # per handshake request (accepted or not)
        self.queries: list[dict[str, list[str]]] = []
        self.auth_via: list[str] = []  # per connection: "header", "token" or "none"
        self.configs: list[dict[str, Any]] = []  # per connection (empty if none arrived)
        self.audio: list[bytearray] = []  # per connection: audio bytes, container header stripped
        self.sent: list[list[dict[str, Any]]] = []  # per connection: messages the fake sent
        self.close_codes: list[int | None] = []  # per connection: code the fake closed with

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    # --- handshake -------------------------------------------------------------------------
    def check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        self.headers.append(request.headers)
        query = parse_qs(urlsplit(request.path).query)
        self.queries.append(query)
        if "x-api-key" in query:  # §3: PR-3P's query key is undocumented; it does not authenticate here
            self.violation("api key in the query string (undocumented, and it leaks into logs)")
        if len(request.headers.get_all("x-api-key")) > 1:
            self.violation("x-api-key header sent twice")
        return None  # a wrong header key is reported by close 4000 after the upgrade (§3 close codes)

    # --- messaging -------------------------------------------------------------------------
    async def send(self, ws: ServerConnection, s: Session, message: dict[str, Any]) -> None:
        await self.pause()
        self.sent[s.index].append(message)
        await ws.send(json.dumps(message))

    async def close(self, ws: ServerConnection, s: Session, code: int) -> None:
        s.server_closed = True
        self.close_codes[s.index] = code
        await ws.close(code, reason(code))

    async def fail(self, ws: ServerConnection, s: Session, code: int, why: str) -> None:
        """A client mistake: record it and close as the vendor would."""
        self.violation(f"connection {s.index}: {why}")
        await self.close(ws, s, code)

    # --- the session -----------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        s = Session(index=len(self.audio))
        self.sent.append([])
        self.audio.append(bytearray())
        self.configs.append({})
        self.close_codes.append(None)
        self.auth_via.append("none")
        try:
            await self.session(ws, s)
        except ConnectionClosed:
            if not s.server_closed and not s.ended:
                # §3 step 4/5: the stream ends with one empty binary frame, then the server closes.
                self.violation(f"connection {s.index}: client closed without the empty end-of-stream frame")
            elif not s.server_closed and s.ended:
                self.violation(f"connection {s.index}: client closed before the server did (§3 step 5)")

    async def session(self, ws: ServerConnection, s: Session) -> None:
        f = self.faults
        if f.close_code is not None and f.error_after_chunks is None:
            return await self.close(ws, s, f.close_code)
        assert ws.request is not None
        header_key = ws.request.headers.get("x-api-key")
        if header_key is not None:  # §3 auth, form 1: header on the upgrade
            self.auth_via[s.index] = "header"
            if header_key not in self.keys:
                return await self.close(ws, s, 4000)
        first = await self.recv(ws, s)
        if header_key is None:  # §3 auth, form 2: a first text message {"token": ...}
            if not (isinstance(first, dict) and "token" in first):
                return await self.fail(ws, s, 4000, "no x-api-key header and first message is not {'token': ...}")
            self.auth_via[s.index] = "token"
            if set(first) != {"token"} or not isinstance(first["token"], str):
                return await self.fail(ws, s, 4000, f"token message must be exactly {{'token': str}}: {first!r}")
            if first["token"] not in self.keys:
                return await self.close(ws, s, 4000)
            first = await self.recv(ws, s)
        if not isinstance(first, dict):  # §3 step 2: configuration before any audio
            return await self.fail(ws, s, 4001, "audio (or non-JSON) sent before the configuration message")
        code, problem = self.check_config(first)
        if problem:
            return await self.fail(ws, s, code, problem)
        self.configs[s.index] = first
        self.configure(s, first)
        # §3 "Likely order": created -> status updates -> partial/result -> ... -> complete -> metadata.
        await self.send(ws, s, {"type": "created", "id": f"fake-job-{s.index}"})
        await self.send(ws, s, {"type": "status", "status": "in_progress"})
        while True:
            msg = await self.recv(ws, s)
            if s.ended:
                return self.violation(f"connection {s.index}: message after the empty end-of-stream frame")
            if not isinstance(msg, bytes):
                return await self.fail(ws, s, 4001, f"text message during audio: {msg!r}")
            if msg == b"":  # §3 step 4: one empty binary frame ends the stream
                s.ended = True
                await self.finish(ws, s)
                continue  # keep reading: anything after this is a violation
            if await self.audio_chunk(ws, s, msg):
                return

    async def recv(self, ws: ServerConnection, s: Session) -> Any:
        raw = await ws.recv()
        if isinstance(raw, bytes):
            self.received[-1].append(raw)
            return raw
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        self.received[-1].append(parsed)
        return parsed

    def check_config(self, c: dict[str, Any]) -> tuple[int, str]:
        """§3 step 2, field by field. Returns (close code, problem) or (0, "")."""
        if unknown := set(c) - CONFIG_KEYS:
            return 4001, f"unknown configuration fields {sorted(unknown)}"
        if "model" not in c:
            return 4001, "configuration without the required 'model'"
        if not isinstance(c["model"], str) or c["model"] not in self.models:
            return 4002, f"unknown model {c['model']!r} (streaming knows {list(self.models)})"
        if c.get("label") is not None and not isinstance(c["label"], str):
            return 4001, "label must be a string or null"
        for flag in ("include_partial", "include_filler"):
            if flag in c and not isinstance(c[flag], bool):
                return 4001, f"{flag} must be a boolean"
        if self.strict and "include_partial" not in c:
            return 4001, "include_partial missing (its default is [UNK]; send it explicitly)"
        audio = c.get("audio")
        if audio is None:
            return (4001, "audio missing (strict: format, channels, sample_rate)") if self.strict else (0, "")
        if not isinstance(audio, dict):
            return 4001, "audio must be an object"
        if unknown := set(audio) - AUDIO_KEYS:
            return 4001, f"unknown audio fields {sorted(unknown)}"
        if audio.get("format") not in FORMATS:
            return 4001, f"audio.format {audio.get('format')!r} missing or not one of {FORMATS}"
        for num in ("channels", "sample_rate"):
            if num in audio and (type(audio[num]) is not int or audio[num] <= 0):
                return 4001, f"audio.{num} must be a positive integer"
            if num not in audio and (self.strict or audio["format"] == "s16le"):
                return 4001, f"audio.{num} missing (raw s16le needs rate and channels, §3 step 2 [INF])"
        if audio.get("channels", 1) > 2 or audio.get("sample_rate", 16000) not in range(8000, 48001):
            return 4001, f"implausible audio {audio}"
        return 0, ""

    def configure(self, s: Session, c: dict[str, Any]) -> None:
        s.include_partial = c.get("include_partial", False)  # default [UNK]; fake assumes false
        audio = c.get("audio") or {}
        s.format = audio.get("format", "")
        s.channels = audio.get("channels", 1)
        s.sample_rate = audio.get("sample_rate", 16000)

    async def audio_chunk(self, ws: ServerConnection, s: Session, chunk: bytes) -> bool:
        """One non-empty binary frame. True when the fake has ended the connection."""
        f = self.faults
        if s.chunks == 0:
            chunk = self.strip_header(s, chunk)
        elif chunk[:4] == b"RIFF":  # §3 step 3: the container header goes only in the first chunk
            self.violation(f"connection {s.index}: chunk {s.chunks} starts with a second RIFF header")
        s.chunks += 1
        self.audio[s.index] += chunk
        s.pending += chunk
        if self.should_drop(s.chunks):
            await self.drop(ws)
            return True
        if f.error_after_chunks is not None and s.chunks >= f.error_after_chunks:
            code = f.close_code if f.close_code is not None else 1011
            if code == 4005:
                await self.send_quota(ws, s)
            elif f.error_type == "error":  # PR-3P only [3P, unverified]
                await self.send(ws, s, {"type": "error", "message": reason(code)})
            await self.close(ws, s, code)
            return True
        await self.transcribe(ws, s)
        if self.quota_seconds is not None and s.seconds >= self.quota_seconds:
            await self.flush(ws, s)
            await self.send_quota(ws, s)  # §3 "closing quota alert", then 4005 [INF]
            await self.close(ws, s, 4005)
            return True
        if s.seconds >= self.max_duration:  # metadata.max_reached [INF]
            await self.finish(ws, s)
            return True
        return False

    def strip_header(self, s: Session, chunk: bytes) -> bytes:
        """§3 step 3: the first chunk carries the container header (WAV here; s16le has none)."""
        if s.format == "s16le":
            if chunk[:4] == b"RIFF":
                self.violation(f"connection {s.index}: format s16le but the first chunk is a WAV file")
            return chunk
        if s.format == "wav" or (not s.format and chunk[:4] == b"RIFF"):
            parsed = parse_wav(chunk)
            if isinstance(parsed, str):
                self.violation(f"connection {s.index}: {parsed}")
                return chunk
            start, channels, rate = parsed
            if s.format and (channels, rate) != (s.channels, s.sample_rate):
                self.violation(
                    f"connection {s.index}: WAV header says {channels} ch {rate} Hz, "
                    f"configuration says {s.channels} ch {s.sample_rate} Hz"
                )
            s.channels, s.sample_rate = channels, rate
            return chunk[start:]
        if not s.format:
            self.violation(f"connection {s.index}: no audio config and the first chunk is not a WAV file")
        return chunk  # mp3/opus/...: opaque to the fake, timed as 16 kHz mono s16le

    async def transcribe(self, ws: ServerConnection, s: Session) -> None:
        block = int(s.sample_rate * BLOCK_SECONDS) * 2 * s.channels
        while len(s.pending) >= block:
            data = bytes(s.pending[:block])
            del s.pending[:block]
            start, s.seconds = s.seconds, s.seconds + BLOCK_SECONDS
            if data.count(0) == len(data):  # all-zero block: silence closes the segment
                await self.flush(ws, s)
                continue
            if not s.words:
                s.seg_start = start
            s.words.append(self.script[s.word_index % len(self.script)])
            s.word_index += 1
            s.seg_end = s.seconds
            if s.include_partial:  # §3: partials only when include_partial is true
                await self.send(ws, s, {"type": "partial", "transcript": " ".join(s.words)})

    async def flush(self, ws: ServerConnection, s: Session) -> None:
        if s.words:  # §3 `result`: a completed segment, times in seconds as doubles
            await self.send(
                ws,
                s,
                {
                    "type": "result",
                    "transcript": " ".join(s.words),
                    "time_start": round(s.seg_start, 3),
                    "time_end": round(s.seg_end, 3),
                },
            )
            s.words = []

    async def send_quota(self, ws: ServerConnection, s: Session) -> None:
        message = {"type": "quota", "active": True, "timestamp": s.seconds, "quota_used": math.ceil(s.seconds)}
        await self.send(ws, s, message)

    async def finish(self, ws: ServerConnection, s: Session) -> None:
        """§3 "Likely order" after the empty frame: final results, complete, metadata, close 1000."""
        await self.flush(ws, s)
        await self.send(ws, s, {"type": "status", "status": "complete"})
        await self.send(
            ws,
            s,
            {
                "type": "metadata",
                "duration": s.seconds,
                "quota_used": math.ceil(s.seconds),  # units [UNK]: the fake uses whole seconds
                "max_reached": s.seconds >= self.max_duration,
                "max_duration": self.max_duration,
            },
        )
        await self.close(ws, s, 1000)
