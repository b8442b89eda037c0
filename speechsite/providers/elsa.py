"""ELSA Speak pronunciation assessment over websockets (shared/PROTOCOLS.md section 4).

With an expected text the session is scripted (4a: `ELSA:*` typed messages on
/api/v2/ws/score_audio); without one it is unscripted (4b: a config message without `type`, then
`status`-keyed messages on /api/v1/ws/score_audio_plus). Both take audio as standalone 16 kHz
mono 16-bit WAV files of 0.5 s each and end with `ELSA:end_stream`. ELSA scores the utterance
as a whole and commits nothing before its result, so after a drop the whole utterance is
replayed on the new stream. ELSA cannot transcribe: a transcribe session is refused at open.
Single-file scoring over REST is in elsa_rest.py; the result mapping in elsa_results.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from speechsite.lib.audio import StreamResampler, pcm_seconds, wav_header
from speechsite.providers.base import Assessment, Endpoint, Notice, PartialTranscript, ProviderError
from speechsite.providers.elsa_rest import authorization, check_plan, fetch_result
from speechsite.providers.elsa_results import STATUS_ERRORS, assessment_from, inline_result, status_error
from speechsite.providers.remote import (
    WIRE_LOG,
    RemoteSession,
    ReplayBuffer,
    VendorFault,
    _Chunk,
    websocket_url,
)

log = logging.getLogger(__name__)

SCRIPTED_PATH = "/api/v2/ws/score_audio"
UNSCRIPTED_PATH = "/api/v1/ws/score_audio_plus"
RATE = 16000  # ELSA converts everything to 16 kHz mono 16-bit (4c); we send it that way
BLOCK_SECONDS = 0.5  # the documented sample's slice: one standalone WAV file per 0.5 s
BLOCK_BYTES = int(RATE * BLOCK_SECONDS) * 2
END_STREAM = json.dumps({"type": "ELSA:end_stream"})
# An utterance longer than this loses its start from the replay buffer (unscripted needs > 20 s).
MAX_UTTERANCE_SECONDS = 600.0
RESULT_TIMEOUT = 30.0  # downloading a result_link
# ELSA starts scoring only when the audio ends (unscripted needs the whole attempt): it gets longer
# than other vendors to answer. (The docs' sample gives a whole session 150 s.)
FINISH_TIMEOUT = 30.0
PAUSED = "ELSA paused processing this stream."

# ELSA:error messages are free text [UNK]: sorted by the words they use, first match wins.
ERROR_RULES: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (
        ("rate limit", "too many requests"),
        VendorFault.RETRY, "provider_rate_limited", "ELSA is limiting our request rate",
    ),
    (
        ("unauthori", "forbidden", "authenticat", "token", "api key", "permission", "credential"),
        VendorFault.KEY, "provider_auth_failed", "ELSA rejected the key",
    ),
    (
        ("quota", "credit", "subscription", "exceeded"),
        VendorFault.KEY, "provider_quota_exceeded", "The ELSA quota is used up",
    ),
    (
        ("sentence", "invalid", "unsupported", "bad request", "malformed", "format"),
        VendorFault.FATAL, "provider_rejected_request", "ELSA refused the request",
    ),
)  # fmt: skip
AUTH_ERROR = ERROR_RULES[1][1:]
DEFAULT_ERROR = (VendorFault.RETRY, "provider_error", "ELSA reported an error")
# Scripted messages that need no action (4a): wsConnect at connect, ready after a stream, ACKs.
QUIET = {"ELSA:wsConnect", "ELSA:ready", "ELSA:audioACK", "ELSA:start_stream_result"}


class UtteranceBuffer(ReplayBuffer):
    """Every chunk of the utterance: ELSA commits nothing until it scores the whole attempt."""

    def add(self, start: float, seconds: float, audio: bytes) -> None:
        self.chunks.append(_Chunk(start, seconds, audio))
        while self.chunks and self.chunks[-1].start + seconds - self.chunks[0].start > MAX_UTTERANCE_SECONDS:
            self.chunks.popleft()


def message_of(data: dict[str, Any]) -> str:
    payload = data.get("data") if isinstance(data.get("data"), dict) else {}
    found = data.get("message") or payload.get("message") or data.get("reason") or payload.get("reason") or ""
    return found if isinstance(found, str) else json.dumps(found)


def error_fault(data: dict[str, Any]) -> VendorFault:
    """An `ELSA:error` as a fault: which key, retry or end, by what it says."""
    detail = message_of(data)
    payload = data.get("data") if isinstance(data.get("data"), dict) else {}
    if str(data.get("code", payload.get("code"))) in ("401", "403"):
        action, ours, text = AUTH_ERROR
    else:
        said = detail.lower()
        matches = (rule[1:] for rule in ERROR_RULES if any(word in said for word in rule[0]))
        action, ours, text = next(matches, DEFAULT_ERROR)
    return VendorFault(action, ours, f"{text}: {detail}" if detail else f"{text}.")


class ElsaSession(RemoteSession):
    vendor = "ELSA"
    rate = RATE

    def __init__(self, *args, api_plan: str = "standard", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_plan(api_plan)
        self.api_plan = api_plan
        self.sentence = self.config.expected_text.strip()
        self.scripted = bool(self.sentence)
        self.url = websocket_url(self.base_url, SCRIPTED_PATH if self.scripted else UNSCRIPTED_PATH)
        self.replay = UtteranceBuffer()
        self.pending = bytearray()  # resampled audio not yet a whole 0.5 s block
        self.wav_resampler: StreamResampler | None = None
        self.endpointed = False  # ELSA said stopped_listening: audio after it is ignored
        self.done = False  # the result (or a terminal failure) is in
        self.end_sent = False  # ELSA:end_stream went out on this connection
        self.stream_id = ""
        self.statuses: list[str] = []  # unscripted statuses we did not expect, kept for details
        self.acks = 0

    # --- connection ----------------------------------------------------------------------------
    async def open(self) -> None:
        if self.config.mode != "assess":
            raise ProviderError(
                "assess_only", "ELSA only assesses pronunciation; it cannot transcribe. Choose another provider."
            )
        self.wav_resampler = StreamResampler(self.config.sample_rate, RATE)
        await super().open()

    async def dial(self, secret: str) -> ClientConnection:
        return await connect(
            self.url, additional_headers=authorization(secret), max_size=2**23, open_timeout=None, logger=WIRE_LOG
        )

    async def handshake(self, ws: ClientConnection) -> None:
        self.end_sent = False
        if self.scripted:
            info = {"api_plan": self.api_plan, "sentence": self.sentence}
            await ws.send(json.dumps({"type": "ELSA:start_stream", "data": {"stream_info": info}}))
        else:
            await ws.send(json.dumps({"api_plan": self.api_plan, "return_json": True}))
        while True:
            data = self.parse(await ws.recv())
            if data is None:
                continue
            if self.scripted and data.get("type") == "ELSA:start_stream_result":
                payload = data.get("data") if isinstance(data.get("data"), dict) else {}
                self.stream_id = str(payload.get("stream_id") or "")  # undocumented; kept if given
                return
            if not self.scripted and data.get("status") == "processing" and data.get("stream_id"):
                self.stream_id = str(data["stream_id"])
                return
            self.handle_early(data)

    def handle_early(self, data: dict[str, Any]) -> None:
        """A message before the stream started: errors refuse it; anything else is noted."""
        kind, status = data.get("type"), data.get("status")
        if kind == "ELSA:error":
            raise error_fault(data)
        if status in STATUS_ERRORS:
            error = status_error(data)
            raise VendorFault(VendorFault.FATAL, error.code, error.message)
        if kind == "ELSA:warning":
            self.emit(Notice(f"ELSA: {message_of(data)}"))
        elif status == "paused":
            self.emit(Notice(PAUSED))
        elif status is not None and status not in ("processing", "accepted"):
            self.note_status(data)

    def encode(self, audio: bytes) -> bytes:
        return wav_header(RATE, len(audio)) + audio  # a standalone file: exact sizes in the header

    def closed(self, code: int | None, reason: str) -> VendorFault | None:
        if self.done:
            return None
        if code in (1000, 1001):
            return VendorFault(VendorFault.RETRY, "provider_dropped", "ELSA closed the stream before its result.")
        return super().closed(code, reason)

    # --- audio ---------------------------------------------------------------------------------
    async def send_audio(self, pcm: bytes) -> None:
        if self.done or self.endpointed:
            return  # ELSA has stopped listening; it would ignore this audio
        self.pending += self.wav_resampler.process(pcm)
        while len(self.pending) >= BLOCK_BYTES:
            block = bytes(self.pending[:BLOCK_BYTES])
            del self.pending[:BLOCK_BYTES]
            await self._send_chunk(block, BLOCK_SECONDS)

    async def commit(self) -> None:
        """ELSA has no commit: it scores the utterance when the audio ends or it hears the end."""

    async def finish(self) -> None:
        if self.finishing or self._ended:
            return
        if not (self.done or self.endpointed) and self.wav_resampler is not None:
            self.pending += self.wav_resampler.process(b"", last=True)
            if self.pending:
                block = bytes(self.pending)
                self.pending.clear()
                await self._send_chunk(block, pcm_seconds(len(block), RATE))
        await super().finish()

    async def _give_up_after(self, seconds: float) -> None:
        await super()._give_up_after(max(seconds, FINISH_TIMEOUT))

    async def end_of_audio(self) -> None:
        if self.done or not self.replay.chunks:
            await self.hang_up()  # scored already, or nothing to score
            return
        await self.send_end()

    async def after_replay(self) -> None:
        if self.endpointed:  # the utterance was over before the drop: ask for the result now
            await self.send_end()

    async def send_end(self) -> None:
        if not self.end_sent and self.ws is not None:
            self.end_sent = True
            await self.ws.send(END_STREAM)

    # --- events --------------------------------------------------------------------------------
    def parse(self, message: str | bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.info("ELSA sent something that is not a JSON object: %.80r", message)
            return None
        return data

    async def on_message(self, message: str | bytes) -> None:
        data = self.parse(message)
        if data is None or self.done:
            return
        if "status" in data and "type" not in data:
            await self.on_status(data)
            return
        kind = data.get("type", "")
        if kind == "ELSA:decoding_result":
            await self.on_decoding_result(data.get("data") if isinstance(data.get("data"), dict) else {})
        elif kind == "ELSA:stopped_listening":
            if not self.endpointed:
                self.endpointed = True
                self.emit(Endpoint())
        elif kind == "ELSA:audioACK":
            self.acks += 1
        elif kind == "ELSA:error":
            raise error_fault(data)
        elif kind == "ELSA:warning":
            self.emit(Notice(f"ELSA: {message_of(data)}"))
        elif kind == "ELSA:message":
            log.info("ELSA says: %s", self._clean(message_of(data) or json.dumps(data))[:200])
        elif kind not in QUIET:
            log.info("ELSA sent a message we do not know: %r", kind)

    async def on_decoding_result(self, result: dict[str, Any]) -> None:
        if not result.get("stream_finished"):
            partial = result.get("transcript") or result.get("text")
            if isinstance(partial, str) and partial.strip():
                self.emit(PartialTranscript(partial.strip()))
            return  # a partial result without text says nothing we can show
        await self.conclude(assessment_from(result, self.sentence, {"stream_id": self.stream_id}))

    async def on_status(self, data: dict[str, Any]) -> None:
        """Unscripted (4b): every documented status, and any other kept, never fatal."""
        status = data.get("status")
        if status == "processing":
            if data.get("message"):
                log.debug("ELSA: %s", data["message"])
        elif status == "accepted":
            log.debug("ELSA accepted the stream")
        elif status == "paused":
            self.emit(Notice(PAUSED))
        elif status in STATUS_ERRORS:
            error = status_error(data)
            self.done = True
            raise VendorFault(VendorFault.FATAL, error.code, error.message)
        elif status == "success":
            await self.conclude(await self.success_result(data))
        else:
            self.note_status(data)

    def note_status(self, data: dict[str, Any]) -> None:
        self.statuses.append(str(data.get("status")))
        log.info("ELSA sent a status we do not know: %r", data.get("status"))

    async def success_result(self, data: dict[str, Any]) -> Assessment:
        extra = {"stream_id": self.stream_id, "partial_error": data.get("partial_error"), "statuses": self.statuses}
        result = inline_result(data)
        link = data.get("result_link")
        if result is None and isinstance(link, str) and link:
            try:
                async with httpx.AsyncClient(timeout=RESULT_TIMEOUT) as http:
                    secrets = [credential.secret for credential in self.credentials]
                    result = await fetch_result(http, link, self.secret, self.base_url, self.retry, secrets)
            except ProviderError as error:
                self.done = True
                raise VendorFault(VendorFault.FATAL, error.code, error.message) from None
        if result is None:
            self.done = True
            why = f" ({data['partial_error']})" if data.get("partial_error") else ""
            raise VendorFault(VendorFault.FATAL, "elsa_no_result", f"ELSA finished but sent no result{why}.")
        return assessment_from(result, "", extra)

    async def conclude(self, assessment: Assessment) -> None:
        """The result is in: report it and end the session (later audio has nowhere to go)."""
        self.done = True
        self.finishing = True
        self.emit(assessment)
        await self.hang_up()
