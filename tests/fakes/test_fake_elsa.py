"""The ELSA fake itself (PROTOCOLS.md §4), driven by plain websockets and httpx clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from speechsite.lib.audio import wav_header
from tests.fakes.base import Faults
from tests.fakes.client import send_then_read
from tests.fakes.elsa import SCRIPTED_REST, SCRIPTED_WS, UNSCRIPTED_REST, UNSCRIPTED_WS, FakeElsa
from tests.fakes.elsa_content import parse_multipart

RATE = 16000
START = {"type": "ELSA:start_stream", "data": {"stream_info": {"api_plan": "standard", "sentence": "pizza party"}}}
END = {"type": "ELSA:end_stream"}
CONFIG = {"api_plan": "standard", "return_json": True}


def talk(seconds: float) -> bytes:
    return b"\xe8\x03" * int(RATE * seconds)  # a constant 1000: loud enough to count as speech


def quiet(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def wav(pcm: bytes, rate: int = RATE) -> bytes:
    return wav_header(rate, len(pcm)) + pcm


def blocks(pcm: bytes) -> list[bytes]:
    return [wav(pcm[i : i + RATE]) for i in range(0, len(pcm), RATE)]  # 0.5 s each


def auth(token: str = "test-key", scheme: str = "ELSA") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    out = []
    while not out or out[-1].get("type", out[-1].get("status")) != kind:
        out.append(json.loads(await ws.recv()))
    return out


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("type") or m.get("status") for m in messages]


async def exchange(fake: FakeElsa, path: str, frames: list[Any]) -> tuple[list[dict], int | None]:
    """Send frames (dicts as JSON), then read until the connection ends."""
    async with connect(f"ws://127.0.0.1:{fake.port}{path}", additional_headers=auth()) as ws:
        messages = await send_then_read(ws, frames)
    return messages, ws.close_code


async def scripted(fake: FakeElsa, frames: list[Any], headers: dict[str, str] | None = None) -> list[dict]:
    async with connect(f"ws://127.0.0.1:{fake.port}{SCRIPTED_WS}", additional_headers=headers or auth()) as ws:
        for frame in frames:
            await ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)
        return await until(ws, "ELSA:ready")


async def test_it_scores_a_scripted_stream_with_one_ack_per_frame() -> None:
    async with FakeElsa() as fake:
        messages = await scripted(fake, [START, *blocks(talk(1.5)), END])
    fake.assert_clean()
    assert kinds(messages) == ["ELSA:wsConnect", "ELSA:start_stream_result"] + ["ELSA:audioACK"] * 3 + [
        "ELSA:decoding_result",
        "ELSA:ready",
    ]
    result = messages[-2]["data"]
    assert result["stream_finished"] is True
    utterance = result["utterance"][0]
    assert utterance["sentence"] == "pizza party" and utterance["attempt_type"] == "RELEVANT"
    pizza = utterance["words"][0]
    assert (pizza["text"], pizza["start_index"], pizza["end_index"]) == ("pizza", 0, 4)
    assert [(p["text"], p["trans_arpabet"]) for p in pizza["phonemes"]] == [
        ("p", "P"),
        ("i", "IH1"),
        ("zz", "Z"),
        ("a", "AE1"),
    ]
    assert utterance["words"][1]["start_index"] == 6, "indices are character positions in the sentence"


@pytest.mark.parametrize("scheme", ["ELSA", "Elsa", "Bearer"])
async def test_it_accepts_each_documented_scheme(scheme: str) -> None:
    async with FakeElsa() as fake:
        messages = await scripted(fake, [START, *blocks(talk(0.5)), END], headers=auth(scheme=scheme))
    assert kinds(messages)[-1] == "ELSA:ready" and fake.auth == [f"{scheme} test-key"]


@pytest.mark.parametrize(("token", "status"), [("wrong", 401), ("banned", 403)])
async def test_it_refuses_unknown_and_forbidden_tokens_at_the_handshake(token: str, status: int) -> None:
    async with FakeElsa(forbidden=("banned",)) as fake:
        with pytest.raises(InvalidStatus) as raised:
            await scripted(fake, [START], headers=auth(token))
    assert raised.value.response.status_code == status


async def test_it_flags_a_frame_that_is_not_a_standalone_16k_wav() -> None:
    async with FakeElsa() as fake:
        messages, code = await exchange(fake, SCRIPTED_WS, [START, wav(talk(0.5), rate=48000)])
    assert messages[-1]["type"] == "ELSA:error" and code == 1008 and "16 kHz" in fake.violations[0]


async def test_it_flags_raw_pcm_and_a_missing_sentence() -> None:
    async with FakeElsa() as fake:
        await exchange(fake, SCRIPTED_WS, [START, talk(0.5)])
        no_sentence = {"type": "ELSA:start_stream", "data": {"stream_info": {"api_plan": "standard"}}}
        await exchange(fake, SCRIPTED_WS, [no_sentence])
    assert "not a WAV file" in fake.violations[0] and "sentence" in fake.violations[1]


async def test_it_endpoints_on_trailing_silence_and_ignores_later_audio() -> None:
    async with FakeElsa(endpoint_silence=1.0) as fake:
        messages = await scripted(fake, [START, *blocks(talk(1.0) + quiet(1.0)), *blocks(talk(1.0)), END])
    fake.assert_clean()
    assert kinds(messages)[-4:] == ["ELSA:audioACK", "ELSA:stopped_listening", "ELSA:decoding_result", "ELSA:ready"]
    assert fake.streams[0].seconds == 2.0


async def test_it_endpoints_after_a_set_length_of_audio() -> None:
    async with FakeElsa(endpoint_after=1.0) as fake:
        messages = await scripted(fake, [START, *blocks(talk(3.0))])
    assert "ELSA:stopped_listening" in kinds(messages) and fake.streams[0].seconds == 1.0


async def test_it_sends_partial_results_before_the_final_one() -> None:
    async with FakeElsa(partial_every=2) as fake:
        messages = await scripted(fake, [START, *blocks(talk(1.0)), END])
    partials = [m["data"] for m in messages if m["type"] == "ELSA:decoding_result" and not m["data"]["stream_finished"]]
    assert partials == [{"stream_finished": False, "transcript": "pizza party"}]


async def test_it_leaves_unheard_words_unscored_and_marks_silence_unspoken() -> None:
    async with FakeElsa() as fake:
        short = await scripted(fake, [START, *blocks(talk(0.25)), END])
        silent = await scripted(fake, [START, *blocks(quiet(1.0)), END])
    words = short[-2]["data"]["utterance"][0]["words"]
    assert [w["nativeness_score"] is None for w in words] == [False, True]
    assert silent[-2]["data"]["utterance"][0]["attempt_type"] == "UNSPOKEN"


async def test_it_drops_only_the_first_connections() -> None:
    async with FakeElsa(faults=Faults(drop_after_chunks=2, drop_times=1)) as fake:
        _, code = await exchange(fake, SCRIPTED_WS, [START, *blocks(talk(1.5))])
        messages = await scripted(fake, [START, *blocks(talk(1.5)), END])
    assert code == 1006, "a drop is abrupt: no close frame"
    assert kinds(messages)[-1] == "ELSA:ready" and fake.connections == 2


async def test_it_sends_an_error_and_closes() -> None:
    async with FakeElsa(faults=Faults(error_after_chunks=1, error_type="Decoder crashed")) as fake:
        messages, code = await exchange(fake, SCRIPTED_WS, [START, *blocks(talk(0.5))])
    assert messages[-1] == {"type": "ELSA:error", "message": "Decoder crashed"} and code == 1011


async def test_it_can_refuse_the_start_with_an_error_for_the_first_connections() -> None:
    async with FakeElsa(start_error="Invalid token", error_times=1) as fake:
        first, _ = await exchange(fake, UNSCRIPTED_WS, [CONFIG])
        second = await scripted(fake, [START, *blocks(talk(0.5)), END])
    assert first == [{"type": "ELSA:error", "message": "Invalid token"}] and kinds(second)[-1] == "ELSA:ready"


async def unscripted(fake: FakeElsa, frames: list[Any]) -> list[dict]:
    return (await exchange(fake, UNSCRIPTED_WS, frames))[0]


async def test_it_runs_the_unscripted_status_sequence_with_an_inline_result() -> None:
    async with FakeElsa() as fake, httpx.AsyncClient() as http:
        messages = await unscripted(fake, [CONFIG, *blocks(talk(1.0)), END])
        success = messages[2]
        fetched = await http.get(success["result_link"], headers=auth())
        refused = await http.get(success["result_link"])
    fake.assert_clean()
    assert messages[0] == {"status": "processing", "stream_id": "fake-stream-0"}
    assert messages[1] == {"status": "processing", "message": "Finished receiving audio"}
    assert success["status"] == "success" and success["result"]["transcript"] == "hello world"
    assert fetched.json() == success["result"] and refused.status_code == 401


@pytest.mark.parametrize("final", ["failed", "bad_quality", "mystery"])
async def test_it_can_end_unscripted_with_any_status(final: str) -> None:
    async with FakeElsa(statuses=("accepted", "paused"), final_status=final, reason="Too noisy") as fake:
        messages = await unscripted(fake, [CONFIG, *blocks(talk(0.5)), END])
    assert kinds(messages)[2:] == ["accepted", "paused", final] and messages[-1]["reason"] == "Too noisy"


async def test_it_flags_an_unscripted_config_with_a_type() -> None:
    async with FakeElsa() as fake:
        messages = await unscripted(fake, [{"type": "ELSA:start_stream", **CONFIG}])
    assert messages[-1]["type"] == "ELSA:error" and "without `type`" in fake.violations[0]


def form(fields: dict[str, str], audio: bytes, name: str = "audio_file") -> dict[str, Any]:
    return {"data": fields, "files": {name: ("a.wav", audio, "audio/wav")}}


async def test_it_scores_a_scripted_file_over_rest_and_records_the_form() -> None:
    audio = wav(talk(1.0))
    async with FakeElsa() as fake, httpx.AsyncClient() as http:
        response = await http.post(
            fake.http_url + SCRIPTED_REST,
            headers=auth(),
            **form({"sentence": "pizza party", "api_plan": "premium"}, audio),
        )
    assert response.status_code == 200
    assert response.json()["utterance"][0]["words"][0]["phonemes"][0]["feedback"], "premium adds feedback"
    record = fake.http[0]
    assert record.fields == {"sentence": "pizza party", "api_plan": "premium"}
    assert record.files["audio_file"] == ("a.wav", "audio/wav", audio)


@pytest.mark.parametrize(
    ("path", "fields", "audio", "missing"),
    [
        (SCRIPTED_REST, {"api_plan": "standard"}, True, "sentence"),
        (UNSCRIPTED_REST, {"api_plan": "standard"}, True, "return_json"),
        (UNSCRIPTED_REST, {"return_json": "true"}, True, "api_plan"),
        (SCRIPTED_REST, {"sentence": "hi"}, False, "audio_file"),
    ],
)
async def test_it_answers_400_when_a_required_field_is_missing(path, fields, audio, missing) -> None:
    async with FakeElsa() as fake, httpx.AsyncClient() as http:
        name = "audio_file" if audio else "recording"
        response = await http.post(fake.http_url + path, headers=auth(), **form(fields, wav(talk(0.5)), name))
    assert response.status_code == 400 and missing in response.json()["detail"]


async def test_it_injects_rest_failures_then_recovers() -> None:
    async with FakeElsa(rest_failures=(503, 429)) as fake, httpx.AsyncClient() as http:
        statuses = [
            (
                await http.post(
                    fake.http_url + SCRIPTED_REST, headers=auth(), **form({"sentence": "a"}, wav(talk(0.5)))
                )
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [503, 429, 200]


async def test_it_answers_the_unscripted_rest_endpoint_in_every_style() -> None:
    fields = {"api_plan": "standard", "return_json": "true"}
    async with FakeElsa(rest_plus_style="link") as fake, httpx.AsyncClient() as http:
        body = (await http.post(fake.http_url + UNSCRIPTED_REST, headers=auth(), **form(fields, wav(talk(1.0))))).json()
        linked = (await http.get(body["result_link"], headers=auth())).json()
    assert body["status"] == "success" and "result" not in body and linked["transcript"] == "hello world"


async def test_it_refuses_a_wrong_token_and_a_fixed_status_over_rest() -> None:
    async with FakeElsa() as fake, httpx.AsyncClient() as http:
        wrong = await http.post(fake.http_url + SCRIPTED_REST, headers=auth("x"), **form({"sentence": "a"}, b""))
    async with FakeElsa(rest_status=404) as fake, httpx.AsyncClient() as http:
        missing = await http.post(fake.http_url + SCRIPTED_REST, headers=auth(), **form({"sentence": "a"}, b""))
    assert (wrong.status_code, missing.status_code) == (401, 404)


def test_it_parses_multipart_exactly() -> None:
    payload = b"\r\n--x\r\nbinary\r\n"
    body = (
        b'--b\r\nContent-Disposition: form-data; name="sentence"\r\n\r\nhi there\r\n'
        b'--b\r\nContent-Disposition: form-data; name="audio_file"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n" + payload + b"\r\n--b--\r\n"
    )
    assert parse_multipart("multipart/form-data; boundary=b", body) == (
        {"sentence": "hi there"},
        {"audio_file": ("a.wav", "audio/wav", payload)},
    )
    assert "multipart/form-data" in parse_multipart("application/json", b"{}")
