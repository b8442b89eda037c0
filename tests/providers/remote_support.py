"""Driving a remote provider session the way the consumer does, for adapter tests."""

from __future__ import annotations

import asyncio

from speechsite.lib.audio import read_wav
from speechsite.providers.base import CommittedTranscript, KeyReport, PartialTranscript, ProviderError
from speechsite.providers.remote import Credential, RetryPolicy
from tests.conftest import fixture_audio

CHUNK = 3200  # 100 ms of 16 kHz PCM16
FAST_RETRY = RetryPolicy(tries=3, first_delay=0.01, max_delay=0.05)


def speech(name: str = "fox_slt") -> bytes:
    pcm, rate = read_wav(fixture_audio(name))
    assert rate == 16000
    return pcm


def silence(seconds: float, rate: int = 16000) -> bytes:
    return bytes(int(seconds * rate) * 2)


def keys(*secrets: str) -> list[Credential]:
    return [Credential(ref=index, secret=secret) for index, secret in enumerate(secrets, 1)]


async def stream(session, pcm: bytes, *, chunk: int = CHUNK, commit_after: set[int] = frozenset()) -> list:
    """Open, send `pcm` in chunks (committing after the chunk numbers given), finish; all events."""
    events: list = []

    async def collect() -> None:
        async for event in session.events():
            events.append(event)

    await session.open()
    reader = asyncio.create_task(collect())
    for number, offset in enumerate(range(0, len(pcm), chunk), 1):
        await session.send_audio(pcm[offset : offset + chunk])
        if number in commit_after:
            await session.commit()
        await asyncio.sleep(0)  # let replies interleave, as they would in real time
    await session.finish()
    await asyncio.wait_for(reader, 15)
    await session.close()
    return events


def committed(events: list) -> list[CommittedTranscript]:
    return [e for e in events if isinstance(e, CommittedTranscript)]


def partials(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, PartialTranscript)]


def errors(events: list) -> list[ProviderError]:
    return [e for e in events if isinstance(e, ProviderError)]


def key_reports(events: list) -> list[KeyReport]:
    return [e for e in events if isinstance(e, KeyReport)]


def text_of(events: list) -> str:
    return " ".join(c.text for c in committed(events))
