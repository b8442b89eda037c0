"""DESIGN.md section 4: each bad input gets a clear error event and breaks nothing else."""

from __future__ import annotations

import json

import pytest

from speechsite.speech.models import Recording
from tests.speech.wsclient import events_until, of_type, open_socket, receive_json, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)


async def started_socket(user, **start):
    ws = await open_socket(user)
    await send_json(ws, type="start", format="json", **start)
    event = await receive_json(ws)
    assert event["type"] == "session_started", event
    return ws, event["recording_id"]


async def expect_error(ws, code: str) -> dict:
    event = await receive_json(ws)
    assert event["type"] == "error", event
    assert event["code"] == code
    assert event["fatal"] is False
    assert len(event["message"]) > 10
    return event


async def still_transcribes(ws) -> None:
    """After the bad input the same socket still works to the end."""
    await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert "fox" in " ".join(e["text"] for e in of_type(events, "committed_transcript"))


async def test_it_rejects_text_that_is_not_json(student):
    ws, _ = await started_socket(student)
    await ws.send_to(text_data="not json at all")
    await expect_error(ws, "invalid_json")
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_json_without_a_type(student):
    ws, _ = await started_socket(student)
    await ws.send_to(text_data=json.dumps([1, 2]))
    await expect_error(ws, "invalid_message")
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_an_unknown_type(student):
    ws, _ = await started_socket(student)
    await send_json(ws, type="dance")
    event = await expect_error(ws, "unknown_type")
    assert "dance" in event["message"]
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_audio_before_start(student):
    ws = await open_socket(student)
    await ws.send_to(bytes_data=b"\x00\x01" * 800)
    await expect_error(ws, "audio_before_start")
    await send_json(ws, type="start", format="json")
    assert (await receive_json(ws))["type"] == "session_started"
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_odd_byte_frames(student):
    ws, recording_id = await started_socket(student)
    await ws.send_to(bytes_data=b"\x00\x01\x02")
    await expect_error(ws, "odd_byte_count")
    await still_transcribes(ws)
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.duration == pytest.approx(3.27, abs=0.05)  # the bad frame was not stored
    await ws.disconnect()


async def test_it_rejects_frames_over_one_second(student):
    ws, _ = await started_socket(student)
    await ws.send_to(bytes_data=b"\x00\x00" * 16000 * 3)
    event = await expect_error(ws, "frame_too_large")
    assert "1 s" in event["message"]
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_an_unsupported_sample_rate(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", sample_rate=12345)
    event = await expect_error(ws, "unsupported_sample_rate")
    assert "16000" in event["message"]
    await send_json(ws, type="start", format="json")  # a corrected start is accepted
    assert (await receive_json(ws))["type"] == "session_started"
    await still_transcribes(ws)
    await ws.disconnect()


async def test_it_rejects_an_unknown_provider(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", provider="nope")
    event = await expect_error(ws, "unknown_provider")
    assert "local" in event["message"]
    assert await Recording.objects.acount() == 0
    await ws.disconnect()


async def test_it_rejects_a_second_start(student):
    ws, _ = await started_socket(student)
    await send_json(ws, type="start", format="json")
    await expect_error(ws, "already_started")
    await still_transcribes(ws)
    assert await Recording.objects.acount() == 1
    await ws.disconnect()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("mode", "sing", "invalid_mode"),
        ("format", "xml", "invalid_format"),
        ("commit_strategy", "sometimes", "invalid_commit_strategy"),
        ("language", "", "invalid_language"),
        ("vad_silence_ms", 50, "invalid_vad_silence_ms"),
    ],
)
async def test_it_rejects_bad_start_fields(student, field, value, code):
    ws = await open_socket(student)
    await send_json(ws, type="start", **{"format": "json", field: value})
    await expect_error(ws, code)
    await ws.disconnect()


async def test_it_rejects_a_language_the_engine_lacks(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", language="fr")
    event = await expect_error(ws, "unsupported_language")
    assert "en" in event["message"]
    await ws.disconnect()


async def test_it_rejects_empty_expected_text(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", mode="assess", expected_text="   ")
    await expect_error(ws, "empty_expected_text")
    await ws.disconnect()


@pytest.mark.parametrize("provider", ["elevenlabs", "openmind", "prosa", "elsa"])
async def test_it_explains_a_missing_key_and_stores_nothing(student, provider):
    ws = await open_socket(student)
    mode = "assess" if provider == "elsa" else "transcribe"
    language = "id" if provider == "prosa" else "en"
    await send_json(ws, type="start", format="json", provider=provider, language=language, mode=mode)
    error = await expect_error(ws, "missing_key")
    assert "administrator" in error["message"] and not error["fatal"]
    assert await Recording.objects.acount() == 0
    await ws.disconnect()


async def test_it_rejects_audio_after_stop(student):
    ws, _ = await started_socket(student, commit_strategy="manual")
    await send_json(ws, type="stop")
    await events_until(ws, "session_ended")
    assert (await ws.receive_output(timeout=5))["code"] == 1000
    await ws.disconnect()


async def test_commit_and_stop_before_start_are_errors(student):
    ws = await open_socket(student)
    await send_json(ws, type="commit")
    await expect_error(ws, "commit_before_start")
    await send_json(ws, type="stop")
    await expect_error(ws, "stop_before_start")
    await ws.disconnect()


async def test_errors_before_start_are_html_when_the_url_asks(student):
    ws = await open_socket(student, "/ws/speech/?format=html")
    await ws.send_to(bytes_data=b"\x00\x00" * 10)
    html = await ws.receive_from(timeout=5)
    assert 'id="notices"' in html and 'data-code="audio_before_start"' in html
    await ws.disconnect()


async def test_it_says_when_a_transcriber_cannot_assess(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", mode="assess", provider="elevenlabs", expected_text="Hi there.")
    event = await expect_error(ws, "assess_unsupported")
    assert "pronunciation" in event["message"]
    await ws.disconnect()
