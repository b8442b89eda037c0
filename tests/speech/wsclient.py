"""Drive the /ws/speech/ consumer in-process with Channels' WebsocketCommunicator."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator

from speechsite.asgi import application
from speechsite.lib.audio import read_wav
from speechsite.speech.consumers import SpeechConsumer
from tests.conftest import fixture_audio

CHUNK = 3200


async def open_socket(user, path: str = "/ws/speech/") -> WebsocketCommunicator:
    """A socket straight to the consumer, signed in as `user` (None: anonymous)."""
    communicator = WebsocketCommunicator(SpeechConsumer.as_asgi(), path)
    if user is not None:
        communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def open_full_stack(headers: list[tuple[bytes, bytes]], path: str = "/ws/speech/") -> WebsocketCommunicator:
    """A socket through the real ASGI app: Origin check, session auth, routing."""
    return WebsocketCommunicator(application, path, headers=headers)


async def send_json(communicator: WebsocketCommunicator, **message) -> None:
    await communicator.send_to(text_data=json.dumps(message))


async def receive_json(communicator: WebsocketCommunicator, timeout: float = 10) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def events_until(communicator: WebsocketCommunicator, kind: str, timeout: float = 20) -> list[dict]:
    events = []
    while True:
        event = await receive_json(communicator, timeout)
        events.append(event)
        if event["type"] == kind or (event["type"] == "error" and event["fatal"]):
            return events


async def stream_fixture(communicator: WebsocketCommunicator, name: str, trailing_silence: float = 0.3) -> bytes:
    pcm, _ = read_wav(fixture_audio(name))
    pcm += b"\x00\x00" * int(16000 * trailing_silence)
    for i in range(0, len(pcm), CHUNK):
        await communicator.send_to(bytes_data=pcm[i : i + CHUNK])
    return pcm


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]
