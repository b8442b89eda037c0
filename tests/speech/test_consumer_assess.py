"""Assess mode through the socket with the embedded scorer: endpoint, assessment, storage."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from speechsite.practice.models import Exercise
from speechsite.speech.models import Assessment, Recording
from tests.speech.wsclient import events_until, of_type, open_socket, receive_json, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)

FOX = "The quick brown fox jumps over the lazy dog."


async def start_assessing(ws, **fields) -> dict:
    await send_json(ws, type="start", mode="assess", format="json", **fields)
    started = await receive_json(ws)
    assert started["type"] == "session_started", started
    return started


async def test_it_scores_a_read_sentence_and_stores_the_assessment(student):
    ws = await open_socket(student)
    started = await start_assessing(ws, expected_text=FOX)
    await stream_fixture(ws, "fox_slt", trailing_silence=1.5)
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    (assessment,) = of_type(events, "assessment")
    assert {"overall", "accuracy", "fluency", "completeness", "words", "provider_raw"} <= assessment.keys()
    assert [w["text"] for w in assessment["words"]] == [
        "The",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
    ]
    assert all(0 <= w["score"] <= 100 for w in assessment["words"])
    assert {"symbol", "score", "ipa"} <= assessment["words"][3]["phonemes"][0].keys()
    assert assessment["recording_id"] == started["recording_id"]
    stored = await Assessment.objects.aget(recording_id=started["recording_id"])
    assert stored.overall == assessment["overall"] and stored.expected_text == FOX
    assert len(stored.words) == 9 and stored.provider_raw
    await ws.disconnect()


async def test_it_sends_an_endpoint_after_the_sentence_and_a_pause(student):
    ws = await open_socket(student)
    await start_assessing(ws, expected_text=FOX)
    await stream_fixture(ws, "fox_slt", trailing_silence=1.5)
    events = await events_until(ws, "endpoint")
    assert events[-1] == {"type": "endpoint"}
    await send_json(ws, type="stop")
    assert of_type(await events_until(ws, "session_ended"), "assessment")
    await ws.disconnect()


async def test_it_takes_the_sentence_from_an_exercise(student):
    exercise = await Exercise.objects.acreate(title="Fox", text=FOX)
    ws = await open_socket(student)
    started = await start_assessing(ws, exercise_id=exercise.pk)
    await stream_fixture(ws, "fox_slt", trailing_silence=1.0)
    await send_json(ws, type="stop")
    await events_until(ws, "session_ended")
    stored = await Assessment.objects.aget(recording_id=started["recording_id"])
    assert stored.exercise_id == exercise.pk and stored.expected_text == FOX
    await ws.disconnect()


async def test_it_refuses_an_unknown_exercise(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", mode="assess", format="json", exercise_id=999)
    error = await receive_json(ws)
    assert error["type"] == "error" and error["code"] == "unknown_exercise" and not error["fatal"]
    await ws.disconnect()


async def test_it_asks_for_the_sentence_when_the_embedded_engine_has_none(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", mode="assess", format="json")
    error = await receive_json(ws)
    assert error["code"] == "expected_text_required"
    assert "expected_text" in error["message"]
    await ws.disconnect()


async def test_it_reports_no_speech_for_silence_and_still_keeps_the_recording(student):
    ws = await open_socket(student)
    started = await start_assessing(ws, expected_text=FOX)
    await stream_fixture(ws, "silence")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    (error,) = of_type(events, "error")
    assert error["code"] == "no_speech" and not error["fatal"]
    assert not of_type(events, "assessment")
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.COMPLETED and recording.duration > 1.5
    assert not await sync_to_async(Assessment.objects.filter(recording=recording).exists)()
    await ws.disconnect()


async def test_it_renders_the_assessment_as_a_fragment_in_html_format(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", mode="assess", format="html", expected_text=FOX)
    await ws.receive_from(timeout=10)
    await stream_fixture(ws, "fox_slt", trailing_silence=1.0)
    await send_json(ws, type="stop")
    html = ""
    while "session-status" not in html or 'data-state="ended"' not in html:
        html = await ws.receive_from(timeout=20)
        if 'id="assessment"' in html:
            fragment = html
    assert 'hx-swap-oob="true"' in fragment and 'class="word band-' in fragment
    assert "audio.wav" in fragment and 'data-symbol="F"' in fragment
    await ws.disconnect()
