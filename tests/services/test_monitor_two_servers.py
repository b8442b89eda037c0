"""The live monitor across server processes: the student streams to daphne A, her teacher watches
on daphne B; both on one PostgreSQL database, the events carried by the Redis channel layer."""

from __future__ import annotations

import asyncio
import html
import json
import re

import pytest
import websockets

from speechsite.lib.audio import read_wav
from tests.conftest import fixture_audio
from tests.support.liveserver import live_server

pytestmark = pytest.mark.services

CHUNK = 3200  # 0.1 s of 16 kHz PCM16
FOX_WORDS = {"quick", "brown", "fox", "jumps", "lazy", "dog"}
PARTIAL = re.compile(r'<p id="partial" class="partial" hx-swap-oob="true">(.*?)</p>', re.S)
SEGMENT_TEXT = re.compile(r'<span class="segment-text">(.*?)</span>', re.S)

MAKE_CLASSROOM = (
    "from speechsite.accounts.models import Classroom, User; "
    "room, _ = Classroom.objects.get_or_create(name='Monitor class'); "
    "room.teachers.add(User.objects.get(username='teacher')); "
    "room.students.add(User.objects.get(username='student'))"
)


def words_of(texts: list[str]) -> set[str]:
    return {word for text in texts for word in html.unescape(text).split()}


async def follow(server, session: str, recording_id: str, ready: asyncio.Event) -> list[str]:
    """The teacher's monitor on `server`: every message until the session has ended."""
    headers = {"Origin": server.url, "Cookie": f"sessionid={session}"}
    url = f"{server.url.replace('http', 'ws', 1)}/ws/monitor/{recording_id}/"
    messages = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        messages.append(await ws.recv())  # the state so far
        ready.set()
        async for message in ws:
            messages.append(message)
            if 'data-state="ended"' in message:
                return messages
    raise AssertionError(f"the monitor closed before the session ended: {messages}")


async def speak(server, session: str, monitor_server, teacher_session: str) -> tuple[list[dict], list[str]]:
    """The student streams the fox sentence at about real time while her teacher watches elsewhere."""
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    pcm += b"\x00\x00" * 8000  # half a second of silence: the last words are committed
    headers = {"Origin": server.url, "Cookie": f"sessionid={session}"}
    async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "start", "format": "json"}))
        started = json.loads(await ws.recv())
        assert started["type"] == "session_started", started
        ready = asyncio.Event()
        watcher = asyncio.create_task(follow(monitor_server, teacher_session, started["recording_id"], ready))
        await asyncio.wait_for(ready.wait(), timeout=10)
        for i in range(0, len(pcm), CHUNK):
            await ws.send(pcm[i : i + CHUNK])
            await asyncio.sleep(0.08)  # a little faster than real time
        await ws.send(json.dumps({"type": "stop"}))
        events = []
        async for raw in ws:
            event = json.loads(raw)
            events.append(event)
            assert event["type"] != "error", event
            if event["type"] == "session_ended":
                break
    return events, await asyncio.wait_for(watcher, timeout=15)


def test_a_teacher_on_another_server_follows_the_students_session(tmp_path, postgres_url, redis_url):
    services = {"DATABASE_URL": postgres_url, "REDIS_URL": redis_url}
    with (
        live_server(tmp_path / "a", **services) as server_a,
        live_server(tmp_path / "b", prepare_database=False, **services) as server_b,
    ):
        server_a.manage("shell", "-v", "0", "-c", MAKE_CLASSROOM)
        student_session = server_a.session_for("student")
        teacher_session = server_b.session_for("teacher")

        events, messages = asyncio.run(
            asyncio.wait_for(speak(server_a, student_session, server_b, teacher_session), timeout=60)
        )

    committed_texts = [event["text"] for event in events if event["type"] == "committed_transcript"]
    assert FOX_WORDS & words_of(committed_texts), committed_texts
    partials = [text for message in messages for text in PARTIAL.findall(message) if text]
    assert FOX_WORDS & words_of(partials), messages
    segments = [html.unescape(text) for message in messages[1:] for text in SEGMENT_TEXT.findall(message)]
    assert segments == committed_texts  # each segment once, as the student saw it
    assert "The session has ended." in messages[-1]
