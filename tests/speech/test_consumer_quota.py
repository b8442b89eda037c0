"""Quotas on /ws/speech/: checked at start, enforced while streaming, charged to the ledger."""

from __future__ import annotations

import wave

import pytest
from asgiref.sync import sync_to_async

from speechsite.accounts.models import QuotaState, Usage
from speechsite.speech.models import Recording
from tests.speech.wsclient import of_type, open_socket, receive_json, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)


async def limit(user, **limits) -> None:
    for name, value in limits.items():
        setattr(user, name, value)
    await user.asave()


async def events_until(ws, kind: str) -> list[dict]:
    """Every event up to `kind`, reading on past a fatal quota error (session_ended follows it)."""
    events = [await receive_json(ws, 20)]
    while events[-1]["type"] != kind:
        events.append(await receive_json(ws, 20))
    return events


async def started_socket(user, **start):
    ws = await open_socket(user)
    await send_json(ws, type="start", format="json", **start)
    return ws, await receive_json(ws)


async def test_a_session_is_cut_at_the_daily_limit_and_kept(student):
    await limit(student, daily_seconds=2)
    ws, started = await started_socket(student)
    await stream_fixture(ws, "fox_slt")  # 3.3 s: more than alice has left
    events = await events_until(ws, "session_ended")
    kinds = [event["type"] for event in events]
    assert kinds.index("quota_warning") < kinds.index("error") < kinds.index("session_ended")
    error = of_type(events, "error")[0]
    assert error["code"] == "quota_exceeded" and error["fatal"] is True
    assert "today" in error["message"] and "saved" in error["message"]
    assert "quick" in " ".join(event["text"] for event in of_type(events, "committed_transcript"))
    assert events[-1]["seconds"] == 2.0
    assert (await ws.receive_output(timeout=5))["code"] == 4429
    recording = await Recording.objects.aget(pk=started["recording_id"])
    assert recording.status == Recording.Status.COMPLETED and recording.error_code == "quota_exceeded"
    with wave.open(str(recording.audio_file)) as wav:
        assert wav.getnframes() == 2 * 16000  # exactly the limit: not one sample more
    await ws.disconnect()


async def test_the_warning_says_how_much_is_left(student):
    await limit(student, daily_seconds=3)
    ws, _ = await started_socket(student)
    await stream_fixture(ws, "fox_slt")
    (warning,) = of_type(await events_until(ws, "session_ended"), "quota_warning")
    assert warning["period"] == "day" and warning["limit"] == 3
    assert 0 < warning["seconds_left"] <= 0.3 + 0.1  # at 90 %, give or take a chunk
    assert "left today" in warning["message"]
    await ws.disconnect()


async def test_a_session_within_the_limit_gets_no_warning(student):
    await limit(student, daily_seconds=600)
    ws, _ = await started_socket(student)
    await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert not of_type(events, "quota_warning") and not of_type(events, "error")
    await ws.disconnect()


async def test_a_spent_quota_refuses_the_next_session_without_a_recording(student):
    await limit(student, daily_seconds=1)
    ws, _ = await started_socket(student)
    await stream_fixture(ws, "fox_slt")
    await events_until(ws, "session_ended")
    await ws.disconnect()
    ws, refused = await started_socket(student)
    assert refused["type"] == "error" and refused["code"] == "quota_exceeded" and refused["fatal"]
    assert (await ws.receive_output(timeout=5))["code"] == 4429
    assert await Recording.objects.filter(user=student).acount() == 1
    await ws.disconnect()


async def test_the_monthly_limit_is_enforced_too(student):
    await limit(student, daily_seconds=None, monthly_seconds=1)
    ws, _ = await started_socket(student)
    await stream_fixture(ws, "fox_slt")
    events = await events_until(ws, "session_ended")
    assert "this month" in of_type(events, "error")[0]["message"]
    await ws.disconnect()


async def test_one_session_too_many_is_refused(student):
    await limit(student, concurrent_sessions=1)
    first, _ = await started_socket(student)
    second, refused = await started_socket(student)
    assert refused["code"] == "quota_exceeded" and "already have 1 session running" in refused["message"]
    assert (await second.receive_output(timeout=5))["code"] == 4429
    await send_json(first, type="stop")
    await events_until(first, "session_ended")
    third, started = await started_socket(student)  # the first one has ended: there is room again
    assert started["type"] == "session_started"
    await first.disconnect()
    await third.disconnect()


async def test_each_recording_gets_a_ledger_entry_for_the_seconds_streamed(student):
    ws, started = await started_socket(student)
    pcm = await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    await events_until(ws, "session_ended")
    usage = await Usage.objects.select_related("recording").aget(user=student)
    assert str(usage.recording.pk) == started["recording_id"]
    assert usage.provider == "local" and usage.key is None
    assert usage.seconds == pytest.approx(len(pcm) / 32000, abs=0.001)
    await ws.disconnect()


async def test_unused_reservations_are_given_back(student, settings):
    settings.QUOTA_RESERVE_SECONDS = 30  # reserve far more than is spoken
    ws, _ = await started_socket(student)
    pcm = await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    await events_until(ws, "session_ended")
    state = await QuotaState.objects.aget(user=student)
    assert state.day_seconds == pytest.approx(len(pcm) / 32000, abs=0.001)
    await ws.disconnect()


async def test_a_dropped_session_is_charged_for_what_was_streamed(student):
    ws, started = await started_socket(student)
    pcm = await stream_fixture(ws, "fox_slt")
    await ws.disconnect()
    recording = await Recording.objects.aget(pk=started["recording_id"])
    usage = await Usage.objects.aget(recording=recording)
    assert recording.status == Recording.Status.INTERRUPTED
    assert usage.seconds == pytest.approx(len(pcm) / 32000, abs=0.001)


async def test_audio_after_the_quota_ran_out_is_dropped_without_more_errors(student):
    await limit(student, daily_seconds=1)
    ws, _ = await started_socket(student)
    await stream_fixture(ws, "fox_slt")
    await stream_fixture(ws, "fox_slt")  # still sending, as a slow client would
    events = await events_until(ws, "session_ended")
    assert [event["code"] for event in of_type(events, "error")] == ["quota_exceeded"]
    await ws.disconnect()


async def test_in_html_the_warning_is_a_notice_fragment(student):
    await limit(student, daily_seconds=3)
    ws = await open_socket(student, "/ws/speech/?format=html")
    await send_json(ws, type="start")
    fragments = []
    await stream_fixture(ws, "fox_slt")
    while 'data-state="ended"' not in (fragments[-1] if fragments else ""):
        fragments.append(await ws.receive_from(timeout=10))
    warning = next(fragment for fragment in fragments if "quota_warning" in fragment)
    assert 'hx-swap-oob="beforeend"' in warning and "left today" in warning
    assert any('data-code="quota_exceeded"' in fragment for fragment in fragments)
    await ws.disconnect()


async def test_an_admin_without_limits_is_never_cut(school_admin):
    ws, _ = await started_socket(school_admin)
    await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert not of_type(events, "error") and not of_type(events, "quota_warning")
    assert await sync_to_async(lambda: Usage.objects.get(user=school_admin).seconds)() > 3
    await ws.disconnect()


async def test_the_ledger_names_the_key_that_served_the_session_after_a_failover(settings, student):
    from tests.fakes.elevenlabs import FakeElevenLabs
    from tests.speech.test_consumer_providers import add_key, point_at

    async with FakeElevenLabs(keys=("the-good-key",)) as fake:
        point_at(settings, "elevenlabs", fake)
        await add_key("elevenlabs", secret="the-revoked-key", label="old", priority=10)
        good = await add_key("elevenlabs", secret="the-good-key", label="new", priority=1)
        ws = await open_socket(student)
        await send_json(ws, type="start", format="json", provider="elevenlabs")
        await receive_json(ws)
        pcm = await stream_fixture(ws, "fox_slt")
        await send_json(ws, type="stop")
        await events_until(ws, "session_ended")
    usage = await Usage.objects.aget(user=student)
    assert (usage.provider, usage.key_id, usage.key_label) == ("elevenlabs", good.pk, "new")
    assert usage.seconds == pytest.approx(len(pcm) / 32000, abs=0.001)
    await ws.disconnect()
