"""The /ws/speech/ socket end to end with the real engine: JSON format, storage, auth."""

from __future__ import annotations

import wave

import pytest
from asgiref.sync import sync_to_async

from speechsite.speech.models import Recording
from tests.speech.wsclient import (
    events_until,
    of_type,
    open_full_stack,
    open_socket,
    receive_json,
    send_json,
    stream_fixture,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_transcribes_a_fixture_sentence(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    started = await receive_json(ws)
    assert started["type"] == "session_started"
    assert started["provider"] == "local" and started["mode"] == "transcribe"
    await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    (commit,) = of_type(events, "committed_transcript")
    assert {"quick", "brown", "fox", "lazy", "dog"} <= set(commit["text"].split())
    assert {"text", "start", "end", "confidence"} <= commit["words"][0].keys()
    assert of_type(events, "partial_transcript")
    ended = events[-1]
    assert ended["recording_id"] == started["recording_id"]
    assert ended["seconds"] == pytest.approx(3.27, abs=0.1)
    assert (await ws.receive_output(timeout=5))["code"] == 1000
    await ws.disconnect()


async def test_it_stores_the_recording_with_audio_and_segments(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    recording_id = (await receive_json(ws))["recording_id"]
    pcm = await stream_fixture(ws, "two_sentences")
    await send_json(ws, type="stop")
    await events_until(ws, "session_ended")
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.user_id == student.pk
    assert recording.status == Recording.Status.COMPLETED
    assert recording.ended_at is not None
    assert recording.duration == pytest.approx(len(pcm) / 32000, abs=0.01)
    segments = await sync_to_async(list)(recording.segments.all())
    assert [s.index for s in segments] == [0, 1]
    assert "fox" in segments[0].text and segments[1].start > segments[0].end
    with wave.open(str(recording.audio_file)) as wav:
        assert wav.getnframes() * 2 == len(pcm)
    await ws.disconnect()


async def test_manual_commit_commits_on_request(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", commit_strategy="manual")
    await receive_json(ws)
    await stream_fixture(ws, "fox_slt", trailing_silence=1.5)
    await send_json(ws, type="commit")
    events = await events_until(ws, "committed_transcript")
    assert "fox" in events[-1]["text"]
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert of_type(events, "committed_transcript") == []
    await ws.disconnect()


async def test_it_resamples_48_khz_audio(student):
    from speechsite.lib.audio import read_wav, resample
    from tests.conftest import fixture_audio

    pcm, _ = read_wav(fixture_audio("fox_slt"))
    pcm48 = resample(pcm, 16000, 48000)
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json", sample_rate=48000)
    await receive_json(ws)
    for i in range(0, len(pcm48), 9600):
        await ws.send_to(bytes_data=pcm48[i : i + 9600])
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert "fox" in " ".join(e["text"] for e in of_type(events, "committed_transcript"))
    assert events[-1]["seconds"] == pytest.approx(len(pcm) / 32000, abs=0.01)
    await ws.disconnect()


async def test_a_browser_that_drops_leaves_an_interrupted_recording_with_its_text(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    recording_id = (await receive_json(ws))["recording_id"]
    pcm = await stream_fixture(ws, "fox_slt", trailing_silence=0)
    await ws.disconnect()
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.status == Recording.Status.INTERRUPTED
    assert recording.duration == pytest.approx(len(pcm) / 32000, abs=0.01)
    segment = await recording.segments.afirst()
    assert segment is not None and "fox" in segment.text  # the engine was drained, not dropped
    with wave.open(str(recording.audio_file)) as wav:
        assert wav.getnframes() * 2 == len(pcm)


async def test_silence_gives_no_segments_but_a_completed_recording(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    recording_id = (await receive_json(ws))["recording_id"]
    await stream_fixture(ws, "silence")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert of_type(events, "committed_transcript") == []
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.status == Recording.Status.COMPLETED
    assert await recording.segments.acount() == 0
    await ws.disconnect()


async def test_an_anonymous_socket_is_closed_with_4401():
    ws = await open_socket(None)
    assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def signed_in_headers(client, user, origin: bytes) -> list[tuple[bytes, bytes]]:
    """Handshake headers of a browser signed in as `user` on a page at `origin`."""
    await sync_to_async(client.force_login)(user)
    return [(b"origin", origin), (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def test_the_session_cookie_signs_the_socket_in(client, student):
    ws = await open_full_stack(await signed_in_headers(client, student, b"http://127.0.0.1:8000"))
    connected, _ = await ws.connect()
    assert connected
    await send_json(ws, type="start", format="json")
    assert (await receive_json(ws))["type"] == "session_started"
    await ws.disconnect()


async def test_the_full_stack_refuses_an_anonymous_socket_with_4401():
    ws = await open_full_stack([(b"origin", b"http://127.0.0.1:8000")])
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_output(timeout=5))["code"] == 4401
    await ws.disconnect()


async def test_it_refuses_a_foreign_origin(client, student):
    ws = await open_full_stack(await signed_in_headers(client, student, b"https://evil.example"))
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_the_speechclient_reference_format_is_followed(student):
    """Every event has the keys the contract (and shared/conformance) requires."""
    required = {
        "session_started": {"recording_id", "provider", "mode"},
        "partial_transcript": {"text"},
        "committed_transcript": {"text", "start", "end", "words"},
        "session_ended": {"recording_id", "seconds"},
    }
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    events = [await receive_json(ws)]
    await stream_fixture(ws, "birch_rms")
    await send_json(ws, type="stop")
    events += await events_until(ws, "session_ended")
    for event in events:
        assert required[event["type"]] <= event.keys(), event
    await ws.disconnect()


async def test_a_drop_cut_short_by_the_server_still_closes_the_recording(student):
    """The server gives a closing socket only so long; even cancelled mid-drain, the recording
    is closed as interrupted with all its audio."""
    from speechsite.lib.audio import read_wav
    from tests.conftest import fixture_audio

    pcm = read_wav(fixture_audio("two_sentences"))[0] * 3  # ~2 s of decoding queued at once
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    recording_id = (await receive_json(ws))["recording_id"]
    for i in range(0, len(pcm), 3200):
        await ws.send_to(bytes_data=pcm[i : i + 3200])
    await ws.disconnect(timeout=0.3)  # cancels the consumer while it drains the engine
    recording = await Recording.objects.aget(pk=recording_id)
    assert recording.status == Recording.Status.INTERRUPTED
    assert recording.duration == pytest.approx(len(pcm) / 32000, abs=0.01)
    with wave.open(str(recording.audio_file)) as wav:
        assert wav.getnframes() * 2 == len(pcm)


async def test_audio_reaches_the_wav_file_while_the_session_is_live(student):
    ws = await open_socket(student)
    await send_json(ws, type="start", format="json")
    recording_id = (await receive_json(ws))["recording_id"]
    for _ in range(10):  # one second
        await ws.send_to(bytes_data=b"\x01\x00" * 1600)
    await ws.receive_nothing(timeout=0.3)
    recording = await Recording.objects.aget(pk=recording_id)
    with wave.open(str(recording.audio_file)) as wav:
        assert wav.getnframes() >= 8000, "more than the write batch (0.5 s) was held back in memory"
    await ws.disconnect()
