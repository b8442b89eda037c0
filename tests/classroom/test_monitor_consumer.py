"""/ws/monitor/<recording>/ through the real ASGI app: who may watch, and what the watcher receives."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from speechsite.asgi import application
from speechsite.speech import monitor
from speechsite.speech.models import Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1:8000"
FOX = {"text": "the quick brown fox", "start": 0.2, "end": 1.6, "words": []}


def make_live_recording(user, segments: int = 0) -> Recording:
    recording = make_recording(user, segments=segments)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.LIVE)
    recording.status = Recording.Status.LIVE
    return recording


@pytest.fixture
async def live_recording(student, classroom):
    """Alice speaking right now, nothing committed yet."""
    return await sync_to_async(make_live_recording)(student)


async def monitor_socket(client, user, recording_id) -> WebsocketCommunicator:
    """A browser's socket to the monitor of `recording_id`, signed in as `user` (None: anonymous)."""
    headers = [(b"origin", ORIGIN)]
    if user is not None:
        await sync_to_async(client.force_login)(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    ws = WebsocketCommunicator(application, f"/ws/monitor/{recording_id}/", headers=headers)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def watching(client, user, recording) -> WebsocketCommunicator:
    """A monitor socket past its first message (the state so far)."""
    ws = await monitor_socket(client, user, recording.pk)
    await ws.receive_from(timeout=5)
    return ws


async def close_code(ws: WebsocketCommunicator) -> int:
    output = await ws.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    return output["code"]


def committed(index: int | None = 0, **fields) -> dict:
    payload = {"type": "committed_transcript", **FOX, **fields}
    if index is not None:
        payload["index"] = index
    return payload


# Who may watch.


async def test_an_anonymous_socket_is_closed_with_4401(client, live_recording):
    ws = await monitor_socket(client, None, live_recording.pk)
    assert await close_code(ws) == 4401
    await ws.disconnect()


async def test_an_outsider_is_closed_with_4404(client, outsider, live_recording):
    ws = await monitor_socket(client, outsider, live_recording.pk)
    assert await close_code(ws) == 4404
    await ws.disconnect()


async def test_a_teacher_of_another_class_is_closed_with_4404(client, other_teacher, other_classroom, live_recording):
    ws = await monitor_socket(client, other_teacher, live_recording.pk)
    assert await close_code(ws) == 4404
    await ws.disconnect()


async def test_the_student_herself_is_closed_with_4404(client, student, live_recording):
    # A learner does not monitor herself through this socket: her own live page already shows her
    # everything, and this socket is only for those who review her (her teachers, admins).
    ws = await monitor_socket(client, student, live_recording.pk)
    assert await close_code(ws) == 4404
    await ws.disconnect()


async def test_an_unknown_recording_is_closed_with_the_same_4404(client, teacher, classroom):
    ws = await monitor_socket(client, teacher, uuid.uuid4())
    assert await close_code(ws) == 4404
    await ws.disconnect()


async def test_an_admin_may_watch(client, school_admin, live_recording):
    ws = await monitor_socket(client, school_admin, live_recording.pk)
    assert 'data-state="live"' in await ws.receive_from(timeout=5)
    await ws.disconnect()


# The state so far.


async def test_the_first_message_says_the_session_is_live(client, teacher, live_recording):
    ws = await monitor_socket(client, teacher, live_recording.pk)
    html = await ws.receive_from(timeout=5)
    assert 'id="session-status"' in html and 'data-state="live"' in html
    await ws.disconnect()


async def test_segments_saved_before_joining_arrive_in_one_first_message(client, teacher, student, classroom):
    recording = await sync_to_async(make_live_recording)(student, segments=2)
    ws = await monitor_socket(client, teacher, recording.pk)
    html = await ws.receive_from(timeout=5)
    assert '<ol id="segments" class="segments" hx-swap-oob="true">' in html
    assert html.index("hello world") < html.index("how are you today")
    await ws.disconnect()


async def test_a_finished_session_says_it_has_ended(client, teacher, student, classroom):
    recording = await sync_to_async(make_recording)(student)
    ws = await monitor_socket(client, teacher, recording.pk)
    html = await ws.receive_from(timeout=5)
    assert 'data-state="ended"' in html and "The session has ended." in html
    assert "hello world" in html
    await ws.disconnect()


# Events as they happen.


async def test_the_teacher_receives_a_partial_transcript_as_html(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(live_recording.pk, {"type": "partial_transcript", "text": "the quick"})
    html = await ws.receive_from(timeout=5)
    assert html.strip() == '<p id="partial" class="partial" hx-swap-oob="true">the quick</p>'
    await ws.disconnect()


async def test_the_teacher_receives_a_committed_transcript_as_a_segment(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(live_recording.pk, committed(0))
    html = await ws.receive_from(timeout=5)
    assert '<ol id="segments" hx-swap-oob="beforeend">' in html
    assert '<span class="segment-text">the quick brown fox</span>' in html
    await ws.disconnect()


async def test_a_segment_already_sent_in_the_first_message_is_dropped(client, teacher, student, classroom):
    recording = await sync_to_async(make_live_recording)(student, segments=2)
    ws = await watching(client, teacher, recording)
    await monitor.publish(recording.pk, committed(1, text="how are you today"))
    html = await ws.receive_from(timeout=5)
    assert "segment-text" not in html  # only the partial line is cleared
    assert html.strip() == '<p id="partial" class="partial" hx-swap-oob="true"></p>'
    await ws.disconnect()


async def test_a_segment_published_twice_is_sent_once(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(live_recording.pk, committed(0))
    await monitor.publish(live_recording.pk, committed(0))
    await monitor.publish(live_recording.pk, committed(1, text="jumps over the lazy dog"))
    messages = [await ws.receive_from(timeout=5) for _ in range(3)]
    assert sum("the quick brown fox" in html for html in messages) == 1
    assert "jumps over the lazy dog" in messages[2]
    await ws.disconnect()


async def test_a_segment_after_those_already_sent_is_forwarded(client, teacher, student, classroom):
    recording = await sync_to_async(make_live_recording)(student, segments=2)
    ws = await watching(client, teacher, recording)
    await monitor.publish(recording.pk, committed(2))
    assert "the quick brown fox" in await ws.receive_from(timeout=5)
    await ws.disconnect()


async def test_a_committed_transcript_without_an_index_is_forwarded(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(live_recording.pk, committed(None))
    assert "the quick brown fox" in await ws.receive_from(timeout=5)
    await ws.disconnect()


async def test_an_assessment_arrives_as_scores_without_the_learners_audio(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    scores = {"overall": 81.0, "accuracy": 80.0, "fluency": 82.0, "completeness": 100.0, "words": [], "details": {}}
    await monitor.publish(live_recording.pk, {"type": "assessment", "recording_id": str(live_recording.pk), **scores})
    html = await ws.receive_from(timeout=5)
    assert 'id="assessment"' in html and 'data-metric="overall"' in html
    assert "<audio" not in html
    await ws.disconnect()


async def test_an_error_arrives_as_a_notice(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    error = {"type": "error", "code": "provider_dropped", "message": "The engine stopped.", "fatal": True}
    await monitor.publish(live_recording.pk, error)
    html = await ws.receive_from(timeout=5)
    assert "The engine stopped." in html and 'data-state="failed"' in html
    await ws.disconnect()


async def test_a_quota_warning_arrives_as_a_notice(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    warning = {"type": "quota_warning", "seconds_left": 60.0, "period": "day", "limit": 600, "message": "1 minute"}
    await monitor.publish(live_recording.pk, warning)
    html = await ws.receive_from(timeout=5)
    assert 'id="notices"' in html and "1 minute" in html
    await ws.disconnect()


async def test_the_session_end_is_sent_and_the_socket_stays_open(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    ended = {"type": "session_ended", "recording_id": str(live_recording.pk), "seconds": 3.2}
    await monitor.publish(live_recording.pk, ended)
    html = await ws.receive_from(timeout=5)
    assert 'data-state="ended"' in html and "The session has ended." in html
    assert "Open the recording" not in html  # the learner's own page: a 404 for the teacher
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_an_event_without_a_fragment_is_skipped(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(live_recording.pk, {"type": "no_such_event"})
    await monitor.publish(live_recording.pk, {"type": "partial_transcript", "text": "still here"})
    assert "still here" in await ws.receive_from(timeout=5)
    await ws.disconnect()


async def test_what_the_teacher_sends_is_ignored(client, teacher, live_recording):
    ws = await watching(client, teacher, live_recording)
    await ws.send_to(text_data='{"type": "stop"}')
    await ws.send_to(bytes_data=b"\x00\x00" * 160)
    assert await ws.receive_nothing(timeout=0.3)
    await monitor.publish(live_recording.pk, {"type": "partial_transcript", "text": "still here"})
    assert "still here" in await ws.receive_from(timeout=5)
    await ws.disconnect()


async def test_events_of_another_recording_do_not_arrive(client, teacher, student, live_recording):
    other = await sync_to_async(make_live_recording)(student)
    ws = await watching(client, teacher, live_recording)
    await monitor.publish(other.pk, {"type": "partial_transcript", "text": "elsewhere"})
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_the_socket_leaves_the_group_on_disconnect(client, teacher, live_recording):
    layer = get_channel_layer()
    ws = await watching(client, teacher, live_recording)
    assert layer.groups.get(monitor.group_name(live_recording.pk))
    await ws.disconnect()
    assert not layer.groups.get(monitor.group_name(live_recording.pk))


async def test_a_teacher_follows_a_real_session_on_the_speech_socket(client, teacher, student, classroom):
    from tests.speech.wsclient import events_until, of_type, open_socket, receive_json, send_json, stream_fixture

    learner = await open_socket(student)
    await send_json(learner, type="start", format="json")
    recording_id = (await receive_json(learner))["recording_id"]
    ws = await monitor_socket(client, teacher, recording_id)
    assert 'data-state="live"' in await ws.receive_from(timeout=5)
    await stream_fixture(learner, "fox_slt")
    await send_json(learner, type="stop")
    (commit,) = of_type(await events_until(learner, "session_ended"), "committed_transcript")
    messages = [await ws.receive_from(timeout=5)]
    while 'data-state="ended"' not in messages[-1]:
        messages.append(await ws.receive_from(timeout=5))
    assert sum(f'<span class="segment-text">{commit["text"]}</span>' in html for html in messages) == 1
    await learner.disconnect()
    await ws.disconnect()
