"""A minimal speech relay written directly on `websockets`: the yardstick for our consumer.

It does the consumer's core job and nothing else (no auth, no database, no WAV file): read the
start JSON, open an ElevenLabs realtime socket, forward each binary PCM chunk as an
`input_audio_chunk`, forward transcripts back as our JSON events, and on `stop` commit, wait
for the committed transcript, send `session_ended` and close.

Run as `python -m bench.relay --provider ws://HOST:PORT --key KEY [--port N]`; prints `ready PORT`
and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import sys
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, WebSocketException

PATH = "/v1/speech-to-text/realtime"
STOP_TIMEOUT = 10.0  # seconds to wait for the committed transcript after a stop
FORWARDED = {"partial_transcript", "committed_transcript"}


def provider_url(base: str, sample_rate: int, commit_strategy: str, language: str) -> str:
    query = {
        "model_id": "scribe_v2_realtime",
        "audio_format": f"pcm_{sample_rate}",
        "commit_strategy": commit_strategy,
        "language_code": language,
    }
    return f"{base}{PATH}?{urlencode(query)}"


async def downstream(upstream: ClientConnection, client: ServerConnection, committed: asyncio.Event) -> None:
    """Provider -> client: transcripts as our events, vendor errors as error events."""
    async for raw in upstream:
        message = json.loads(raw)
        kind = message.get("message_type")
        if kind in FORWARDED:
            await client.send(json.dumps({"type": kind, "text": message.get("text", "")}))
            if kind == "committed_transcript":
                committed.set()
        elif "error" in message:
            await client.send(json.dumps({"type": "error", "code": kind, "message": message["error"], "fatal": True}))


async def relay(client: ServerConnection, base: str, key: str) -> None:
    start = json.loads(await asyncio.wait_for(client.recv(), STOP_TIMEOUT))
    rate = int(start.get("sample_rate", 16000))
    url = provider_url(base, rate, start.get("commit_strategy", "vad"), start.get("language", "en"))
    async with connect(url, additional_headers={"xi-api-key": key}, compression=None, ping_interval=None) as upstream:
        await client.send(json.dumps({"type": "session_started", "provider": start.get("provider", "elevenlabs")}))
        committed = asyncio.Event()
        pump = asyncio.create_task(downstream(upstream, client, committed))
        try:
            async for frame in client:
                if isinstance(frame, bytes):
                    audio = base64.b64encode(frame).decode()
                    await upstream.send(json.dumps(chunk_message(audio, False, rate)))
                elif json.loads(frame).get("type") == "stop":
                    committed.clear()
                    await upstream.send(json.dumps(chunk_message("", True, rate)))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(committed.wait(), STOP_TIMEOUT)
                    await client.send(json.dumps({"type": "session_ended"}))
                    return
        finally:
            pump.cancel()


def chunk_message(audio_b64: str, commit: bool, rate: int) -> dict:
    return {"message_type": "input_audio_chunk", "audio_base_64": audio_b64, "commit": commit, "sample_rate": rate}


async def main(port: int, base: str, key: str) -> None:
    async def handle(client: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed, WebSocketException, OSError, TimeoutError, ValueError):
            await relay(client, base, key)
        await client.close()

    async with serve(handle, "127.0.0.1", port, compression=None, ping_interval=None, backlog=2048) as server:
        print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
        # Serve until the parent closes our stdin (or dies): no stray relay outlives a run.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--provider", required=True, help="ws://HOST:PORT of the provider")
    parser.add_argument("--key", required=True, help="sent as the xi-api-key header")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.provider, args.key))
