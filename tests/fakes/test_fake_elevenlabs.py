"""Tests of the fake ElevenLabs Realtime server itself, with a plain websockets client."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from tests.fakes.base import Faults
from tests.fakes.elevenlabs import ERROR_TYPES, FakeElevenLabs

KEY = {"xi-api-key": "test-key"}


def url(fake: FakeElevenLabs, *pairs: tuple[str, str], **params: str) -> str:
    query = {"model_id": "scribe_v2_realtime", **params}
    return f"ws://127.0.0.1:{fake.port}{fake.path}?{urlencode([*query.items(), *pairs])}"


def tone(secs: float, rate: int = 16000) -> bytes:
    return b"\x10\x00" * int(secs * rate)


def silence(secs: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(secs * rate)


def chunk(audio: bytes, commit: bool = False, rate: int = 16000, **extra: Any) -> str:
    msg = {
        "message_type": "input_audio_chunk",
        "audio_base_64": base64.b64encode(audio).decode(),
        "commit": commit,
        "sample_rate": rate,
        **extra,
    }
    return json.dumps(msg)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 2))


async def stream(ws: ClientConnection, audio: bytes, step: float = 0.5, rate: int = 16000, width: int = 2) -> None:
    size = int(step * rate) * width
    for i in range(0, len(audio), size):
        await ws.send(chunk(audio[i : i + size], rate=rate))


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    got = [await recv(ws)]
    while got[-1]["message_type"] != kind:
        got.append(await recv(ws))
    return got


# --- handshake ---------------------------------------------------------------------------------
async def test_it_starts_a_session_and_records_the_query() -> None:
    fake = FakeElevenLabs()
    query = {"audio_format": "pcm_16000", "include_timestamps": "true"}
    async with fake, connect(url(fake, **query), additional_headers=KEY) as ws:
        started = await recv(ws)
    assert started["message_type"] == "session_started" and started["session_id"]
    assert started["config"]["sample_rate"] == 16000 and started["config"]["include_timestamps"] is True
    assert fake.queries[0]["include_timestamps"] == "true"
    fake.assert_clean()


async def test_it_sends_auth_error_then_closes_on_a_wrong_key() -> None:
    async with FakeElevenLabs(keys=("right",)) as fake:
        async with connect(url(fake), additional_headers={"xi-api-key": "wrong"}) as ws:
            assert await recv(ws) == {"message_type": "auth_error", "error": "Invalid API key"}
            with pytest.raises(ConnectionClosed):
                await recv(ws)
        assert ws.close_code == 1008
    fake.assert_clean()  # a wrong key is the environment's fault, not a protocol violation


async def test_it_flags_a_missing_key() -> None:
    async with FakeElevenLabs() as fake, connect(url(fake)) as ws:
        assert (await recv(ws))["message_type"] == "auth_error"
    assert any("xi-api-key" in v for v in fake.violations)


async def test_it_accepts_a_single_use_token_once() -> None:
    async with FakeElevenLabs(tokens=("tok",)) as fake:
        async with connect(url(fake, token="tok")) as ws:
            assert (await recv(ws))["message_type"] == "session_started"
        fake.assert_clean()
        async with connect(url(fake, token="tok")) as ws:
            assert (await recv(ws))["message_type"] == "auth_error"
    assert fake.violations == ["single-use token reused"]


@pytest.mark.parametrize(
    "pairs",
    [
        [("model_id", "scribe_v1")],
        [("audio_format", "mp3")],
        [("commit_strategy", "auto")],
        [("language_code", "English")],
        [("include_timestamps", "True")],
        [("vad_silence_threshold_secs", "5")],
        [("vad_threshold", "0.05")],
        [("min_speech_duration_ms", "10")],
        [("min_silence_duration_ms", "1.5")],
        [("bogus", "1")],
        [("audio_format", "pcm_16000"), ("audio_format", "pcm_8000")],
        [("entity_redaction_mode", "x")],
        [("keyterms", "x" * 21)],
    ],
)
async def test_it_flags_each_bad_query_parameter(pairs: list[tuple[str, str]]) -> None:
    async with FakeElevenLabs() as fake:
        target = url(fake).replace("model_id=scribe_v2_realtime", "") if pairs[0][0] == "model_id" else url(fake)
        async with connect(f"{target}&{urlencode(pairs)}", additional_headers=KEY) as ws:
            await recv(ws)
    assert len(fake.violations) == 1, fake.violations


async def test_it_accepts_every_documented_parameter() -> None:
    async with FakeElevenLabs() as fake:
        params = dict(
            audio_format="ulaw_8000",
            commit_strategy="vad",
            language_code="eng",
            include_timestamps="false",
            include_language_detection="true",
            vad_silence_threshold_secs="0.3",
            vad_threshold="0.9",
            min_speech_duration_ms="250",
            min_silence_duration_ms="2000",
            enable_logging="false",
            entity_redaction_mode="entity_type",
            no_verbatim="true",
        )
        async with connect(url(fake, ("keyterms", "a"), ("keyterms", "b"), **params), additional_headers=KEY) as ws:
            assert (await recv(ws))["config"]["sample_rate"] == 8000
    assert fake.queries[0]["keyterms"] == ["a", "b"]
    fake.assert_clean()


# --- client messages ---------------------------------------------------------------------------
GOOD = {
    "message_type": "input_audio_chunk",
    "audio_base_64": base64.b64encode(tone(0.1)).decode(),
    "commit": False,
    "sample_rate": 16000,
}


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in GOOD.items() if k != "commit"},
        {k: v for k, v in GOOD.items() if k != "sample_rate"},
        {**GOOD, "audio_base_64": "not base64!"},
        {**GOOD, "sample_rate": 8000},
        {**GOOD, "sample_rate": "16000"},
        {**GOOD, "commit": "true"},
        {**GOOD, "extra": 1},
        {**GOOD, "message_type": "audio"},
        {"message_type": "commit"},
        {**GOOD, "audio_base_64": base64.b64encode(b"\x00").decode()},
        {**GOOD, "audio_base_64": base64.b64encode(tone(1.5)).decode()},
        {**GOOD, "audio_base_64": ""},
        [1],
    ],
)
async def test_it_flags_each_bad_chunk(bad: Any) -> None:
    async with FakeElevenLabs() as fake, connect(url(fake), additional_headers=KEY) as ws:
        await recv(ws)
        await ws.send(json.dumps(bad))
        await ws.send(chunk(b"", commit=True))
        await until(ws, "committed_transcript")
    assert len(fake.violations) == 1, fake.violations


async def test_it_flags_binary_frames() -> None:
    async with FakeElevenLabs() as fake, connect(url(fake), additional_headers=KEY) as ws:
        await recv(ws)
        await ws.send(tone(0.1))
        await ws.send(chunk(b"", commit=True))
        await until(ws, "committed_transcript")
    assert fake.received[0][0] == tone(0.1) and len(fake.violations) == 1


async def test_it_allows_previous_text_only_on_the_first_chunk() -> None:
    async with FakeElevenLabs() as fake, connect(url(fake), additional_headers=KEY) as ws:
        await recv(ws)
        await ws.send(chunk(tone(0.1), previous_text="Earlier words"))
        await ws.send(chunk(tone(0.1), previous_text=None))  # EL-PY sends null on every chunk
        fake.assert_clean()
        await ws.send(chunk(tone(0.1), previous_text="again"))
        assert (await recv(ws))["message_type"] == "input_error"
    assert any("previous_text" in v for v in fake.violations)


# --- transcripts -------------------------------------------------------------------------------
async def test_it_sends_partials_then_commits_with_timestamps() -> None:
    fake = FakeElevenLabs(script=["hello", "there", "friend"])
    async with fake, connect(url(fake, include_timestamps="true"), additional_headers=KEY) as ws:
        await recv(ws)
        await stream(ws, tone(1.5))
        await ws.send(chunk(tone(0.5)))  # 2 s: transcription starts
        assert await recv(ws) == {"message_type": "partial_transcript", "text": "hello there friend hello"}
        await ws.send(chunk(tone(0.2)))
        await ws.send(chunk(b"", commit=True))
        assert await recv(ws) == {"message_type": "committed_transcript", "text": "hello there friend hello there"}
        stamped = await recv(ws)
        await ws.send(chunk(tone(0.5)))
        await ws.send(chunk(b"", commit=True))
        assert (await recv(ws))["text"] == "friend"  # a commit clears the segment, not the context
    assert stamped["message_type"] == "committed_transcript_with_timestamps" and stamped["language_code"] == "en"
    words = stamped["words"]
    assert [w["type"] for w in words[:3]] == ["word", "spacing", "word"]
    assert words[0] == {"text": "hello", "start": 0.0, "end": 0.4, "type": "word", "logprob": -0.05}
    assert words[-1]["start"] == 2.0
    assert fake.audio[0] == tone(2.2) + tone(0.5)
    fake.assert_clean()


async def test_it_commits_after_vad_silence() -> None:
    fake = FakeElevenLabs()
    vad = {"commit_strategy": "vad", "vad_silence_threshold_secs": "0.5"}
    async with fake, connect(url(fake, **vad), additional_headers=KEY) as ws:
        await recv(ws)
        await stream(ws, tone(1.0) + silence(0.4))
        await stream(ws, silence(0.2) + tone(0.6) + silence(0.6))
        first = await recv(ws)
        second = (await until(ws, "committed_transcript"))[-1]  # partials come first: clock is past 2 s
    assert first == {"message_type": "committed_transcript", "text": "word1 word2"}
    assert second == {"message_type": "committed_transcript", "text": "word3 word4"}  # 0.6 s of speech: 2 words
    fake.assert_clean()


async def test_it_auto_commits_in_manual_mode() -> None:
    async with FakeElevenLabs(auto_commit_secs=1.0) as fake, connect(url(fake), additional_headers=KEY) as ws:
        await recv(ws)
        await stream(ws, silence(1.0))
        assert await recv(ws) == {"message_type": "committed_transcript", "text": "word1 word2"}
    assert fake.auto_commits == 1
    fake.assert_clean()


async def test_it_takes_ulaw_at_8000() -> None:
    async with FakeElevenLabs() as fake, connect(url(fake, audio_format="ulaw_8000"), additional_headers=KEY) as ws:
        await recv(ws)
        await ws.send(chunk(b"\x55" * 4000, rate=8000))
        await ws.send(chunk(b"", commit=True, rate=8000))
        assert (await recv(ws))["text"] == "word1"
    fake.assert_clean()


# --- faults ------------------------------------------------------------------------------------
async def test_it_refuses_the_handshake() -> None:
    async with FakeElevenLabs(faults=Faults(refuse_handshake=429)) as fake:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(url(fake), additional_headers=KEY):
                pass
    assert caught.value.response.status_code == 429


async def test_it_drops_abruptly_and_keeps_the_audio() -> None:
    async with FakeElevenLabs(faults=Faults(drop_after_chunks=2)) as fake:
        async with connect(url(fake), additional_headers=KEY) as ws:
            await recv(ws)
            await stream(ws, tone(1.5))
            with pytest.raises(ConnectionClosedError):
                await recv(ws)
        assert ws.protocol.close_rcvd is None  # no close frame: the TCP connection just went
        async with connect(url(fake), additional_headers=KEY) as ws:  # drop_times=1: the next one behaves
            await recv(ws)
            await stream(ws, tone(1.5))
            await ws.send(chunk(b"", commit=True))
            assert (await recv(ws))["message_type"] == "committed_transcript"
    assert fake.audio == [tone(1.0), tone(1.5)]
    fake.assert_clean()


@pytest.mark.parametrize("kind", ERROR_TYPES)
async def test_it_sends_each_error_type_then_closes(kind: str) -> None:
    async with FakeElevenLabs(faults=Faults(error_after_chunks=1, error_type=kind, close_code=1011)) as fake:
        async with connect(url(fake), additional_headers=KEY) as ws:
            await recv(ws)
            await ws.send(chunk(tone(0.1)))
            assert await recv(ws) == {"message_type": kind, "error": "Fake error"}
            with pytest.raises(ConnectionClosed):
                await recv(ws)
        assert ws.close_code == 1011
    fake.assert_clean()


def test_it_rejects_an_undocumented_error_type() -> None:
    with pytest.raises(ValueError):
        FakeElevenLabs(faults=Faults(error_after_chunks=1, error_type="nope"))


async def test_it_closes_at_once_with_a_close_code() -> None:
    async with FakeElevenLabs(faults=Faults(close_code=4001)) as fake:
        async with connect(url(fake), additional_headers=KEY) as ws:
            with pytest.raises(ConnectionClosed):
                await recv(ws)
        assert ws.close_code == 4001


async def test_it_delays_replies() -> None:
    async with FakeElevenLabs(faults=Faults(reply_delay=0.2)) as fake:
        begun = time.monotonic()
        async with connect(url(fake), additional_headers=KEY) as ws:
            await recv(ws)
    assert time.monotonic() - begun >= 0.2
