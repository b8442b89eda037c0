"""A lean fake ElevenLabs realtime server for `python -m bench relay`, run in its own process.

Unlike tests/fakes/elevenlabs.py it checks nothing: it must cost little CPU so that it does not
skew the measurement of the process in front of it. It records when each stamped chunk arrives
(see `stamp`), answers every 10 chunks with a partial and every commit with a committed
transcript, and tolerates any query parameters and chunk keys (e.g. `previous_text`).

Run as `python -m bench.fake_provider [--port N]`: it prints `ready PORT`, then obeys lines on
stdin: `dump PATH` writes the arrivals so far to PATH (and forgets them), answering `dumped N`;
end of input stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import struct
import sys
import threading
import time
import uuid
from array import array
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

CHUNK_BYTES = 3200  # 100 ms of 16 kHz mono PCM16
# Stamped into the first bytes of each client chunk; the rest is zeros (digital silence), which
# never contains MAGIC, so the fake finds stamps even if a relay merged chunks together.
MAGIC = b"RLY1"
HEADER = struct.Struct("<4sII")  # magic, session number, chunk sequence number
PARTIAL = json.dumps({"message_type": "partial_transcript", "text": "bench partial"})
COMMITTED = json.dumps({"message_type": "committed_transcript", "text": "bench committed"})


def committed_words(audio_seconds: float) -> str:
    """The timestamped commit: its one word ends where the audio does, so a client that matches
    transcripts to its commits by time (ours does) takes it for the answer to its commit."""
    word = {"text": "bench", "start": max(0.0, audio_seconds - 0.5), "end": audio_seconds, "type": "word"}
    kind = "committed_transcript_with_timestamps"
    return json.dumps({"message_type": kind, "text": "bench", "language_code": "en", "words": [word]})


def stamp(session: int, seq: int) -> bytes:
    """One 100 ms PCM chunk that identifies itself (an even byte count, as PCM16 needs)."""
    return HEADER.pack(MAGIC, session, seq) + bytes(CHUNK_BYTES - HEADER.size)


def key(session: int, seq: int) -> int:
    return session << 32 | seq


class Arrivals:
    """(session, seq) keys and time.monotonic() stamps, in plain arrays: 40k+ entries per run."""

    def __init__(self) -> None:
        self.keys = array("Q")
        self.times = array("d")

    def record(self, pcm: bytes, now: float) -> None:
        pos = pcm.find(MAGIC)
        while 0 <= pos <= len(pcm) - HEADER.size:
            _, session, seq = HEADER.unpack_from(pcm, pos)
            self.keys.append(key(session, seq))
            self.times.append(now)
            pos = pcm.find(MAGIC, pos + HEADER.size)

    def dump(self, path: Path) -> int:
        with path.open("wb") as out:
            out.write(struct.pack("<Q", len(self.keys)))
            self.keys.tofile(out)
            self.times.tofile(out)
        return len(self.keys)


def load(path: Path) -> dict[int, float]:
    """Arrivals written by `dump`: key -> first arrival time (a replayed chunk counts once)."""
    with path.open("rb") as src:
        (n,) = struct.unpack("<Q", src.read(8))
        keys, times = array("Q"), array("d")
        keys.fromfile(src, n)
        times.fromfile(src, n)
    first: dict[int, float] = {}
    for k, t in zip(keys, times, strict=True):
        first.setdefault(k, t)
    return first


class FakeProvider:
    def __init__(self) -> None:
        self.arrivals = Arrivals()

    async def handle(self, ws: ServerConnection) -> None:
        timestamps = "include_timestamps=true" in (ws.request.path if ws.request else "")
        started = {"message_type": "session_started", "session_id": uuid.uuid4().hex, "config": {}}
        chunks, audio_bytes = 0, 0
        try:
            await ws.send(json.dumps(started))
            async for raw in ws:
                now = time.monotonic()  # first thing: the receipt time of this chunk
                if isinstance(raw, bytes):
                    continue
                message = json.loads(raw)
                if message.get("message_type") != "input_audio_chunk":
                    continue
                audio = message.get("audio_base_64")
                if audio:
                    pcm = base64.b64decode(audio)
                    self.arrivals.record(pcm, now)
                    chunks, audio_bytes = chunks + 1, audio_bytes + len(pcm)
                    if chunks % 10 == 0:
                        await ws.send(PARTIAL)
                if message.get("commit"):
                    await ws.send(COMMITTED)
                    if timestamps:
                        rate = message.get("sample_rate") or 16000
                        await ws.send(committed_words(round(audio_bytes / 2 / rate, 3)))
        except (ConnectionClosed, ValueError):
            pass  # a client that goes away or sends garbage just ends its session

    def dump(self, path: Path) -> int:
        arrivals, self.arrivals = self.arrivals, Arrivals()
        return arrivals.dump(path)


def control(loop: asyncio.AbstractEventLoop, fake: FakeProvider, done: asyncio.Event) -> None:
    """stdin commands, read in a thread; the dump itself runs on the event loop (no locking)."""

    async def dump(path: Path) -> int:
        return fake.dump(path)

    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "dump":
            n = asyncio.run_coroutine_threadsafe(dump(Path(arg)), loop).result()
            print(f"dumped {n}", flush=True)
    loop.call_soon_threadsafe(done.set)


async def main(port: int) -> None:
    fake = FakeProvider()
    done = asyncio.Event()
    async with serve(
        fake.handle, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**22, backlog=2048
    ) as server:
        print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
        loop = asyncio.get_running_loop()
        threading.Thread(target=control, args=(loop, fake, done), daemon=True).start()
        await done.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args().port))
