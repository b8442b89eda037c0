"""What every vendor socket shares: keys with failover, reconnects with backoff, and replay.

An adapter subclasses RemoteSession and supplies the protocol: `dial` (open the socket with one
key), `handshake` (the vendor's first exchange), `encode` (one chunk of audio as a frame),
`on_message` (vendor message -> events), `end_of_audio` and `closed` (a close code -> fault).
This base keeps every chunk the vendor has not yet committed, so after a drop (or a failover to
the next key) it reconnects and replays them: the transcript has no hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from speechsite.lib.audio import StreamResampler, pcm_seconds
from speechsite.providers.base import KeyReport, ProviderError, ProviderSession, SessionConfig

log = logging.getLogger(__name__)
# The logger vendor connections use. websockets logs the handshake's headers and query (so the
# vendor key) at DEBUG: those records are dropped here, whatever level logging is set to.
WIRE_LOG = logging.getLogger("speechsite.providers.wire")
WIRE_LOG.addFilter(lambda record: record.levelno > logging.DEBUG)

# A vendor that has not sent its last words this long after the end of audio is given up on.
FINISH_TIMEOUT = 10.0
HANDSHAKE_TIMEOUT = 10.0
DISCARD_TIMEOUT = 0.5
# Uncommitted audio older than this is dropped from the replay buffer: every vendor here commits
# well within it (ElevenLabs auto-commits at 90 s), so only a stuck vendor would let it grow.
MAX_REPLAY_SECONDS = 120.0


@dataclass(frozen=True)
class Credential:
    """One stored key: `ref` lets the consumer find it again; the secret never leaves the session."""

    ref: object
    secret: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 4
    first_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff: first_delay, 2x, 4x ... capped (attempt counts from 1)."""
        return min(self.max_delay, self.first_delay * 2 ** (attempt - 1))


class VendorFault(Exception):
    """What a vendor said or did, sorted by what to do about it."""

    KEY = "key"  # this key is refused (auth, quota, terms): record it and fail over to the next
    RETRY = "retry"  # transient: reconnect with backoff and replay what is uncommitted
    FATAL = "fatal"  # retrying cannot help: end the session

    def __init__(self, action: str, code: str, message: str) -> None:
        super().__init__(message)
        self.action = action
        self.code = code
        self.message = message


@dataclass
class _Chunk:
    start: float  # seconds on the recording's timeline
    seconds: float
    audio: bytes  # at the vendor's rate, before the wire encoding


class ReplayBuffer:
    """Audio sent to the vendor but not yet covered by a committed transcript."""

    def __init__(self) -> None:
        self.chunks: deque[_Chunk] = deque()

    def add(self, start: float, seconds: float, audio: bytes) -> None:
        self.chunks.append(_Chunk(start, seconds, audio))
        while self.chunks and self.chunks[-1].start + seconds - self.chunks[0].start > MAX_REPLAY_SECONDS:
            self.chunks.popleft()

    def committed_until(self, seconds: float) -> None:
        """Forget chunks that end at or before `seconds` (they are in a committed transcript)."""
        while self.chunks and self.chunks[0].start + self.chunks[0].seconds <= seconds + 1e-6:
            self.chunks.popleft()

    @property
    def start(self) -> float | None:
        return self.chunks[0].start if self.chunks else None

    @property
    def seconds(self) -> float:
        return sum(chunk.seconds for chunk in self.chunks)

    def __iter__(self):
        return iter(list(self.chunks))


def websocket_url(base_url: str, path: str) -> str:
    """DESIGN.md section 3: swap http->ws / https->wss on the configured base URL, append the path."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + path


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[key]")
    return text


async def discard(ws: ClientConnection) -> None:
    """Close a connection we are done with without waiting long on a peer that already left.

    (A socket that sent its close frame while we still had frames in flight can otherwise keep
    close() waiting for the full close timeout.)
    """
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(1000), DISCARD_TIMEOUT)
    ws.transport.abort()


class RemoteSession(ProviderSession):
    """One live stream to a vendor over a websocket, surviving drops and refused keys."""

    vendor: ClassVar[str] = "the provider"  # a human name for messages
    rate: int = 16000  # the vendor-side sample rate; an adapter sets it before audio flows

    def __init__(
        self,
        config: SessionConfig,
        credentials: Sequence[Credential],
        base_url: str,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(config)
        if not credentials:
            raise ProviderError("missing_key", f"No active {self.vendor} key is configured.", fatal=False)
        self.credentials = list(credentials)
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self.ws: ClientConnection | None = None
        self.key_index = 0
        self.replay = ReplayBuffer()
        self.received_seconds = 0.0  # input audio so far, on the recording's timeline
        self.connection_start = 0.0  # recording time of the first audio sent on this connection
        self.first_frame = True  # the next frame is the first on this connection
        self.last_committed_text = ""
        self.finishing = False
        self._live = False  # audio may go straight out (not while reconnecting)
        self._lock = asyncio.Lock()  # keeps chunks in order between live sends and a replay
        self._reader: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._resampler: StreamResampler | None = None
        self._ended = False
        self._drops_without_progress = 0
        self._last_key_fault = VendorFault(VendorFault.KEY, "provider_auth_failed", f"{self.vendor} rejected the key.")

    # --- what an adapter supplies --------------------------------------------------------------
    async def dial(self, secret: str) -> ClientConnection:
        raise NotImplementedError

    async def handshake(self, ws: ClientConnection) -> None:
        """The vendor's opening exchange; raise VendorFault if it refuses."""

    def encode(self, audio: bytes) -> str | bytes:
        raise NotImplementedError

    async def on_message(self, message: str | bytes) -> None:
        """Turn one vendor message into events (self.emit); raise VendorFault to recover or end."""
        raise NotImplementedError

    async def end_of_audio(self) -> None:
        """Tell the vendor the audio is over (or close, if it has nothing left to say)."""
        await self.hang_up()

    async def after_replay(self) -> None:
        """Called (holding the send lock) once uncommitted audio has been replayed."""

    def closed(self, code: int | None, reason: str) -> VendorFault | None:
        """How the vendor closed: None for a normal end, else the fault it means."""
        if code in (1000, 1001):
            return None
        return VendorFault(VendorFault.RETRY, "provider_dropped", f"{self.vendor} closed the connection ({code}).")

    def refused(self, status: int, body: str) -> VendorFault:
        """The vendor refused the websocket upgrade with an HTTP status."""
        if status in (401, 403):
            return VendorFault(VendorFault.KEY, "provider_auth_failed", f"{self.vendor} rejected the key.")
        if status == 402:
            return VendorFault(VendorFault.KEY, "provider_quota_exceeded", f"{self.vendor} says the quota is used up.")
        return VendorFault(
            VendorFault.RETRY, "provider_unavailable", f"{self.vendor} refused the connection ({status})."
        )

    # --- helpers for adapters ------------------------------------------------------------------
    def timeline(self, seconds: float) -> float:
        """A vendor time (from this connection's start) on the recording's timeline."""
        return round(self.connection_start + seconds, 3)

    def committed(self, text: str, until: float) -> None:
        """A committed transcript covers the recording up to `until`: stop keeping that audio."""
        self.replay.committed_until(until)
        self._drops_without_progress = 0
        if text:
            self.last_committed_text = text

    @property
    def secret(self) -> str:
        return self.credentials[self.key_index].secret

    async def hang_up(self) -> None:
        if self.ws is not None:
            await self.ws.close(1000)

    # --- ProviderSession -----------------------------------------------------------------------
    async def open(self) -> None:
        self._resampler = StreamResampler(self.config.sample_rate, self.rate)
        await self._connect()
        self._live = True
        self._reader = asyncio.create_task(self._read())

    async def send_audio(self, pcm: bytes) -> None:
        audio = self._resampler.process(pcm)
        await self._send_chunk(audio, pcm_seconds(len(pcm), self.config.sample_rate))

    async def _send_chunk(self, audio: bytes, seconds: float) -> None:
        async with self._lock:
            start = self.received_seconds
            self.received_seconds += seconds
            if not audio:
                return
            self.replay.add(start, seconds, audio)
            if self._live and self.ws is not None:
                with contextlib.suppress(ConnectionClosed):  # the reader sees the drop and replays
                    await self._send_frame(audio)

    async def _send_frame(self, audio: bytes) -> None:
        frame = self.encode(audio)
        self.first_frame = False
        await self.ws.send(frame)

    async def finish(self) -> None:
        if self.finishing or self._ended:
            return
        self.finishing = True
        if self._resampler is not None:
            await self._send_chunk(self._resampler.process(b"", last=True), 0.0)
        if self._live:
            with contextlib.suppress(ConnectionClosed):
                await self.end_of_audio()
        self._watchdog = asyncio.create_task(self._give_up_after(FINISH_TIMEOUT))

    async def _give_up_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self._ended:
            message = f"{self.vendor} did not send its last words in time."
            self.emit(ProviderError("provider_timeout", message, fatal=False))
            await self.close()

    async def close(self) -> None:
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        if self.ws is not None:
            await discard(self.ws)
        self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self.end_events()

    # --- connecting ----------------------------------------------------------------------------
    async def _connect(self) -> None:
        """Connect with the current key: fail over on refused keys, back off on transient faults."""
        attempt = 0
        while True:
            if self.key_index >= len(self.credentials):
                raise ProviderError(
                    self._last_key_fault.code,
                    f"{self._last_key_fault.message} No other {self.vendor} key is left to try.",
                )
            try:
                ws = await asyncio.wait_for(self.dial(self.secret), HANDSHAKE_TIMEOUT)
                try:
                    await asyncio.wait_for(self.handshake(ws), HANDSHAKE_TIMEOUT)
                except BaseException:
                    await ws.close()
                    raise
            except VendorFault as fault:
                problem = fault
            except InvalidStatus as exc:
                body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
                problem = self.refused(exc.response.status_code, body)
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
                problem = VendorFault(VendorFault.RETRY, "provider_unreachable", self._describe(exc))
            else:
                self.ws = ws
                self.first_frame = True
                self.emit(KeyReport(self.credentials[self.key_index].ref))
                return
            if problem.action == VendorFault.KEY:
                self._refuse_key(problem)
                attempt = 0
                continue
            if problem.action == VendorFault.FATAL:
                raise ProviderError(problem.code, self._clean(problem.message))
            attempt += 1
            log.warning("%s: connection attempt %d failed: %s", self.vendor, attempt, self._clean(problem.message))
            if attempt >= self.retry.tries:
                raise ProviderError(
                    "provider_unreachable",
                    f"{self.vendor} could not be reached after {attempt} tries: {self._clean(problem.message)}",
                )
            await asyncio.sleep(self.retry.delay(attempt))

    def _refuse_key(self, fault: VendorFault) -> None:
        message = self._clean(fault.message)
        log.warning("%s refused key #%d: %s", self.vendor, self.key_index + 1, message)
        self.emit(KeyReport(self.credentials[self.key_index].ref, refused=message))
        self._last_key_fault = VendorFault(fault.action, fault.code, message)
        self.key_index += 1

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"{self.vendor} did not answer in time."
        return f"{self.vendor} could not be reached ({type(exc).__name__}: {self._clean(str(exc))})."

    def _clean(self, text: str) -> str:
        return redact(text, [credential.secret for credential in self.credentials])

    # --- reading and recovering ----------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while True:
                fault = await self._read_connection()
                if fault is None:
                    return
                if fault.action == VendorFault.FATAL or self._drops_without_progress >= self.retry.tries:
                    self.emit(ProviderError(fault.code, self._clean(fault.message)))
                    return
                if not await self._recover(fault):
                    return
        finally:
            self._end()

    async def _read_connection(self) -> VendorFault | None:
        """Read until the connection ends; None when it ended as it should."""
        ws = self.ws
        try:
            async for message in ws:
                await self.on_message(message)
        except VendorFault as fault:
            return fault
        except ConnectionClosed:
            pass  # abnormal closes land here; the close code says what happened
        fault = self.closed(ws.close_code, ws.close_reason or "")
        if fault is None:
            if self.finishing:
                return None
            fault = VendorFault(VendorFault.RETRY, "provider_dropped", f"{self.vendor} ended the stream early.")
        if fault.action == VendorFault.RETRY and self.finishing and not self.replay.chunks:
            return None  # nothing is left to hear
        return fault

    async def _recover(self, fault: VendorFault) -> bool:
        """Reconnect (failing over if the key was refused) and replay uncommitted audio."""
        self._drops_without_progress += 1
        async with self._lock:
            self._live = False
        await discard(self.ws)
        if fault.action == VendorFault.KEY:
            self._refuse_key(fault)
        else:
            log.warning("%s: %s Reconnecting.", self.vendor, self._clean(fault.message))
            await asyncio.sleep(self.retry.delay(self._drops_without_progress))
        try:
            await self._connect()
        except ProviderError as error:
            self.emit(error)
            return False
        async with self._lock:
            self.connection_start = self.replay.start if self.replay.start is not None else self.received_seconds
            try:
                for chunk in self.replay:
                    await self._send_frame(chunk.audio)
                await self.after_replay()
            except ConnectionClosed:
                return True  # the next read sees the drop and tries again
            self._live = True
        if self.finishing:
            with contextlib.suppress(ConnectionClosed):
                await self.end_of_audio()
        return True
