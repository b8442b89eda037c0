"""The OpenMind ASR proxy fake (PROTOCOLS.md §2) against a plain websockets client."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from tests.fakes.base import Faults
from tests.fakes.openmind import ALIAS_PATH, FakeOpenMind

RATE = 16000
SPEECH = b"\x01\x00" * 1600  # 100 ms of non-zero s16le at 16 kHz
SILENCE = b"\x00\x00" * 1600  # 100 ms of zeros: the fake's VAD silence


def chunk(pcm: bytes = SPEECH, **config: Any) -> str:
    return json.dumps({"audio": base64.b64encode(pcm).decode(), **config})


FIRST = {"rate": RATE, "language_code": "en"}


async def recv(ws: ClientConnection, timeout: float = 1.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def open_ws(fake: FakeOpenMind) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(fake.ws_url())
    return ws, await recv(ws)


async def drain(ws: ClientConnection, seconds: float = 0.05, until: str | None = None) -> list[dict[str, Any]]:
    """Replies until `seconds` pass quietly, the socket closes, or a reply of type `until` arrives."""
    out: list[dict[str, Any]] = []
    try:
        while not (out and until and out[-1].get("type", "committed") == until):
            out.append(await recv(ws, seconds))
    except (TimeoutError, ConnectionClosed):
        pass
    return out


async def speak(ws: ClientConnection, speech: int, silence: int, until: str | None = None) -> list[dict[str, Any]]:
    """Send `speech` then `silence` 100 ms chunks (first one carries the config); return the replies."""
    for i in range(speech):
        await ws.send(chunk(SPEECH, **FIRST) if i == 0 else chunk())
    for _ in range(silence):
        await ws.send(chunk(SILENCE))
    return await drain(ws, until=until)


async def test_it_greets_with_connection_message() -> None:
    async with FakeOpenMind() as fake:
        ws, hello = await open_ws(fake)
        await ws.close()
    assert hello["type"] == "connection"
    assert hello["message"] == "Connected to ElevenLabs ASR service"
    assert hello["clientId"] == fake.client_ids[0]
    assert fake.queries == [{"api_key": ["test-key"]}]
    fake.assert_clean()


@pytest.mark.parametrize(("key", "error"), [(None, "Missing API key"), ("nope", "Invalid API key")])
async def test_it_refuses_missing_or_wrong_key_with_401(key: str | None, error: str) -> None:
    async with FakeOpenMind(keys=("good",)) as fake:
        with pytest.raises(InvalidStatus) as exc:
            await connect(fake.ws_url(key))
    response = exc.value.response
    assert response.status_code == 401
    assert json.loads(response.body)["error"].startswith(error)
    assert response.headers["Content-Type"] == "application/json"
    assert fake.connections == 0


async def test_it_accepts_the_v1_alias_path() -> None:
    async with FakeOpenMind(path=ALIAS_PATH) as fake:
        ws, hello = await open_ws(fake)
        await ws.close()
    assert hello["type"] == "connection"
    fake.assert_clean()


async def test_it_emits_partials_and_typed_committed() -> None:
    async with FakeOpenMind(script=("one", "two", "three"), vad_silence_seconds=0.3) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=10, silence=3, until="committed")
        await ws.close()
    assert [r["asr_reply"] for r in replies if r.get("type") == "partial"] == ["one", "one two"]
    final = replies[-1]
    assert final["type"] == "committed" and final["asr_reply"] == "one two"
    assert isinstance(final["time"], int) and abs(final["time"] - time.time() * 1000) < 5000
    assert bytes(fake.audio[0]) == SPEECH * 10 + SILENCE * 3
    fake.assert_clean()


async def test_it_omits_type_on_committed_when_untyped() -> None:
    async with FakeOpenMind(typed=False, vad_silence_seconds=0.2) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=5, silence=2, until="committed")
        await ws.close()
    final = replies[-1]
    assert "type" not in final and final["asr_reply"] == "hello"  # 0.5 s speech: one word
    assert set(final) == {"asr_reply", "clientId", "time"}
    fake.assert_clean()


async def test_it_continues_the_script_across_utterances() -> None:
    async with FakeOpenMind(script=("a", "b", "c"), vad_silence_seconds=0.1) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=5, silence=1, until="committed")
        for _ in range(10):
            await ws.send(chunk())
        await ws.send(chunk(SILENCE))
        replies += await drain(ws, until="committed")
        await ws.close()
    assert [r["asr_reply"] for r in replies if r.get("type") == "committed"] == ["a", "b c"]
    fake.assert_clean()


async def test_it_sends_restart_info_and_stays_open() -> None:
    async with FakeOpenMind(restart_after_seconds=0.5) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=6, silence=0)
        await ws.send(chunk())  # still open after the restart
        replies += await drain(ws)
        await ws.close()
    infos = [r for r in replies if r.get("type") == "info"]
    assert infos == [{"type": "info", "message": "Recognition session restarted", "clientId": fake.client_ids[0]}]
    fake.assert_clean()


async def test_it_accepts_binary_form_b() -> None:
    header = json.dumps({"rate": RATE, "language_code": "en", "timestamp": 1738713600000}).encode()
    frame = struct.pack(">I", len(header)) + header + SPEECH
    async with FakeOpenMind() as fake:
        ws, _ = await open_ws(fake)
        for _ in range(5):
            await ws.send(frame)
        replies = await drain(ws)
        await ws.close()
    assert replies[-1]["type"] == "partial"
    assert bytes(fake.audio[0]) == SPEECH * 5
    fake.assert_clean()


async def test_it_accepts_later_messages_with_audio_only_or_same_config() -> None:
    async with FakeOpenMind() as fake:
        ws, _ = await open_ws(fake)
        await ws.send(chunk(**FIRST))
        await ws.send(chunk())
        await ws.send(chunk(**FIRST))  # OM1-MOD repeats all three keys
        await ws.close()  # the server handles queued frames before __aexit__ returns
    fake.assert_clean()


BAD_B64 = json.dumps({"audio": "not base64!!", **FIRST})
HEADER = json.dumps({"rate": RATE, "language_code": "en", "timestamp": 1}).encode()


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (["not json"], "not JSON"),
        (["[1]"], "not an object"),
        ([json.dumps(FIRST)], "'audio' must be a base64 string"),
        ([BAD_B64], "not valid base64"),
        ([chunk(b"", **FIRST)], "empty audio"),
        ([chunk(b"\x01\x00\x02", **FIRST)], "not whole s16le samples"),
        ([chunk()], "first message lacks ['rate', 'language_code']"),
        ([chunk(language_code="en")], "first message lacks ['rate']"),
        ([chunk(rate="16000", language_code="en")], "'rate' must be a positive integer"),
        ([chunk(rate=RATE, language_code="")], "'language_code' must be a non-empty string"),
        ([chunk(**FIRST, commit=True)], "unknown keys ['commit']"),
        ([chunk(**FIRST), chunk(rate=8000)], "rate changed 16000 -> 8000"),
        ([chunk(**FIRST), chunk(language_code="es")], "language_code changed 'en' -> 'es'"),
        ([chunk(**FIRST), struct.pack(">I", len(HEADER)) + HEADER + SPEECH], "switched from json frames"),
        ([b"\x00\x00"], "shorter than the 4-byte header"),
        ([struct.pack(">I", 99) + b"{}"], "runs past the frame"),
        ([struct.pack(">I", 2) + b"{x"], "not UTF-8 JSON"),
        ([struct.pack(">I", 2) + b"{}" + SPEECH], "first message lacks"),
    ],
)
async def test_it_detects_violation(frames: list[str | bytes], expected: str) -> None:
    async with FakeOpenMind() as fake:
        ws, _ = await open_ws(fake)
        for frame in frames:
            await ws.send(frame)
        await ws.close()  # the server handles queued frames before __aexit__ returns
    assert any(expected in v for v in fake.violations), fake.violations
    with pytest.raises(AssertionError):
        fake.assert_clean()


async def test_it_detects_undocumented_rate_when_strict() -> None:
    async with FakeOpenMind(strict_rates=True) as fake:
        ws, _ = await open_ws(fake)
        await ws.send(chunk(rate=48000, language_code="en"))
        await ws.close()  # the server handles queued frames before __aexit__ returns
    assert any("not in documented" in v for v in fake.violations)


async def test_it_defaults_rate_and_language_when_lenient() -> None:
    async with FakeOpenMind(require_first_config=False) as fake:
        ws, _ = await open_ws(fake)
        await ws.send(chunk())
        await ws.close()  # the server handles queued frames before __aexit__ returns
    fake.assert_clean()


# --- faults -------------------------------------------------------------------------------------
async def test_it_refuses_handshake_fault() -> None:
    async with FakeOpenMind(Faults(refuse_handshake=429)) as fake:
        with pytest.raises(InvalidStatus) as exc:
            await connect(fake.ws_url())
    assert exc.value.response.status_code == 429


async def test_it_drops_abruptly_then_keeps_audio_for_replay() -> None:
    async with FakeOpenMind(Faults(drop_after_chunks=3)) as fake:
        ws, _ = await open_ws(fake)
        with pytest.raises(ConnectionClosedError):
            for i in range(10):
                await ws.send(chunk(bytes([i + 1, 0]) * 1600, **FIRST))
                await asyncio.sleep(0.01)
            await ws.recv()
        ws2, _ = await open_ws(fake)  # drop_times=1: the second connection behaves
        await ws2.send(chunk(bytes([4, 0]) * 1600, **FIRST))
        await ws2.close()
    assert fake.drops_done == 1 and fake.connections == 2
    assert bytes(fake.audio[0]) + bytes(fake.audio[1]) == b"".join(bytes([i, 0]) * 1600 for i in (1, 2, 3, 4))
    fake.assert_clean()


@pytest.mark.parametrize("error_type", ["quota_exceeded", "transcriber_error", "rate_limited", ""])
async def test_it_sends_error_then_closes_with_close_code(error_type: str) -> None:
    faults = Faults(error_after_chunks=2, error_type=error_type, close_code=1011)
    async with FakeOpenMind(faults) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=3, silence=0)
        await ws.wait_closed()
    errors = [r for r in replies if r.get("type") == "error"]
    assert errors == [{"type": "error", "message": f"Speech recognition error: {error_type or 'error'}",
                       "clientId": fake.client_ids[0]}]  # fmt: skip
    assert ws.close_code == 1011
    assert len(fake.audio[0]) == 2 * len(SPEECH)


async def test_it_keeps_open_after_a_recoverable_error() -> None:
    async with FakeOpenMind(Faults(error_after_chunks=1, error_type="commit_throttled")) as fake:
        ws, _ = await open_ws(fake)
        replies = await speak(ws, speech=5, silence=0)
        await ws.close()
    assert replies[0]["type"] == "error" and replies[-1]["type"] == "partial"


def test_it_rejects_unknown_error_type() -> None:
    with pytest.raises(ValueError):
        FakeOpenMind(Faults(error_after_chunks=1, error_type="bogus"))


async def test_it_closes_at_once_with_close_code() -> None:
    async with FakeOpenMind(Faults(close_code=4001)) as fake:
        ws, hello = await open_ws(fake)
        await ws.wait_closed()
    assert hello["type"] == "connection" and ws.close_code == 4001


async def test_it_delays_replies() -> None:
    async with FakeOpenMind(Faults(reply_delay=0.1)) as fake:
        start = time.monotonic()
        ws, _ = await open_ws(fake)
        await ws.close()
    assert time.monotonic() - start >= 0.1


async def test_it_closes_after_silence_timeout() -> None:
    async with FakeOpenMind(silence_timeout_seconds=0.3) as fake:
        ws, _ = await open_ws(fake)
        await ws.send(chunk(SILENCE, **FIRST))
        for _ in range(3):
            await ws.send(chunk(SILENCE))
        await ws.wait_closed()
    assert ws.close_code == 1000
    fake.assert_clean()
