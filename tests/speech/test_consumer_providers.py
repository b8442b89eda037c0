"""The /ws/speech/ socket through each remote provider, against its fake vendor on loopback."""

from __future__ import annotations

import json
import wave

import pytest
from asgiref.sync import sync_to_async

from speechsite.providers.models import ProviderKey
from speechsite.speech.models import Recording
from tests.fakes.base import Faults
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.openmind import FakeOpenMind
from tests.fakes.prosa import FakeProsa
from tests.speech.wsclient import events_until, of_type, open_socket, receive_json, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)

FAKES = {"elevenlabs": FakeElevenLabs, "openmind": FakeOpenMind, "prosa": FakeProsa}
LANGUAGE = {"elevenlabs": "en", "openmind": "en", "prosa": "id"}
SECRET = "school-secret-0042"


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.PROVIDER_RETRY_FIRST_DELAY = 0.01
    settings.PROVIDER_RETRY_TRIES = 3


def point_at(settings, provider: str, fake) -> None:
    settings.PROVIDER_URLS = {**settings.PROVIDER_URLS, provider: fake.http_url}


@sync_to_async
def add_key(provider: str, secret: str = SECRET, label: str = "school", priority: int = 0) -> ProviderKey:
    key = ProviderKey(provider=provider, label=label, priority=priority)
    key.set_secret(secret)
    key.save()
    return key


async def start(ws, provider: str, **fields) -> dict:
    await send_json(ws, type="start", format="json", provider=provider, language=LANGUAGE[provider], **fields)
    started = await receive_json(ws)
    assert started["type"] == "session_started", started
    return started


async def frames_received(ws) -> list[str]:
    """Everything the socket still has for us, raw."""
    frames = []
    while not await ws.receive_nothing(timeout=0.2):
        output = await ws.receive_output()
        frames.append(output.get("text", "") or str(output))
    return frames


@pytest.mark.parametrize("provider", sorted(FAKES))
async def test_it_transcribes_through_each_provider(settings, student, provider):
    async with FAKES[provider](keys=(SECRET,)) as fake:
        point_at(settings, provider, fake)
        key = await add_key(provider)
        ws = await open_socket(student)
        started = await start(ws, provider)
        pcm = await stream_fixture(ws, "fox_slt", trailing_silence=2.0)
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
        assert (await ws.receive_output(timeout=5))["code"] == 1000
    fake.assert_clean()
    assert not of_type(events, "error"), events
    assert of_type(events, "partial_transcript"), f"{provider}: no partials"
    segments = of_type(events, "committed_transcript")
    assert segments and all(s["text"] for s in segments)
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.COMPLETED and recording.provider == provider
    assert await recording.segments.acount() == len(segments)
    with wave.open(str(recording.audio_file)) as stored:
        assert stored.getnframes() * 2 == len(pcm)
    await key.arefresh_from_db()
    assert key.last_used_at is not None and not key.last_error


async def test_elevenlabs_words_carry_timings(settings, student):
    async with FakeElevenLabs(keys=(SECRET,), script=["one", "two", "three", "four"]) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs")
        ws = await open_socket(student)
        await start(ws, "elevenlabs", commit_strategy="manual")
        await stream_fixture(ws, "fox_slt")
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    (segment,) = of_type(events, "committed_transcript")
    assert segment["words"][0] == {"text": "one", "start": 0.0, "end": 0.4, "confidence": 0.951}


async def test_it_fails_over_to_the_second_key_and_records_why(settings, student):
    async with FakeElevenLabs(keys=("the-good-key",)) as fake:
        point_at(settings, "elevenlabs", fake)
        revoked = await add_key("elevenlabs", secret="the-revoked-key", label="old", priority=10)
        good = await add_key("elevenlabs", secret="the-good-key", label="new", priority=1)
        ws = await open_socket(student)
        await start(ws, "elevenlabs")
        await stream_fixture(ws, "fox_slt")
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    assert of_type(events, "committed_transcript") and not of_type(events, "error")
    await revoked.arefresh_from_db()
    await good.arefresh_from_db()
    assert "rejected the API key" in revoked.last_error and revoked.last_error_at is not None
    assert good.last_used_at is not None and not good.last_error
    assert "the-good-key" not in json.dumps(events) and "the-revoked-key" not in json.dumps(events)


async def test_when_every_key_is_refused_the_learner_is_told_and_nothing_hangs(settings, student):
    async with FakeElevenLabs(keys=("nobody-has-this",)) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs")
        ws = await open_socket(student)
        started = await start(ws, "elevenlabs")
        error = await receive_json(ws)
        closed = await ws.receive_output(timeout=5)
    assert error["type"] == "error" and error["code"] == "provider_auth_failed" and error["fatal"]
    assert "ElevenLabs rejected the API key" in error["message"] and SECRET not in error["message"]
    assert closed["code"] == 4403
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.FAILED and recording.error_code == "provider_auth_failed"


async def test_a_vendor_drop_loses_no_audio_and_leaves_no_hole(settings, student):
    async with FakeElevenLabs(keys=(SECRET,), faults=Faults(drop_after_chunks=12)) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs")
        ws = await open_socket(student)
        started = await start(ws, "elevenlabs", commit_strategy="manual")
        pcm = await stream_fixture(ws, "two_sentences")
        await send_json(ws, type="stop")
        events = await events_until(ws, "session_ended")
    fake.assert_clean()
    assert fake.connections == 2 and not of_type(events, "error")
    assert fake.audio[0] == pcm[: 12 * 3200] and fake.audio[1] == pcm, "uncommitted audio was not replayed whole"
    (segment,) = of_type(events, "committed_transcript")
    assert segment["start"] == 0.0 and segment["end"] > len(pcm) / 32000 - 1
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.COMPLETED


async def test_when_retries_run_out_the_recording_is_interrupted_with_what_was_received(settings, student):
    faults = Faults(drop_after_chunks=25, drop_times=99)
    async with FakeElevenLabs(keys=(SECRET,), faults=faults) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs")
        ws = await open_socket(student)
        started = await start(ws, "elevenlabs", commit_strategy="manual")
        await stream_fixture(ws, "fox_slt", trailing_silence=0)
        events = await events_until(ws, "session_ended", timeout=10)
        closed = await ws.receive_output(timeout=5)
    error = events[-1]
    assert error["type"] == "error" and error["fatal"] and error["code"] == "provider_dropped"
    assert closed["code"] == 4503
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.INTERRUPTED and recording.error_code == "provider_dropped"
    assert recording.duration > 2, "the audio received before the vendor gave up was not kept"


async def test_the_secret_never_reaches_the_socket(settings, student):
    async with FakeElevenLabs(keys=("another",)) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs")
        ws = await open_socket(student)
        await send_json(ws, type="start", format="html", provider="elevenlabs")
        frames = await frames_received(ws)
    assert frames and not any(SECRET in frame or SECRET[-4:] in frame for frame in frames)
