"""Assess mode through ELSA: the socket against the fake ELSA server, and uploads scored by REST."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.urls import reverse

from speechsite.providers.models import ProviderKey
from speechsite.speech import uploads
from speechsite.speech.models import Assessment, Recording
from tests.fakes.elsa import FakeElsa
from tests.speech.test_consumer_providers import SECRET, add_key, point_at
from tests.speech.wsclient import events_until, of_type, open_socket, receive_json, send_json, stream_fixture
from tests.support.audio_files import FOX, encode

pytestmark = pytest.mark.django_db(transaction=True)

FOX_TEXT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.PROVIDER_RETRY_FIRST_DELAY = 0.01
    settings.PROVIDER_RETRY_TRIES = 3


async def start(ws, **fields) -> dict:
    await send_json(ws, type="start", format="json", provider="elsa", mode="assess", **fields)
    started = await receive_json(ws)
    assert started["type"] == "session_started", started
    return started


async def test_it_scores_a_scripted_sentence_through_elsa_and_stores_its_json(settings, student):
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        ws = await open_socket(student)
        started = await start(ws, expected_text=FOX_TEXT)
        await stream_fixture(ws, "fox_slt", trailing_silence=0.5)
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    fake.assert_clean()
    assert fake.streams[0].start["sentence"] == FOX_TEXT
    (assessment,) = of_type(events, "assessment")
    assert [w["text"].lower() for w in assessment["words"]][:3] == ["the", "quick", "brown"]
    assert assessment["provider_raw"] and 0 <= assessment["overall"] <= 100
    stored = await Assessment.objects.aget(recording_id=started["recording_id"])
    assert stored.provider_raw == assessment["provider_raw"] and stored.expected_text == FOX_TEXT
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.COMPLETED and recording.provider == "elsa"


async def test_elsas_stopped_listening_becomes_our_endpoint(settings, student):
    async with FakeElsa(keys=(SECRET,), endpoint_silence=0.6) as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        ws = await open_socket(student)
        await start(ws, expected_text=FOX_TEXT)
        await stream_fixture(ws, "fox_slt", trailing_silence=1.5)
        events = await events_until(ws, "endpoint")
        assert events[-1] == {"type": "endpoint"}
        await send_json(ws, type="stop")
        assert of_type(await events_until(ws, "session_ended"), "assessment")


async def test_it_scores_free_speech_unscripted_through_elsa(settings, student):
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        ws = await open_socket(student)
        await start(ws)
        await stream_fixture(ws, "fox_slt")
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    assert fake.streams[0].kind == "unscripted"
    (assessment,) = of_type(events, "assessment")
    assert assessment["expected_text"] == "" and assessment["overall"] is not None


@pytest.mark.parametrize("status", ["failed", "bad_quality"])
async def test_it_shows_elsas_reason_when_it_cannot_score(settings, student, status):
    async with FakeElsa(keys=(SECRET,), final_status=status, reason="The audio is too noisy") as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        ws = await open_socket(student)
        started = await start(ws)
        await stream_fixture(ws, "fox_slt")
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    error = of_type(events, "error")[-1]
    assert error["code"] == f"elsa_{status}" and "The audio is too noisy" in error["message"]
    assert SECRET not in str(events)
    assert not await Assessment.objects.filter(recording_id=started["recording_id"]).aexists()


async def test_an_uploaded_file_is_scored_by_elsas_rest_api(settings, student, tmp_path):
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        key = await add_key("elsa")
        client = AsyncClient()
        await sync_to_async(client.force_login)(student)
        upload = encode(FOX, tmp_path / "fox.m4a")
        data = {
            "provider": "elsa",
            "expected_text": FOX_TEXT,
            "audio": SimpleUploadedFile("fox.m4a", upload.read_bytes()),
        }
        response = await client.post(reverse("practice:upload"), data, headers={"HX-Request": "true"})
        assert response.status_code == 200, response.content
        recording_id = response.context["recording"].pk
        await uploads.wait(recording_id)
    (post,) = [r for r in fake.http if r.method == "POST"]
    assert post.path == "/api/v2/score_audio" and post.fields["sentence"] == FOX_TEXT
    assert post.files["audio_file"][2][:4] == b"RIFF"  # the decoded audio, as one WAV
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.status == Recording.Status.COMPLETED, recording.error_message
    assessment = await Assessment.objects.aget(recording=recording)
    assert assessment.provider_raw and assessment.words
    assert (await ProviderKey.objects.aget(pk=key.pk)).last_used_at is not None


async def test_an_upload_without_a_sentence_goes_to_elsas_unscripted_rest_api(settings, student, tmp_path):
    async with FakeElsa(keys=(SECRET,)) as fake:
        point_at(settings, "elsa", fake)
        await add_key("elsa")
        client = AsyncClient()
        await sync_to_async(client.force_login)(student)
        wav = Path(encode(FOX, tmp_path / "fox.wav"))
        data = {"provider": "elsa", "audio": SimpleUploadedFile("fox.wav", wav.read_bytes())}
        response = await client.post(reverse("practice:upload"), data, headers={"HX-Request": "true"})
        await uploads.wait(response.context["recording"].pk)
    (post,) = [r for r in fake.http if r.method == "POST"]
    assert post.path == "/api/v1/score_audio_plus" and post.fields["return_json"] in ("true", "True")
    recording = await Recording.objects.select_related("assessment").aget(pk=response.context["recording"].pk)
    assert recording.status == Recording.Status.COMPLETED and recording.assessment.overall is not None
