"""Fake OpenMind ElevenLabs ASR proxy (PROTOCOLS.md §2), a real websockets server on loopback.

    async with FakeOpenMind(keys=("om1_live_test",), restart_after_seconds=2) as fake:
        ws_url = fake.ws_url("om1_live_test")   # or fake.http_url + FakeOpenMind.PATH
        ...
    fake.assert_clean()

Fake text: the words of `script`, one word per 0.5 s of *speech* received. A chunk whose PCM bytes
are all zero is silence (the fake's stand-in for the proxy's VAD, §2 "Segmentation is done on the
proxy side"); `vad_silence_seconds` of silence after speech commits the utterance. There is no
client commit message (§2 "No end-of-stream, commit or config message is documented").
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import struct
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.base import FakeServer, Faults

PATH = "/api/core/elevenlabs/asr"  # §2 Endpoint
ALIAS_PATH = "/api/core/v1/elevenlabs/asr"  # §2 "the alias ... also works"
DOCUMENTED_RATES = (8000, 16000, 22050, 44100)  # §2 Form A; the fake accepts any rate unless strict_rates
# §2 errors are "Speech recognition error: <details>"; the details are the upstream ElevenLabs error (§1 Errors).
ERROR_TYPES = (
    "error", "auth_error", "quota_exceeded", "commit_throttled", "transcriber_error", "unaccepted_terms",
    "rate_limited", "input_error", "invalid_request", "queue_overflow", "resource_exhausted",
    "session_time_limit_exceeded", "chunk_size_exceeded", "insufficient_audio_activity",
)  # fmt: skip
FORM_A_KEYS = {"audio", "rate", "language_code"}  # §2 Form A
FORM_B_KEYS = {"rate", "language_code", "timestamp", "alternative_language_codes"}  # §2 Form B (OM1-GO)
DEFAULT_SCRIPT = ("hello", "world", "this", "is", "a", "test", "of", "the", "speech", "fake")


def _now_ms() -> int:
    return int(time.time() * 1000)  # §2 "`time` is Unix epoch milliseconds"


class _Conn:
    """Per-connection protocol state."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.client_id = f"{_now_ms()}-{secrets.token_hex(8)}"  # §2 greeting clientId shape
        self.chunks = 0
        self.form: str | None = None  # "json" (Form A) or "binary" (Form B)
        self.rate: int | None = None
        self.language: str | None = None
        self.session_seconds = 0.0  # audio in the current upstream session (§2 5-minute cap)
        self.speech_seconds = 0.0  # speech in the current utterance
        self.silence_seconds = 0.0  # trailing silence run
        self.words_sent = 0  # words already in a partial for this utterance


class FakeOpenMind(FakeServer):
    PATH = PATH
    ALIAS_PATH = ALIAS_PATH
    path = PATH

    def __init__(
        self,
        faults: Faults | None = None,
        *,
        keys: tuple[str, ...] = ("test-key",),
        typed: bool = True,
        script: tuple[str, ...] | list[str] = DEFAULT_SCRIPT,
        restart_after_seconds: float = 300.0,
        vad_silence_seconds: float = 1.5,
        silence_timeout_seconds: float | None = None,
        require_first_config: bool = True,
        strict_rates: bool = False,
        path: str = PATH,
    ) -> None:
        super().__init__(faults)
        f = self.faults
        if f.error_after_chunks is not None and (f.error_type or "error") not in ERROR_TYPES:
            raise ValueError(f"unknown error_type {f.error_type!r}; one of {ERROR_TYPES}")
        self.path = path  # PATH or ALIAS_PATH
        self.keys = set(keys)
        self.typed = typed  # True: committed carries "type":"committed" (OM1 clients); False: as OM-DOC, no type
        self.script = list(script)
        self.restart_after_seconds = restart_after_seconds
        self.vad_silence_seconds = vad_silence_seconds  # §1 vad_silence_threshold_secs default 1.5
        self.silence_timeout_seconds = silence_timeout_seconds  # §2 silence timeout: value UNK, off by default
        self.require_first_config = require_first_config  # first message must carry rate and language_code
        self.strict_rates = strict_rates
        self.queries: list[dict[str, list[str]]] = []  # every checked handshake's query
        self.audio: list[bytearray] = []  # per connection: decoded PCM, in order
        self.sent: list[list[dict[str, Any]]] = []  # per connection: every JSON message sent
        self.client_ids: list[str] = []
        self.word_index = 0  # next script word (runs on across utterances and connections)

    def ws_url(self, key: str | None = "test-key", path: str | None = None) -> str:
        base = f"ws://127.0.0.1:{self.port}{path or self.path}"
        return base if key is None else f"{base}?api_key={key}"

    # --- handshake (§2 Endpoint and auth) ----------------------------------------------------------
    def check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query, keep_blank_values=True)
        self.queries.append(query)
        key = (query.get("api_key") or [""])[0]
        if not key:
            return self._refuse(connection, {"error": "Missing API key. Please connect with ?api_key=YOUR_API_KEY"})
        if key not in self.keys:
            return self._refuse(connection, {"error": "Invalid API key: key not found"})
        return None

    @staticmethod
    def _refuse(connection: ServerConnection, body: dict[str, str]) -> Response:
        # §2: "401 Unauthorized" with a JSON body; HTTP vs WS is UNK, the fake rejects the upgrade.
        response = connection.respond(HTTPStatus.UNAUTHORIZED, json.dumps(body))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    # --- protocol --------------------------------------------------------------------------------
    async def send(self, ws: ServerConnection, conn: _Conn, message: dict[str, Any]) -> None:
        await self.pause()
        self.sent[conn.index].append(message)
        await ws.send(json.dumps(message))

    async def handle(self, ws: ServerConnection) -> None:
        conn = _Conn(len(self.audio))
        self.audio.append(bytearray())
        self.sent.append([])
        self.client_ids.append(conn.client_id)
        f = self.faults
        try:
            # §2 Server greeting
            await self.send(ws, conn, {"type": "connection", "message": "Connected to ElevenLabs ASR service",
                                       "clientId": conn.client_id})  # fmt: skip
            if f.close_code is not None and f.error_after_chunks is None:
                await ws.close(f.close_code)  # Faults.close_code "or at once"
                return
            async for frame in ws:
                pcm = self.parse(conn, frame)
                if pcm is None:
                    continue
                conn.chunks += 1
                self.audio[conn.index] += pcm
                if self.should_drop(conn.chunks):
                    await self.drop(ws)
                    return
                if f.error_after_chunks is not None and conn.chunks == f.error_after_chunks:
                    await self.send(ws, conn, self.error_message(conn, f.error_type or "error"))
                    if f.close_code is not None:  # non-recoverable (§2 "errors close the WebSocket")
                        await ws.close(f.close_code)
                        return
                if not await self.transcribe(ws, conn, pcm):
                    return
        except ConnectionClosed:
            pass

    def error_message(self, conn: _Conn, error_type: str) -> dict[str, Any]:
        # §2 Error shape; details = the upstream ElevenLabs error type (§1 Errors).
        return {"type": "error", "message": f"Speech recognition error: {error_type}", "clientId": conn.client_id}

    # --- client message validation (§2 Client → server) -------------------------------------------
    def parse(self, conn: _Conn, frame: str | bytes) -> bytes | None:
        """Validate one client frame; return its PCM, or None after recording a violation."""
        n = conn.chunks + 1
        if isinstance(frame, bytes):
            return self._parse_binary(conn, frame, n)
        try:
            msg = json.loads(frame)
        except ValueError:
            self.received[conn.index].append(frame)
            self.violation(f"conn {conn.index} msg {n}: text frame is not JSON: {frame[:80]!r}")
            return None
        self.received[conn.index].append(msg)
        if not isinstance(msg, dict):
            self.violation(f"conn {conn.index} msg {n}: JSON is not an object: {msg!r}"[:200])
            return None
        if not self._check_form(conn, "json", n):
            return None
        if extra := set(msg) - FORM_A_KEYS:
            self.violation(f"conn {conn.index} msg {n}: unknown keys {sorted(extra)} (Form A keys only)")
        audio = msg.get("audio")
        if not isinstance(audio, str):
            self.violation(f"conn {conn.index} msg {n}: 'audio' must be a base64 string, got {type(audio).__name__}")
            return None
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            self.violation(f"conn {conn.index} msg {n}: 'audio' is not valid base64")
            return None
        if not self._check_config(conn, msg, n, form_b=False):
            return None
        return self._check_pcm(conn, pcm, n)

    def _parse_binary(self, conn: _Conn, frame: bytes, n: int) -> bytes | None:
        # §2 Form B: uint32 BE header length, UTF-8 JSON header, raw s16le PCM.
        self.received[conn.index].append(frame)
        if not self._check_form(conn, "binary", n):
            return None
        if len(frame) < 4:
            self.violation(f"conn {conn.index} msg {n}: binary frame shorter than the 4-byte header length")
            return None
        (hlen,) = struct.unpack(">I", frame[:4])
        if 4 + hlen > len(frame):
            self.violation(f"conn {conn.index} msg {n}: header length {hlen} runs past the frame ({len(frame)} B)")
            return None
        try:
            header = json.loads(frame[4 : 4 + hlen].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.violation(f"conn {conn.index} msg {n}: binary header is not UTF-8 JSON")
            return None
        if not isinstance(header, dict):
            self.violation(f"conn {conn.index} msg {n}: binary header is not a JSON object")
            return None
        if extra := set(header) - FORM_B_KEYS:
            self.violation(f"conn {conn.index} msg {n}: unknown header keys {sorted(extra)}")
        ts = header.get("timestamp")
        if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool)):
            self.violation(f"conn {conn.index} msg {n}: 'timestamp' must be integer unix ms, got {ts!r}")
        alt = header.get("alternative_language_codes")
        if alt is not None and not (isinstance(alt, list) and all(isinstance(x, str) for x in alt)):
            self.violation(f"conn {conn.index} msg {n}: 'alternative_language_codes' must be a list of strings")
        if not self._check_config(conn, header, n, form_b=True):
            return None
        return self._check_pcm(conn, frame[4 + hlen :], n)

    def _check_form(self, conn: _Conn, form: str, n: int) -> bool:
        if conn.form is None:
            conn.form = form
        elif conn.form != form:
            self.violation(f"conn {conn.index} msg {n}: switched from {conn.form} frames to {form} frames")
            return False
        return True

    def _check_config(self, conn: _Conn, msg: dict[str, Any], n: int, *, form_b: bool) -> bool:
        """rate/language_code: needed only on the first message, may repeat later (§2), never change."""
        rate, lang = msg.get("rate"), msg.get("language_code")
        first = conn.rate is None
        ok = True
        if rate is not None:
            if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
                self.violation(f"conn {conn.index} msg {n}: 'rate' must be a positive integer, got {rate!r}")
                return False
            if self.strict_rates and rate not in DOCUMENTED_RATES:
                self.violation(f"conn {conn.index} msg {n}: rate {rate} not in documented {DOCUMENTED_RATES}")
                ok = False
        if lang is not None and (not isinstance(lang, str) or not lang):
            self.violation(f"conn {conn.index} msg {n}: 'language_code' must be a non-empty string, got {lang!r}")
            return False
        if first:
            missing = [k for k, v in (("rate", rate), ("language_code", lang)) if v is None]
            if missing and (form_b or self.require_first_config):
                self.violation(f"conn {conn.index} msg 1: first message lacks {missing} (§2: send them first)")
            conn.rate = rate or 16000  # §2 defaults: rate 16000, language "auto"
            conn.language = lang or "auto"
            return ok
        if rate is not None and rate != conn.rate:
            self.violation(f"conn {conn.index} msg {n}: rate changed {conn.rate} -> {rate} mid-connection")
            ok = False
        if lang is not None and lang != conn.language:
            self.violation(f"conn {conn.index} msg {n}: language_code changed {conn.language!r} -> {lang!r}")
            ok = False
        return ok

    def _check_pcm(self, conn: _Conn, pcm: bytes, n: int) -> bytes | None:
        if not pcm:
            self.violation(f"conn {conn.index} msg {n}: empty audio")
            return None
        if len(pcm) % 2:
            self.violation(f"conn {conn.index} msg {n}: {len(pcm)} bytes is not whole s16le samples")
            return None
        return pcm

    # --- transcripts (§2 Server → client) ------------------------------------------------------
    def _words(self, count: int) -> str:
        return " ".join(self.script[(self.word_index + i) % len(self.script)] for i in range(count))

    async def transcribe(self, ws: ServerConnection, conn: _Conn, pcm: bytes) -> bool:
        """Advance the fake recognizer by one chunk; False when the fake closed the connection."""
        assert conn.rate is not None
        seconds = len(pcm) / (conn.rate * 2)  # §2 "Calculating Audio Length": bytes / (rate * 2 * 1)
        if any(pcm):
            conn.silence_seconds = 0.0
            conn.speech_seconds += seconds
            words = int(conn.speech_seconds / 0.5 + 1e-9)
            if words > conn.words_sent:
                conn.words_sent = words
                await self.send(ws, conn, {"type": "partial", "asr_reply": self._words(words),
                                           "clientId": conn.client_id, "time": _now_ms()})  # fmt: skip
        else:
            conn.silence_seconds += seconds
            if conn.speech_seconds and conn.silence_seconds >= self.vad_silence_seconds - 1e-9:
                await self.commit(ws, conn)
        conn.session_seconds += seconds
        if conn.session_seconds >= self.restart_after_seconds - 1e-9:
            # §2 Limits: the upstream session restarts seamlessly; the socket stays open, the
            # utterance in progress carries on.
            conn.session_seconds = 0.0
            await self.send(ws, conn, {"type": "info", "message": "Recognition session restarted",
                                       "clientId": conn.client_id})  # fmt: skip
        timeout = self.silence_timeout_seconds
        if timeout is not None and not conn.speech_seconds and conn.silence_seconds >= timeout - 1e-9:
            # §2 "closes after a period of silence with no detected speech"; close code UNK → 1000.
            await ws.close(self.faults.close_code or 1000)
            return False
        return True

    async def commit(self, ws: ServerConnection, conn: _Conn) -> None:
        words = max(1, math.ceil(conn.speech_seconds / 0.5 - 1e-9))
        message: dict[str, Any] = {"asr_reply": self._words(words), "clientId": conn.client_id, "time": _now_ms()}
        if self.typed:
            message = {"type": "committed", **message}  # §2 Conflict: OM1 clients need "type":"committed"
        self.word_index += words
        conn.speech_seconds = 0.0
        conn.words_sent = 0
        await self.send(ws, conn, message)
