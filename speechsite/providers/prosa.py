"""Prosa Speech-to-Text streaming (shared/PROTOCOLS.md section 3).

The key goes in the `x-api-key` upgrade header (or, optionally, as a first `{"token": ...}`
message); a configuration message comes before any audio and the server answers `created`.
Audio goes as binary frames with a WAV header in the first one of each connection, and one
empty binary frame ends it; the server sends its last results and closes with 1000. Results
carry segment times but no word timings; errors come mostly as close codes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from speechsite.lib.audio import wav_header
from speechsite.providers.base import CommittedTranscript, Notice, PartialTranscript, ProviderError
from speechsite.providers.remote import WIRE_LOG, RemoteSession, VendorFault, websocket_url

log = logging.getLogger(__name__)

PATH = "/v2/speech/stt"
MODEL = "stt-general-online"  # the one documented streaming model
LABEL = "speechsite"
AUTH_MODES = ("header", "token")
# Prosa documents no accepted rates: the client's own rate goes out (declared in the config and the
# WAV header) when it is one of these common ones; anything else is resampled to 16 kHz.
RATES = (8000, 16000, 22050, 24000, 44100, 48000)
FALLBACK_RATE = 16000
# The data size in our WAV header: the stream's length is not known up front, and a size of 0
# would tell a strict decoder there is no audio at all. This makes the RIFF size 0xFFFFFFFF,
# the usual "unknown length" marker of streamed WAV.
STREAMING_DATA_BYTES = 0xFFFFFFFF - 36

# Close code -> (what to do, our code, what to tell the user); PROTOCOLS.md section 3 "Close codes".
CLOSES: dict[int, tuple[str, str, str]] = {
    4000: (VendorFault.KEY, "provider_auth_failed", "Prosa rejected the key"),
    4001: (VendorFault.FATAL, "provider_rejected_request", "Prosa refused the stream configuration"),
    4002: (VendorFault.FATAL, "provider_invalid_model", "Prosa does not offer the requested model"),
    4005: (VendorFault.KEY, "provider_quota_exceeded", "The Prosa quota is used up"),
    4029: (VendorFault.RETRY, "provider_rate_limited", "Prosa is limiting our request rate"),
}  # fmt: skip
INTERNAL = (VendorFault.RETRY, "provider_error", "Prosa had an internal server error")
# No close frame at all (1006, or None before the close handshake finished): the connection dropped.
DROPPED = (None, 1006)


class ProsaSession(RemoteSession):
    vendor = "Prosa"

    def __init__(self, *args, auth: str = "header", model: str = MODEL, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if auth not in AUTH_MODES:
            raise ProviderError("invalid_option", f"Unknown Prosa auth mode {auth!r}.", fatal=False)
        self.auth = auth
        self.model = model
        self.rate = self.config.sample_rate if self.config.sample_rate in RATES else FALLBACK_RATE
        self.url = websocket_url(self.base_url, PATH)
        self.end_sent = False  # the empty end-of-stream frame went out on this connection
        self.cut_off = False  # this connection's metadata says Prosa hit its maximum duration

    # --- connection ----------------------------------------------------------------------------
    async def dial(self, secret: str) -> ClientConnection:
        headers = {"x-api-key": secret} if self.auth == "header" else {}
        return await connect(self.url, additional_headers=headers, open_timeout=None, logger=WIRE_LOG)

    def configuration(self) -> dict[str, Any]:
        # Every field is explicit: Prosa's defaults are undocumented and format detection is not
        # something to rely on.
        return {
            "label": LABEL,
            "model": self.model,
            "include_partial": True,
            "include_filler": False,
            "audio": {"format": "wav", "channels": 1, "sample_rate": self.rate},
        }

    async def handshake(self, ws: ClientConnection) -> None:
        self.end_sent = self.cut_off = False
        try:
            if self.auth == "token":
                await ws.send(json.dumps({"token": self.secret}))
            await ws.send(json.dumps(self.configuration()))
            while True:
                data = json.loads(await ws.recv())
                if data.get("type") == "created":
                    return
                self.handle(data)  # a status, or a fault before the job started
        except ConnectionClosed:
            # Prosa refuses a key, a configuration or a model by closing, before `created`.
            fault = self.closed(ws.close_code, ws.close_reason or "")
            raise fault or VendorFault(
                VendorFault.RETRY, "provider_dropped", "Prosa closed the connection before the stream started."
            ) from None

    def encode(self, audio: bytes) -> bytes:
        if self.first_frame:  # the container header goes only in a connection's first chunk
            return wav_header(self.rate, STREAMING_DATA_BYTES) + audio
        return audio

    async def commit(self) -> None:
        """Prosa segments on its own (its VAD closes a `result`); the protocol has no commit message."""

    async def end_of_audio(self) -> None:
        # Exactly one empty frame per connection: a second one (or audio after it) breaks the stream.
        if self.end_sent or self.ws is None:
            return
        self.end_sent = True
        await self.ws.send(b"")

    def closed(self, code: int | None, reason: str) -> VendorFault | None:
        if code == 1000:
            if self.end_sent and not self.cut_off:
                return None  # the normal end, after our empty frame
            # Prosa stopped before hearing everything: whatever is uncommitted goes to a new session.
            why = "reached its maximum session length" if self.cut_off else "ended the stream early"
            return VendorFault(VendorFault.RETRY, "provider_dropped", f"Prosa {why}.")
        if code in DROPPED:
            return VendorFault(VendorFault.RETRY, "provider_dropped", "The connection to Prosa dropped.")
        action, our_code, text = CLOSES.get(code, INTERNAL)
        detail = f"close code {code}" + (f": {reason}" if reason else "")
        return VendorFault(action, our_code, f"{text} ({detail}).")

    # --- events --------------------------------------------------------------------------------
    async def on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict):  # not part of the protocol: not worth ending the stream over
            log.info("Prosa sent something that is not a JSON object: %.80r", message)
            return
        self.handle(data)

    def handle(self, data: dict[str, Any]) -> None:
        kind = data.get("type", "")
        if kind == "partial":
            if data.get("transcript"):
                self.emit(PartialTranscript(data["transcript"]))
        elif kind == "result":
            self.result(data)
        elif kind == "status":
            if data.get("status") == "failed":
                raise VendorFault(VendorFault.RETRY, "provider_error", "Prosa reports the transcription failed.")
        elif kind == "quota":
            # The closing quota alert: this key is spent; the next one takes over from the replay.
            raise VendorFault(VendorFault.KEY, "provider_quota_exceeded", "The Prosa quota is used up.")
        elif kind == "error":  # seen only in a third-party client; Prosa normally uses close codes
            detail = data.get("message") or ""
            text = "Prosa reported an error"
            raise VendorFault(VendorFault.RETRY, "provider_error", f"{text}: {detail}" if detail else f"{text}.")
        elif kind == "metadata":
            log.debug("Prosa metadata: %r", data)
            if data.get("max_reached"):
                self.cut_off = True
                limit = data.get("max_duration")
                limit_text = f" ({limit:g} s)" if isinstance(limit, int | float) else ""
                self.emit(Notice(f"Prosa reached its maximum session length{limit_text}; going on in a new session."))
        elif kind != "created":
            log.info("Prosa sent a message we do not know: %r", kind)

    def result(self, data: dict[str, Any]) -> None:
        text = (data.get("transcript") or "").strip()
        start = self.timeline(float(data.get("time_start") or 0.0))
        # Without an end time, only the audio before the segment is known to be done.
        time_end = data.get("time_end")
        end = self.timeline(float(time_end)) if isinstance(time_end, int | float) else start
        if text:
            self.emit(CommittedTranscript(text=text, start=start, end=max(start, end)))
        self.committed(text, end)
