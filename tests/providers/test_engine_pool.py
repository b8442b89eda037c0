"""The engine's worker processes: sessions pinned to workers, and a dead worker replaced."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from speechsite.lib.audio import read_wav
from speechsite.providers.base import CommittedTranscript, ProviderError, SessionConfig
from speechsite.providers.local import LocalSession
from speechsite.providers.local.pool import EnginePool
from tests.conftest import fixture_audio


@pytest.fixture
def pool():
    pool = EnginePool(2, spares=1)
    assert pool.wait_ready(timeout=60)
    yield pool
    pool.shutdown()


async def collect(session: LocalSession, timeout: float = 20) -> list:
    async def drain():
        return [event async for event in session.events()]

    return await asyncio.wait_for(drain(), timeout)


async def test_a_session_transcribes_through_a_worker_process(pool):
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    session = LocalSession(SessionConfig(), pool)
    await session.open()
    for i in range(0, len(pcm), 3200):
        await session.send_audio(pcm[i : i + 3200])
    await session.finish()
    events = await collect(session)
    assert any(isinstance(e, CommittedTranscript) and "fox" in e.text for e in events)


async def test_sessions_are_spread_over_the_workers(pool):
    sessions = [LocalSession(SessionConfig(), pool) for _ in range(4)]
    for session in sessions:
        await session.open()
    assert sorted(len(w.sessions) for w in pool._workers) == [2, 2]
    for session in sessions:
        await session.close()
    assert all(not w.sessions for w in pool._workers)


async def test_a_dead_worker_fails_its_sessions_and_is_replaced(pool):
    session = LocalSession(SessionConfig(), pool)
    await session.open()
    worker = next(w for w in pool._workers if w.sessions)
    os.kill(worker.process.pid, signal.SIGKILL)
    events = await collect(session)
    assert isinstance(events[-1], ProviderError) and events[-1].code == "engine_failed"
    assert events[-1].fatal
    replacement = LocalSession(SessionConfig(), pool)  # the pool still serves new sessions
    await replacement.open()
    assert all(w.process.is_alive() for w in pool._workers)
    await replacement.close()


async def test_a_sample_rate_other_than_16_khz_is_resampled_for_the_engine(pool):
    from speechsite.lib.audio import resample

    pcm, _ = read_wav(fixture_audio("fox_slt"))
    session = LocalSession(SessionConfig(sample_rate=8000), pool)
    await session.open()
    narrow = resample(pcm, 16000, 8000)
    for i in range(0, len(narrow), 1600):
        await session.send_audio(narrow[i : i + 1600])
    await session.finish()
    events = await collect(session)
    assert any(isinstance(e, CommittedTranscript) and "fox" in e.text for e in events)
