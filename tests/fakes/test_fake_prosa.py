"""The Prosa fake itself (PROTOCOLS.md §3), driven by a plain websockets client."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.fakes.base import Faults
from tests.fakes.client import read_all, send_then_read
from tests.fakes.prosa import FakeProsa

RATE = 16000
CONFIG = {
    "label": "t",
    "model": "stt-general-online",
    "include_partial": True,
    "include_filler": False,
    "audio": {"format": "wav", "channels": 1, "sample_rate": RATE},
}


def wav_header(rate: int = RATE, channels: int = 1) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    unknown = struct.pack("<I", 0xFFFFFFFF)  # streaming WAV: sizes not known up front
    return b"RIFF" + unknown + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + unknown


def speech(seconds: float) -> bytes:
    return b"\x01\x00" * int(RATE * seconds)


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(RATE * seconds)


def chunks(data: bytes, size: int = 16000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def run(
    fake: FakeProsa,
    frames: list[Any],
    headers: dict[str, str] | None = None,
    query: str = "",
) -> tuple[list[dict[str, Any]], int | None, str]:
    """Send frames (dicts as JSON text, bytes as binary), then read until the server closes."""
    h = {"x-api-key": "test-key"} if headers is None else headers
    async with connect(fake.ws_url + query, additional_headers=h) as ws:
        messages = await send_then_read(ws, frames)
    rcvd = ws.protocol.close_rcvd
    return messages, rcvd.code if rcvd else None, rcvd.reason if rcvd else ""


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


async def test_it_transcribes_with_header_auth() -> None:
    pcm = speech(1.0) + silence(0.5) + speech(0.5)
    async with FakeProsa() as fake:
        messages, code, reason = await run(fake, [CONFIG, *chunks(wav_header() + pcm), b""])
    fake.assert_clean()
    assert (code, reason) == (1000, "normal end")
    assert messages == [
        {"type": "created", "id": "fake-job-0"},
        {"type": "status", "status": "in_progress"},
        {"type": "partial", "transcript": "selamat"},
        {"type": "partial", "transcript": "selamat pagi"},
        {"type": "result", "transcript": "selamat pagi", "time_start": 0.0, "time_end": 1.0},
        {"type": "partial", "transcript": "semua"},
        {"type": "result", "transcript": "semua", "time_start": 1.5, "time_end": 2.0},
        {"type": "status", "status": "complete"},
        {"type": "metadata", "duration": 2.0, "quota_used": 2, "max_reached": False, "max_duration": 600.0},
    ]
    assert fake.audio[0] == pcm and fake.auth_via == ["header"]
    assert fake.headers[0]["x-api-key"] == "test-key"


async def test_it_accepts_the_token_message_and_skips_partials() -> None:
    config = {**CONFIG, "include_partial": False, "audio": {"format": "s16le", "channels": 1, "sample_rate": RATE}}
    async with FakeProsa(keys=("k1",), script=("a", "b")) as fake:
        messages, code, _ = await run(fake, [{"token": "k1"}, config, speech(1.5), b""], headers={})
    fake.assert_clean()
    assert code == 1000 and fake.auth_via == ["token"]
    assert [m["transcript"] for m in messages if m["type"] in ("partial", "result")] == ["a b a"]


@pytest.mark.parametrize("headers, first", [({"x-api-key": "bad"}, CONFIG), ({}, {"token": "bad"})])
async def test_it_closes_4000_on_a_wrong_key(headers: dict[str, str], first: dict[str, Any]) -> None:
    async with FakeProsa() as fake:
        messages, code, reason = await run(fake, [first, CONFIG], headers=headers)
    fake.assert_clean()  # a wrong key is the user's problem, not a protocol break
    assert (messages, code, reason) == ([], 4000, "invalid authentication")


async def test_it_flags_missing_auth_and_a_query_key() -> None:
    async with FakeProsa() as fake:
        _, code, _ = await run(fake, [CONFIG], headers={}, query="?x-api-key=test-key")
    assert code == 4000 and len(fake.violations) == 2


@pytest.mark.parametrize(
    "change, code",
    [
        ({"model": "stt-general"}, 4002),
        ({"model": None}, 4001),  # missing
        ({"language": "id"}, 4001),
        ({"include_partial": "yes"}, 4001),
        ({"include_partial": None}, 4001),  # strict: must be sent
        ({"audio": {"format": "aiff", "channels": 1, "sample_rate": RATE}}, 4001),
        ({"audio": {"format": "wav", "channels": 1, "sample_rate": "16000"}}, 4001),
        ({"audio": {"format": "wav", "channels": 1}}, 4001),
        ({"audio": {"format": "wav", "channels": 1, "sample_rate": RATE, "bits": 16}}, 4001),
        ({"audio": None}, 4001),
    ],
)
async def test_it_rejects_a_bad_config(change: dict[str, Any], code: int) -> None:
    config = {k: v for k, v in {**CONFIG, **change}.items() if v is not None}
    async with FakeProsa() as fake:
        messages, got, _ = await run(fake, [config, speech(0.5), b""])
    assert got == code and messages == [] and len(fake.violations) == 1


async def test_it_needs_only_the_model_when_not_strict() -> None:
    async with FakeProsa(strict=False) as fake:
        messages, code, _ = await run(fake, [{"model": "stt-general-online"}, wav_header() + speech(0.5), b""])
    fake.assert_clean()
    assert code == 1000 and "partial" not in types(messages) and "result" in types(messages)


@pytest.mark.parametrize(
    "first, problem",
    [
        (speech(0.5), "RIFF/WAVE"),
        (wav_header(rate=8000) + speech(0.5), "8000 Hz"),
        (wav_header()[:40], "not complete"),
    ],
)
async def test_it_checks_the_wav_header(first: bytes, problem: str) -> None:
    async with FakeProsa() as fake:
        await run(fake, [CONFIG, first, b""])
    assert len(fake.violations) == 1 and problem in fake.violations[0]


async def test_it_flags_audio_before_config_and_a_second_header() -> None:
    async with FakeProsa() as fake:
        _, code, _ = await run(fake, [wav_header(), CONFIG])
        await run(fake, [CONFIG, wav_header(), wav_header(), b""])
    assert code == 4001 and len(fake.violations) == 2 and "second RIFF" in fake.violations[1]


@pytest.mark.parametrize(
    "tail, problem",
    [
        ([b"", speech(0.5)], "after the empty"),  # empty frame in the middle
        ([b"", b""], "after the empty"),  # two empty frames
        ([], "without the empty"),  # none before the client closed
    ],
)
async def test_it_checks_the_end_of_stream_frame(tail: list[bytes], problem: str) -> None:
    async with FakeProsa() as fake, connect(fake.ws_url, additional_headers={"x-api-key": "test-key"}) as ws:
        for frame in [json.dumps(CONFIG), wav_header(), *tail]:
            await ws.send(frame)
        if not tail:
            await ws.close()
        await read_all(ws)
    assert len(fake.violations) == 1 and problem in fake.violations[0]


@pytest.mark.parametrize("code", [4000, 4001, 4002, 4005, 4029, 1011])
async def test_it_closes_with_each_code(code: int) -> None:
    async with FakeProsa(faults=Faults(close_code=code)) as fake:
        _, got, reason = await run(fake, [CONFIG])
    assert got == code and reason == {4029: "rate limited", 1011: "internal server error"}.get(code, reason)


@pytest.mark.parametrize("code", [4005, 1011])
async def test_it_closes_after_chunks(code: int) -> None:
    async with FakeProsa(faults=Faults(error_after_chunks=2, close_code=code)) as fake:
        messages, got, _ = await run(fake, [CONFIG, *chunks(wav_header() + speech(2.0)), b""])
    fake.assert_clean()
    assert got == code and len(fake.audio[0]) == 16000 * 2 - len(wav_header())
    assert ("quota" in types(messages)) == (code == 4005)


async def test_it_runs_out_of_quota() -> None:
    async with FakeProsa(quota_seconds=1.0) as fake:
        messages, code, reason = await run(fake, [CONFIG, *chunks(wav_header() + speech(3.0)), b""])
    fake.assert_clean()
    assert (code, reason) == (4005, "insufficient quota")
    assert messages[-2]["type"] == "result"
    assert messages[-1] == {"type": "quota", "active": True, "timestamp": 1.0, "quota_used": 1}


async def test_it_drops_once_and_keeps_the_audio() -> None:
    pcm = speech(2.0)
    async with FakeProsa(faults=Faults(drop_after_chunks=2)) as fake:
        sent = chunks(wav_header() + pcm)
        _, code, _ = await run(fake, [CONFIG, *sent, b""])
        assert code is None  # abrupt: no close frame
        got = bytes(fake.audio[0])
        _, code, _ = await run(fake, [CONFIG, wav_header() + pcm[len(got) :], b""])
    fake.assert_clean()
    assert code == 1000 and got + fake.audio[1] == pcm


async def test_it_replies_slowly() -> None:
    loop = asyncio.get_running_loop()
    async with FakeProsa(faults=Faults(reply_delay=0.05)) as fake:
        start = loop.time()
        messages, code, _ = await run(fake, [CONFIG, wav_header() + speech(0.5), b""])
    fake.assert_clean()
    assert code == 1000 and len(messages) == 6 and loop.time() - start >= 0.3
