"""A benchmark client for /ws/speech/: real-time pacing and timestamped events.

Audio is paced like a microphone: each 100 ms chunk is sent when it would have been captured
(at the end of its span), so the server never gets audio ahead of real time, and a `stop` or
`commit` sent right after the last chunk makes the server decode that chunk too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bench.fixtures import BYTES_PER_SECOND, Sentence, silence

CHUNK_BYTES = 3200  # 100 ms of 16 kHz PCM16
EVENT_TIMEOUT = 10.0  # seconds to wait for any one expected server event


@dataclass(frozen=True)
class Target:
    ws_url: str
    origin: str
    sessionid: str

    def open(self) -> connect:
        return connect(
            self.ws_url,
            additional_headers={"Origin": self.origin, "Cookie": f"sessionid={self.sessionid}"},
            max_size=2**24,
            open_timeout=EVENT_TIMEOUT,
            close_timeout=5,
            ping_interval=None,  # keepalive pings would only add noise to a short benchmark
        )


OnEvent = Callable[[float, dict], None]


class Events:
    """Reads a socket in the background, timestamping each JSON event with perf_counter()."""

    def __init__(self, ws: ClientConnection, on_event: OnEvent | None = None) -> None:
        self.ws = ws
        self.on_event = on_event
        self.log: list[tuple[float, dict]] = []
        self.started = asyncio.Event()
        self.ended = asyncio.Event()  # session_ended, a fatal error, or the socket closed
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                if isinstance(raw, bytes):
                    continue
                event = json.loads(raw)
                self.log.append((now, event))
                if self.on_event is not None:
                    self.on_event(now, event)
                kind = event.get("type")
                if kind == "session_started":
                    self.started.set()
                if kind == "session_ended" or (kind == "error" and event.get("fatal")):
                    return
        except (websockets.ConnectionClosed, ValueError):
            pass  # a closed socket or a non-JSON frame ends the read; the caller sees what came
        finally:
            self.ended.set()

    def of(self, kind: str) -> list[tuple[float, dict]]:
        return [(t, e) for t, e in self.log if e.get("type") == kind]

    @property
    def errors(self) -> list[dict]:
        return [e for _, e in self.of("error")]

    async def close(self) -> None:
        await wait(self.ended, EVENT_TIMEOUT)
        self.task.cancel()


async def wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


class Pacer:
    """Sends audio in 100 ms chunks at `speed` x real time; `sent` is the audio sent so far (s)."""

    def __init__(self, ws: ClientConnection, speed: float = 1.0) -> None:
        self.ws = ws
        self.speed = speed
        self.sent = 0.0
        self.t0 = time.perf_counter()

    async def send(self, pcm: bytes) -> float:
        for offset in range(0, len(pcm), CHUNK_BYTES):
            chunk = pcm[offset : offset + CHUNK_BYTES]
            end = self.sent + len(chunk) / BYTES_PER_SECOND
            delay = self.t0 + end / self.speed - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.ws.send(chunk)
            self.sent = end
        return self.sent


async def start(ws: ClientConnection, events: Events, **options: object) -> None:
    await ws.send(json.dumps({"type": "start", "format": "json", **options}))
    # Wait for the session so that server set-up (database row, WAV file) is not counted as lag.
    if not await wait(events.started, EVENT_TIMEOUT) or not events.of("session_started"):
        raise RuntimeError(f"no session_started; got {[e for _, e in events.log]!r:.300}")


@dataclass
class StopRun:
    """One sentence streamed on its own socket and ended with `stop`."""

    name: str
    stop_latency_s: float | None = None  # stop sent -> first committed_transcript after it
    ended_after_stop_s: float | None = None  # stop sent -> session_ended
    partial_intervals_s: list[float] = field(default_factory=list)  # wall clock
    partial_audio_intervals_s: list[float] = field(default_factory=list)  # audio sent in between
    partial_audio_at_s: list[float] = field(default_factory=list)  # audio sent when each partial came
    texts: list[str] = field(default_factory=list)  # every committed text, in order
    commits_before_stop: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(t for t in self.texts if t)


async def stop_run(target: Target, sentence: Sentence, *, trailing_ms: int = 200, speed: float = 1.0) -> StopRun:
    run = StopRun(sentence.name)
    pacer: Pacer | None = None
    partials: list[tuple[float, float]] = []  # (received at, audio sent by then)

    def on_event(now: float, event: dict) -> None:
        if event.get("type") == "partial_transcript" and pacer is not None:
            partials.append((now, pacer.sent))

    async with target.open() as ws:
        events = Events(ws, on_event)
        await start(ws, events)
        pacer = Pacer(ws, speed)
        await pacer.send(sentence.pcm + silence(trailing_ms))
        stop_at = time.perf_counter()
        await ws.send(json.dumps({"type": "stop"}))
        await events.close()
    # Only partials while audio was still going out: after `stop` no more are due.
    before_stop = [p for p in partials if p[0] < stop_at]
    run.partial_intervals_s = [b[0] - a[0] for a, b in itertools.pairwise(before_stop)]
    run.partial_audio_intervals_s = [round(b[1] - a[1], 3) for a, b in itertools.pairwise(before_stop)]
    run.partial_audio_at_s = [round(p[1], 3) for p in before_stop]
    for t, event in events.of("committed_transcript"):
        run.texts.append(str(event.get("text", "")).strip())
        if t < stop_at:
            run.commits_before_stop += 1
        elif run.stop_latency_s is None:
            run.stop_latency_s = t - stop_at
    ended = events.of("session_ended")
    run.ended_after_stop_s = ended[0][0] - stop_at if ended else None
    run.errors = events.errors
    return run


@dataclass
class LoadStream:
    """One of N concurrent manual-commit streams: sentences back to back, a commit after each."""

    lags_s: list[float] = field(default_factory=list)  # commit sent -> its committed_transcript
    lag_at_s: list[float] = field(default_factory=list)  # audio position of each of those commits
    commits: int = 0
    missing: int = 0  # commits whose transcript never came (within the drain timeout)
    unmatched: int = 0  # transcripts that matched no commit
    audio_s: float = 0.0
    errors: list[dict] = field(default_factory=list)
    failure: str | None = None  # the stream could not run at all


async def load_stream(
    target: Target, sentences: list[Sentence], *, seconds: float, delay: float, first: int, drain_s: float = 10.0
) -> LoadStream:
    result = LoadStream()
    commits: list[list[float | None]] = []  # [audio position, sent at, lag]

    def on_event(now: float, event: dict) -> None:
        if event.get("type") != "committed_transcript":
            return
        # Word times are seconds of this stream's audio, so the transcript belongs to the first
        # open commit at or after its end (a commit that produced no words is skipped over).
        end = float(event.get("end") or 0.0)
        for commit in commits:
            if commit[2] is None and commit[0] >= end - 0.05:
                commit[2] = now - commit[1]
                return
        result.unmatched += 1

    try:
        await asyncio.sleep(delay)
        async with target.open() as ws:
            events = Events(ws, on_event)
            await start(ws, events, commit_strategy="manual")
            pacer, position, index = Pacer(ws), 0.0, first
            while position < seconds and not events.ended.is_set():
                position = await pacer.send(sentences[index % len(sentences)].pcm)
                index += 1
                commits.append([position, time.perf_counter(), None])
                await ws.send(json.dumps({"type": "commit"}))
            deadline = time.perf_counter() + drain_s
            while any(c[2] is None for c in commits) and time.perf_counter() < deadline and not events.ended.is_set():
                await asyncio.sleep(0.02)
            await ws.send(json.dumps({"type": "stop"}))
            await events.close()
            result.errors = events.errors
            result.audio_s = position
    except (TimeoutError, OSError, RuntimeError, websockets.WebSocketException) as exc:
        result.failure = f"{type(exc).__name__}: {exc}"[:200]
    result.commits = len(commits)
    result.lags_s = [c[2] for c in commits if c[2] is not None]
    result.lag_at_s = [round(c[0], 3) for c in commits if c[2] is not None]
    result.missing = result.commits - len(result.lags_s)
    return result
