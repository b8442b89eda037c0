"""OpenMind's ElevenLabs ASR proxy (shared/PROTOCOLS.md section 2).

The key goes in the `api_key` query parameter; audio goes as base64 JSON (form A) with the rate
and language on each connection's first message. The proxy segments speech itself (its VAD) and
sends no timestamps, and there is no commit or end-of-stream message. So segment times are
estimated from how much audio had been sent when a reply arrived, and at the end of audio we pad
with silence until the proxy commits the last words (or keep its last partial if it never does).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote_plus, urlencode

from websockets.asyncio.client import ClientConnection, connect

from speechsite.lib.audio import pcm_seconds, to_base64
from speechsite.providers.base import CommittedTranscript, Notice, PartialTranscript, ProviderError
from speechsite.providers.pauses import PauseDetector
from speechsite.providers.remote import WIRE_LOG, RemoteSession, VendorFault, redact, websocket_url

log = logging.getLogger(__name__)

PATH = "/api/core/elevenlabs/asr"
RATES = (8000, 16000, 22050, 44100)  # documented; any other client rate is resampled to 16000
DEFAULT_RATE = 16000
# A commit arrives once the proxy's VAD has heard the silence after the words, so it covers the
# audio sent by then minus the reply's latency, for which we allow 1 s. With ElevenLabs' default
# 1.5 s of VAD silence, the replay after a drop then repeats a little silence, never words.
REPLY_LATENCY = 1.0
# The first partial of an utterance comes after a word or so of speech (and the reply's latency).
FIRST_PARTIAL_DELAY = 1.0
# End of audio: enough silence for the proxy's VAD to commit (ElevenLabs allows at most 3 s),
# in chunks of the documented 0.1-1 s; then how long the commit may take before we give up on it.
FLUSH_SILENCE = 3.0
FLUSH_CHUNK = 0.5
COMMIT_WAIT = 3.0
# Voice this close to the end of audio may not have had its first partial yet: pad for it too.
RECENT_VOICE = 1.5
# A clean close after this much audio with no words pending is the proxy's close after silence.
IDLE_CLOSE_AFTER = 1.0
RESTART_NOTICE = "OpenMind restarted its recognition session (it does so every 5 minutes); transcription goes on."

# Errors are "Speech recognition error: <details>", the details being ElevenLabs' own error
# (PROTOCOLS.md section 1) in no guaranteed wording, so we look for telling words, first match
# wins. Key trouble fails over to the next key; refused audio or requests end the session (a
# replay would send the same again); anything else is the proxy's upstream session failing,
# which a reconnect and replay gets past. Throttled commits (we never commit) are only a warning.
KEY, RETRY, FATAL = VendorFault.KEY, VendorFault.RETRY, VendorFault.FATAL
WARNINGS = {"throttl": ("provider_commit_throttled", "OpenMind asked us to commit less often")}
ERRORS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("auth", "api key", "unauthorized", "forbidden"), KEY, "provider_auth_failed", "OpenMind rejected the key"),
    (("quota", "credit", "billing", "payment"), KEY, "provider_quota_exceeded", "The OpenMind quota is used up"),
    (("terms",), KEY, "provider_terms_not_accepted", "The account has not accepted the terms of service"),
    (("input error", "chunk size"), FATAL, "provider_rejected_audio", "OpenMind could not use our audio"),
    (("invalid request", "bad request"), FATAL, "provider_rejected_request", "OpenMind refused the request"),
    (("rate limit", "too many"), RETRY, "provider_rate_limited", "OpenMind is limiting our request rate"),
    (("queue overflow", "exhausted", "overload", "capacity"), RETRY, "provider_busy", "OpenMind is overloaded"),
    (("time limit",), RETRY, "provider_session_limit", "The OpenMind session reached its time limit"),
    (("insufficient audio", "inactiv"), RETRY, "provider_idle_timeout", "OpenMind stopped for lack of speech"),
)
OTHER_ERROR = (RETRY, "provider_error", "OpenMind reported an error")
NOT_TRANSCRIPTS = {"partial", "connection", "info", "error"}


def classify(message: str) -> tuple[str, str, str]:
    """(action, our code, human text) for an error message; action "warning" goes on."""
    words = message.lower().replace("_", " ")
    for word, (code, text) in WARNINGS.items():
        if word in words:
            return "warning", code, text
    for needles, action, code, text in ERRORS:
        if any(needle in words for needle in needles):
            return action, code, text
    return OTHER_ERROR


class OpenMindSession(RemoteSession):
    vendor = "OpenMind"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rate = self.config.sample_rate if self.config.sample_rate in RATES else DEFAULT_RATE
        self.language = self.config.language or "auto"  # the proxy's default is detection
        self.url = websocket_url(self.base_url, PATH)
        self.sent_until = 0.0  # recording time of the end of the audio sent on this connection
        self.partial = ""  # the last partial since the last commit: words still pending
        self.utterance_start: float | None = None
        self.segment_end = 0.0
        self.unanswered = False  # replayed audio the proxy has not said anything about yet
        self.padded = False  # end-of-audio silence went out on this connection
        self.hung_up = False  # we closed this connection
        self.pauses = PauseDetector(self.config.sample_rate)
        self._flush: asyncio.Task | None = None

    # --- connection ----------------------------------------------------------------------------
    async def dial(self, secret: str) -> ClientConnection:
        url = self.url + "?" + urlencode({"api_key": secret})
        return await connect(url, max_size=2**22, open_timeout=None, logger=WIRE_LOG)

    async def handshake(self, ws: ClientConnection) -> None:
        self._cancel_flush()  # a wait for the last words on the connection before is over
        self.padded = self.unanswered = self.hung_up = False
        while True:  # the proxy greets first (bounded by the base's handshake timeout)
            data = self.parse(await ws.recv())
            if data.get("type") == "connection":
                return
            if data.get("type") == "error":
                raise self.fault(str(data.get("message") or ""))

    def refused(self, status: int, body: str) -> VendorFault:
        if status not in (401, 403):
            return super().refused(status, body)
        try:
            detail = str(json.loads(body).get("error") or "")
        except (ValueError, AttributeError):
            detail = body.strip()[:200]
        text = "OpenMind rejected the key"
        return VendorFault(VendorFault.KEY, "provider_auth_failed", f"{text}: {detail}" if detail else f"{text}.")

    def _clean(self, text: str) -> str:
        # The key also travels URL-encoded in the query: redact that spelling too.
        return redact(super()._clean(text), [quote_plus(credential.secret) for credential in self.credentials])

    def encode(self, audio: bytes) -> str:
        if self.first_frame:
            self.sent_until = self.connection_start
        self.sent_until += pcm_seconds(len(audio), self.rate)
        return self.message(audio)

    def message(self, audio: bytes) -> str:
        payload: dict[str, Any] = {"audio": to_base64(audio)}
        if self.first_frame:
            payload.update(rate=self.rate, language_code=self.language)
        return json.dumps(payload)

    async def send_audio(self, pcm: bytes) -> None:
        await super().send_audio(pcm)
        self.pauses.feed(pcm)

    async def commit(self) -> None:
        """Nothing to send: the proxy has no commit message and segments on its own."""

    async def after_replay(self) -> None:
        self.unanswered = bool(self.replay.chunks)

    @property
    def pending(self) -> bool:
        """The proxy may still owe us words."""
        return bool(self.partial) or self.unanswered

    # --- end of audio --------------------------------------------------------------------------
    async def end_of_audio(self) -> None:
        self._cancel_flush()
        voiced_lately = self.pauses.pause_seconds < min(RECENT_VOICE, self.received_seconds - 0.05)
        if not (self.pending or voiced_lately):
            await self.hang_up()  # everything said is committed
            return
        # Silence makes the proxy's VAD commit. It is not part of the recording: not kept for
        # replay and not on the timeline (a reconnect replays the audio and calls us again).
        zeros = bytes(int(FLUSH_CHUNK * self.rate) * 2)
        for _ in range(round(FLUSH_SILENCE / FLUSH_CHUNK)):
            frame = self.message(zeros)
            self.first_frame = False
            await self.ws.send(frame)
        self.padded = True
        self._flush = asyncio.create_task(self._keep_partial_after(COMMIT_WAIT))

    async def _keep_partial_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._flush = None
        if self.partial:
            log.info("OpenMind did not commit the last words; keeping its last partial.")
        self.keep_partial()
        self.unanswered = False  # nothing came of the replay: it was silence
        await self.hang_up()

    def _cancel_flush(self) -> None:
        task, self._flush = self._flush, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def close(self) -> None:
        self._cancel_flush()
        await super().close()

    async def hang_up(self) -> None:
        self.hung_up = True
        await super().hang_up()

    def closed(self, code: int | None, reason: str) -> VendorFault | None:
        self._cancel_flush()
        heard_here = self.sent_until - self.connection_start
        if not (self.partial or self.hung_up) and code not in (None, 1006) and heard_here >= IDLE_CLOSE_AFTER:
            # The proxy closes after a while without speech (close code undocumented). What it
            # heard was silence: no need to replay it, and no failure that counts towards giving up.
            self.unanswered = False
            self.committed("", self.sent_until - REPLY_LATENCY)
            if self.finishing:
                return None
            return VendorFault(VendorFault.RETRY, "provider_idle_timeout", "OpenMind closed the connection in silence.")
        dropped = VendorFault(VendorFault.RETRY, "provider_dropped", f"OpenMind closed the connection ({code}).")
        if not self.finishing:
            return dropped
        # A normal end, unless words may be owed or the proxy broke off: then reconnect, replay, pad again.
        if self.replay.chunks and (self.pending or not (self.hung_up or code in (1000, 1001))):
            return dropped
        self.keep_partial()
        return None

    # --- events --------------------------------------------------------------------------------
    def parse(self, message: str | bytes) -> dict[str, Any]:
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.info("OpenMind sent a message that is not a JSON object; ignored.")
            return {}
        return data

    async def on_message(self, message: str | bytes) -> None:
        data = self.parse(message)
        kind = data.get("type")
        text = str(data.get("asr_reply") or "").strip()
        # Committed is documented without a type; the live proxy sends "committed" (PROTOCOLS.md).
        final = "asr_reply" in data and kind not in NOT_TRANSCRIPTS
        replayed = self.unanswered
        if kind == "partial" or final:
            self.unanswered = False
        if kind == "partial":
            if text:
                if self.utterance_start is None:
                    # Replayed audio went out in a burst: all we know is the utterance is in it.
                    self.utterance_start = self.connection_start if replayed else self.sent_until - FIRST_PARTIAL_DELAY
                self.partial = text
                self.emit(PartialTranscript(text))
        elif final:
            # Once padded, the proxy had all the audio; otherwise allow for the reply's latency.
            heard = self.sent_until if self.padded else max(self.segment_end, self.sent_until - REPLY_LATENCY)
            self.commit_segment(text, heard)
            if self.finishing and self.padded:
                self._cancel_flush()
                await self.hang_up()  # the last words are in
        elif kind == "info":
            info = str(data.get("message") or "")
            self.emit(Notice(RESTART_NOTICE if "restart" in info.lower() else f"OpenMind: {info}"))
        elif kind == "error":
            detail = str(data.get("message") or "")
            action, code, human = classify(detail)
            if action != "warning":
                self._cancel_flush()
                raise self.fault(detail)
            self.emit(ProviderError(code, f"{human}: {detail}", fatal=False))
        elif kind != "connection":
            log.info("OpenMind sent a message we do not know: %r", kind)

    def keep_partial(self) -> None:
        """The proxy will not commit the pending words: keep them as its last partial gave them."""
        if self.partial:
            self.commit_segment(self.partial, self.received_seconds)

    def commit_segment(self, text: str, heard: float) -> None:
        """A segment ending at `heard` on the recording's timeline: the audio up to it is done."""
        start = self.utterance_start if self.utterance_start is not None else heard - FIRST_PARTIAL_DELAY
        start = min(max(start, self.segment_end), heard)
        if text:
            self.emit(CommittedTranscript(text=text, start=round(start, 3), end=round(heard, 3)))
        self.segment_end = max(self.segment_end, heard)
        self.partial = ""
        self.utterance_start = None
        self.committed(text, heard)

    def fault(self, message: str) -> VendorFault:
        action, code, text = classify(message)
        if action == "warning":  # seen before the greeting: the connection is no good
            action = VendorFault.RETRY
        return VendorFault(action, code, f"{text}: {message}" if message else f"{text}.")
