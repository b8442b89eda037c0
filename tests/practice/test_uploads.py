"""Uploading a recording instead of speaking: decoded, then scored or transcribed like a live one."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.urls import reverse

from speechsite.speech import uploads
from speechsite.speech.models import Assessment, Recording
from tests.support.audio_files import FOX, encode, long_wav

pytestmark = pytest.mark.django_db(transaction=True)

FOX_TEXT = "The quick brown fox jumps over the lazy dog."


def as_upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


async def post(client: AsyncClient, path: Path, **fields) -> object:
    data = {"provider": "local", "expected_text": "", **fields, "audio": as_upload(path)}
    return await client.post(reverse("practice:upload"), data, headers={"HX-Request": "true"})


async def finished(response) -> Recording:
    recording_id = response.context["recording"].pk
    await uploads.wait(recording_id)
    return await Recording.objects.select_related("assessment").aget(pk=recording_id)


async def test_it_scores_an_uploaded_mp3_against_its_sentence(alice, tmp_path):
    response = await post(alice, encode(FOX, tmp_path / "fox.mp3"), expected_text=FOX_TEXT)
    assert response.status_code == 200
    assert b'id="upload-status"' in response.content and b"every 500ms" in response.content
    recording = await finished(response)
    assert recording.status == Recording.Status.COMPLETED and recording.progress == 1.0, recording.error_message
    assert recording.mode == "assess" and recording.uploaded_name == "fox.mp3"
    assessment = await Assessment.objects.aget(recording=recording)
    assert [w["text"] for w in assessment.words][:3] == ["The", "quick", "brown"]
    assert assessment.overall is not None
    assert recording.duration == pytest.approx(3.27, abs=0.4)  # mp3 encoding trims a little


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".webm", ".m4a"])
async def test_it_transcribes_each_supported_format_without_a_sentence(alice, tmp_path, suffix):
    response = await post(alice, encode(FOX, tmp_path / f"fox{suffix}", rate=44100, channels=2))
    recording = await finished(response)
    assert recording.status == Recording.Status.COMPLETED, recording.error_message
    assert recording.mode == "transcribe"
    transcript = await sync_to_async(lambda: recording.transcript)()
    assert {"quick", "fox", "lazy"} <= set(transcript.split())


async def test_the_status_fragment_shows_the_result_when_done(alice, tmp_path):
    response = await post(alice, encode(FOX, tmp_path / "fox.flac"), expected_text=FOX_TEXT)
    recording = await finished(response)
    fragment = await alice.get(reverse("practice:upload_status", args=[recording.pk]), headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert 'data-status="completed"' in html and "every 500ms" not in html
    assert 'class="word band-' in html and "audio.wav" in html


async def test_it_rejects_a_file_that_is_not_audio(alice, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("These are my notes, not a recording.\n" * 20)
    response = await post(alice, text, expected_text=FOX_TEXT)
    assert response.status_code == 422
    assert b"not audio" in response.content.lower()
    assert not await Recording.objects.aexists()


async def test_it_rejects_a_recording_too_long_to_score(alice, tmp_path, settings):
    settings.UPLOAD_MAX_SECONDS_SCORED = 5
    response = await post(alice, long_wav(tmp_path / "long.wav", 8), expected_text=FOX_TEXT)
    assert response.status_code == 422
    assert b"the limit is 5 s" in response.content
    assert not await Recording.objects.aexists()


async def test_it_rejects_a_file_over_the_size_limit(alice, tmp_path, settings):
    settings.UPLOAD_MAX_BYTES = 50_000
    response = await post(alice, long_wav(tmp_path / "big.wav", 3))
    assert response.status_code == 422
    assert b"larger than" in response.content


async def test_it_asks_for_the_sentence_when_scoring_with_a_transcriber(alice, tmp_path):
    from tests.speech.test_views import add_key

    await sync_to_async(add_key)("elevenlabs")
    response = await post(alice, encode(FOX, tmp_path / "fox.wav"), provider="elevenlabs", expected_text=FOX_TEXT)
    assert response.status_code == 422
    assert b"cannot score pronunciation" in response.content


async def test_it_keeps_an_upload_with_no_speech_and_says_why(alice, tmp_path):
    silence = Path(__file__).parents[1] / "fixtures" / "audio" / "silence.wav"
    response = await post(alice, silence, expected_text=FOX_TEXT)
    recording = await finished(response)
    assert recording.status == Recording.Status.COMPLETED
    assert recording.error_code == "no_speech" and "speech" in recording.error_message.lower()


async def test_the_uploaded_file_is_not_kept_after_decoding(alice, tmp_path, private_media):
    response = await post(alice, encode(FOX, tmp_path / "fox.mp3"), expected_text=FOX_TEXT)
    await finished(response)
    assert list((private_media / "uploads").iterdir()) == []


async def test_another_learner_cannot_see_an_upload(alice, tmp_path, outsider):
    response = await post(alice, encode(FOX, tmp_path / "fox.wav"))
    recording = await finished(response)
    mallory = AsyncClient()
    await sync_to_async(mallory.force_login)(outsider)
    assert (await mallory.get(reverse("practice:upload_status", args=[recording.pk]))).status_code == 404


async def test_an_anonymous_upload_is_sent_to_sign_in(tmp_path):
    response = await AsyncClient().post(
        reverse("practice:upload"), {"audio": as_upload(encode(FOX, tmp_path / "f.wav"))}
    )
    assert response.status_code == 302 and reverse("login") in response["Location"]


async def test_the_upload_page_prefills_an_exercise(alice):
    from speechsite.practice.models import Exercise

    exercise = await Exercise.objects.acreate(text=FOX_TEXT)
    page = (await alice.get(reverse("practice:upload"), {"exercise": exercise.pk})).content.decode()
    assert FOX_TEXT in page and 'enctype="multipart/form-data"' in page and 'id="upload-progress"' in page
