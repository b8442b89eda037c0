"""The load generator of `python -m bench relay`: N sessions of stamped 100 ms chunks in real time.

One asyncio process drives every session. Each chunk is sent when it would have been captured
(a microphone's pace); its send time (time.monotonic(), system-wide on Linux, so comparable
with the fake provider's receipt stamps) and how late the send was (pacing slip) are kept.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench.fake_provider import stamp

CHUNK_SECONDS = 0.1
EVENT_TIMEOUT = 15.0  # seconds to wait for session_started
# After a stop: long enough for a middle that fell behind to work off its backlog, so its late
# chunks are measured (as late) instead of cut off and counted as lost.
DRAIN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Route:
    """Where the clients connect and which protocol they speak there."""

    name: str
    url: str
    headers: dict[str, str]
    start: dict | None  # our start message; None = speak ElevenLabs directly (the zero-hop baseline)

    @property
    def direct(self) -> bool:
        return self.start is None

    def open(self) -> connect:
        return connect(
            self.url,
            additional_headers=self.headers,
            compression=None,  # daphne does not negotiate permessage-deflate; keep every path alike
            ping_interval=None,
            open_timeout=EVENT_TIMEOUT,
            close_timeout=5,
            max_size=2**22,
        )

    def audio(self, pcm: bytes) -> bytes | str:
        if not self.direct:
            return pcm
        return elevenlabs_chunk(base64.b64encode(pcm).decode(), False)

    def stop(self) -> str:
        return elevenlabs_chunk("", True) if self.direct else json.dumps({"type": "stop"})


def elevenlabs_chunk(audio_b64: str, commit: bool) -> str:
    return json.dumps(
        {"message_type": "input_audio_chunk", "audio_base_64": audio_b64, "commit": commit, "sample_rate": 16000}
    )


@dataclass
class Stream:
    session: int
    sent: list[float] = field(default_factory=list)  # monotonic send time of chunk `seq` at index seq
    slip: list[float] = field(default_factory=list)  # send time minus scheduled time, s
    events: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    failure: str | None = None
    clean_end: bool = False  # session_ended (ours) or the committed transcript (direct) arrived


class Reader:
    """Reads one socket in the background: counts events, notes the start and the end."""

    def __init__(self, ws: ClientConnection, route: Route, stream: Stream) -> None:
        self.stream = stream
        # The direct baseline ends at the committed transcript; our protocol at session_ended.
        self.end = "committed_transcript" if route.direct else "session_ended"
        self.started = asyncio.Event()
        self.done = asyncio.Event()
        self.task = asyncio.create_task(self._read(ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                event = json.loads(raw)
                kind = event.get("type") or event.get("message_type")
                self.stream.events[kind] += 1
                if kind == "session_started":
                    self.started.set()
                elif kind == "error" or "error" in event:
                    self.stream.errors.append(json.dumps(event)[:200])
                    self.started.set()  # an error before the start fails fast instead of timing out
                elif kind == self.end:
                    self.stream.clean_end = True
                    return
        except (WebSocketException, ValueError):
            pass
        finally:
            self.started.set()
            self.done.set()


async def stream_one(route: Route, session: int, start_at: float, seconds: float) -> Stream:
    stream = Stream(session)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    phase = "connect"  # named in the failure: a timeout alone does not say where it happened
    try:
        async with route.open() as ws:
            phase = "start"
            reader = Reader(ws, route, stream)
            if route.start is not None:
                await ws.send(json.dumps(route.start))
            await asyncio.wait_for(reader.started.wait(), EVENT_TIMEOUT)
            if stream.events["session_started"] == 0:
                raise RuntimeError(f"no session_started: {stream.errors[:1] or 'socket closed'}")
            phase, t0 = "stream", time.monotonic()
            for seq in range(round(seconds / CHUNK_SECONDS)):
                due = t0 + (seq + 1) * CHUNK_SECONDS  # a chunk exists once its 100 ms are captured
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                payload = route.audio(stamp(session, seq))
                now = time.monotonic()
                stream.sent.append(now)
                stream.slip.append(now - due)
                await ws.send(payload)
                if reader.done.is_set():
                    raise RuntimeError(f"closed mid-stream: {stream.errors[:1]}")
            phase = "drain after stop"
            await ws.send(route.stop())
            await asyncio.wait_for(reader.done.wait(), DRAIN_TIMEOUT)
            reader.task.cancel()
    except (TimeoutError, OSError, RuntimeError, WebSocketException) as exc:
        stream.failure = f"{phase}: {type(exc).__name__}: {exc}"[:200]
    return stream


async def run_load(
    route: Route,
    sessions: int,
    seconds: float,
    ramp: float,
    marks: dict[str, float],
    sample: Callable[[str], Awaitable[None]],
) -> list[Stream]:
    """All sessions, started evenly over `ramp` seconds. `marks` are offsets from the start at
    which `sample(name)` is awaited (CPU snapshots), besides "begin" and "end"."""
    t0 = time.monotonic() + 0.2
    await asyncio.sleep(0.2)
    await sample("begin")

    async def mark(name: str, offset: float) -> None:
        await asyncio.sleep(max(0.0, t0 + offset - time.monotonic()))
        await sample(name)

    marking = [asyncio.create_task(mark(name, offset)) for name, offset in marks.items()]
    streams = await asyncio.wait_for(
        asyncio.gather(*(stream_one(route, i, t0 + i * ramp / sessions, seconds) for i in range(sessions))),
        ramp + seconds + 2 * EVENT_TIMEOUT + DRAIN_TIMEOUT,
    )
    await asyncio.gather(*marking)
    await sample("end")
    return list(streams)
