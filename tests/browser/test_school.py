"""A language school in a real Chromium: a learner runs out of speech time; a teacher follows a session live.

The server is shared with the other browser tests, so these tests make their own people (quinn; tina and
sam in their own class) instead of touching the demo accounts' quotas or classes.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import websockets
from playwright.sync_api import Browser, BrowserContext, Page, expect

from speechsite.lib.audio import read_wav
from tests.browser.conftest import sign_in, watch_partials
from tests.conftest import fixture_audio
from tests.support.liveserver import LiveServer

pytestmark = pytest.mark.browser

QUINN = ("quinn", "quinn-school-pass")
QUINN_DAILY_SECONDS = 3
# The quota runs out ~3 s into the streamed audio (the fake mic's 1.5 s lead counts); allow a loaded machine.
QUOTA_TIMEOUT = 20_000
SPEECH_TIMEOUT = 20_000  # ms: sam's sentence lasts ~3 s at real time; the commit follows the pause
POLL_TIMEOUT = 15_000  # the sessions list polls every 4 s
CHUNK = 3200  # 0.1 s of 16 kHz PCM16

# Idempotent, so that a rerun against the same server starts from a fresh quota.
MAKE_QUINN = f"""
from speechsite.accounts.models import QuotaState, User
from speechsite.speech.models import Recording
quinn, _ = User.objects.get_or_create(username={QUINN[0]!r}, defaults={{"role": User.Role.STUDENT}})
quinn.set_password({QUINN[1]!r})
quinn.daily_seconds = {QUINN_DAILY_SECONDS}
quinn.save()
QuotaState.objects.filter(user=quinn).delete()
Recording.objects.filter(user=quinn).delete()
"""

MAKE_CLASS = """
import json
from speechsite.accounts.models import Classroom, User
tina, _ = User.objects.get_or_create(username="tina", defaults={"role": User.Role.TEACHER})
sam, _ = User.objects.get_or_create(username="sam", defaults={"role": User.Role.STUDENT})
User.objects.filter(pk=sam.pk).update(first_name="Sam", last_name="Rivers")
room, _ = Classroom.objects.get_or_create(name="Tina's evening class")
room.teachers.add(tina)
room.students.add(sam)
print(json.dumps({"classroom": room.pk, "sam": sam.pk}))
"""


@pytest.fixture
def browser_context(chromium: Browser, server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """New contexts on the server (with or without the microphone); JavaScript errors fail the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_context(*, microphone: bool = False) -> BrowserContext:
        context = chromium.new_context(base_url=server.url, permissions=["microphone"] if microphone else [])
        context.set_default_timeout(10_000)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def quinn_page(server: LiveServer, browser_context) -> Page:
    """The live page as quinn, a learner with 3 seconds of speech a day, signed in through the login page."""
    server.manage("shell", "-c", MAKE_QUINN)
    page = browser_context(microphone=True).new_page()
    sign_in(page, *QUINN)
    page.select_option("#provider", "local")  # another test may have added a vendor's key
    return page


def test_a_learner_is_warned_then_stopped_at_the_daily_limit(quinn_page: Page):
    page = quinn_page
    expect(page.locator("#quota")).to_contain_text("3 seconds of 3 seconds today")

    page.click("#record")
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")

    warning = page.locator('#notices [data-code="quota_warning"]')
    expect(warning, "no warning came before the limit").to_contain_text("left today", timeout=QUOTA_TIMEOUT)
    stopped = page.locator('#notices [data-code="quota_exceeded"]')
    expect(stopped, "the session was not stopped at the limit").to_contain_text(
        "The recording so far is saved", timeout=QUOTA_TIMEOUT
    )
    expect(stopped).to_contain_text("You have used all 3 seconds of speech you have today.")
    expect(stopped).to_have_attribute("role", "alert")

    record = page.locator("#record")
    expect(record).to_have_text("Record")
    expect(record).to_be_enabled()
    expect(record).not_to_have_attribute("aria-pressed", "true")
    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-state", "ended")  # session_ended follows the error: it was saved
    recording_id = status.get_attribute("data-recording-id")
    page.wait_for_timeout(500)  # the socket's 4429 close comes last; it must not add a second alarm
    alerts = page.locator("#notices [role=alert]").all_inner_texts()
    assert len(alerts) == 1, f"the page shows {len(alerts)} alerts at the limit: {alerts}"

    page.goto("/history/")
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link").first).to_have_attribute("href", f"/recordings/{recording_id}/")
    length = rows.first.locator("td").nth(3).inner_text()
    match = re.fullmatch(r"(\d+\.\d) s", length)
    assert match and 2.8 <= float(match[1]) <= 3.0, f"History lists {length!r}; the quota allowed 3 s"

    page.goto("/")
    page.click("#record")
    refused = page.locator('#notices [data-code="quota_exceeded"]')
    expect(refused, "a learner with no time left could start again").to_contain_text(
        "You have used all 3 seconds of speech you have today."
    )
    expect(refused).not_to_contain_text("The recording so far is saved")  # nothing was recorded this time
    expect(record).to_have_text("Record")
    expect(record).to_be_enabled()
    expect(page.locator("#session-status")).to_have_attribute("data-state", "failed")

    page.reload()
    quota = page.locator("#quota")
    expect(quota).to_contain_text("it renews tomorrow")
    expect(quota).to_have_class(re.compile(r"\bquota-spent\b"))
    page.goto("/history/")
    expect(page.locator("table.history tbody tr"), "the refused start made a recording").to_have_count(1)


@dataclass
class StreamingStudent:
    """A program speaking for a student over /ws/speech/ (JSON), in a thread with its own event loop.

    It starts the session at once, streams the fox sentence at real time when `go` is set, then stops.
    """

    server: LiveServer
    username: str
    started: queue.Queue = field(default_factory=queue.Queue)  # the recording id, or the exception
    go: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    events: list[dict] = field(default_factory=list)
    failure: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> str:
        cookie = self.server.session_for(self.username)
        self.thread = threading.Thread(target=self._run, args=(cookie,), name=f"{self.username}-speaks", daemon=True)
        self.thread.start()
        outcome = self.started.get(timeout=30)
        if isinstance(outcome, BaseException):
            raise AssertionError(f"{self.username}'s session did not start") from outcome
        return outcome

    def finish(self, timeout: float = 60) -> list[dict]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.username}'s stream did not end within {timeout} s"
        if self.failure:
            raise AssertionError(f"{self.username}'s stream failed: {self.failure!r}") from self.failure
        return self.events

    def cancel(self) -> None:
        self.abort.set()
        self.go.set()
        if self.thread is not None:
            self.thread.join(30)

    def _run(self, cookie: str) -> None:
        try:
            asyncio.run(self._speak(cookie))
        except BaseException as exc:  # reported to the test in finish()
            self.failure = exc
            self.started.put(exc)

    async def _speak(self, cookie: str) -> None:
        pcm, rate = read_wav(fixture_audio("fox_slt"))
        assert rate == 16000
        pcm += bytes(2 * rate)  # a second of silence: the last words are committed
        headers = {"Origin": self.server.url, "Cookie": f"sessionid={cookie}"}
        async with websockets.connect(self.server.ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "start", "format": "json", "provider": "local", "language": "en"}))
            started = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert started["type"] == "session_started", started
            self.started.put(started["recording_id"])
            await asyncio.to_thread(self.go.wait, 120)
            if self.abort.is_set():
                return
            reading = asyncio.create_task(self._read(ws))  # while streaming: the client's queue is small
            loop = asyncio.get_running_loop()
            begun = loop.time()
            for n, i in enumerate(range(0, len(pcm), CHUNK)):
                await ws.send(pcm[i : i + CHUNK])
                await asyncio.sleep(max(0.0, begun + (n + 1) * 0.1 - loop.time()))  # real time, without drift
            await ws.send(json.dumps({"type": "stop"}))
            await asyncio.wait_for(reading, 60)

    async def _read(self, ws) -> None:
        async for raw in ws:
            event = json.loads(raw)
            self.events.append(event)
            if event["type"] in ("session_ended", "error"):
                return


@pytest.fixture
def school(server: LiveServer) -> dict[str, int]:
    """tina teaches a class with sam in it: {"classroom": id, "sam": id}."""
    return json.loads(server.manage("shell", "-c", MAKE_CLASS).strip().splitlines()[-1])


@pytest.fixture
def sam(server: LiveServer, school) -> Iterator[StreamingStudent]:
    student = StreamingStudent(server, "sam")
    yield student
    student.cancel()


def test_a_teacher_watches_a_students_session_live(server: LiveServer, browser_context, school, sam):
    context = browser_context()
    context.add_cookies([{"name": "sessionid", "value": server.session_for("tina"), "url": server.url}])
    page = context.new_page()
    frames: list[str] = []
    page.on(
        "websocket",
        lambda socket: (
            socket.on("framereceived", lambda payload: frames.append(socket.url))
            if "/ws/monitor/" in socket.url
            else None
        ),
    )
    sessions_url = f"/classes/{school['classroom']}/live/"
    page.goto(sessions_url)
    expect(page.locator("#live-sessions")).to_contain_text("No one in this class is speaking right now")

    recording_id = sam.start()
    listed = page.locator(f'#live-sessions li.live-session[data-recording-id="{recording_id}"]')
    expect(listed, "the list of sessions in progress did not show sam").to_be_visible(timeout=POLL_TIMEOUT)
    expect(listed.get_by_role("link")).to_have_text("Sam Rivers")
    listed.get_by_role("link").click()

    page.wait_for_url(f"/classes/{school['classroom']}/students/{school['sam']}/live/{recording_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Rivers's session")
    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-state", "live")
    watch_partials(page)
    for _ in range(100):  # the monitor's socket sends the state so far first: then it is listening
        if frames:
            break
        page.wait_for_timeout(100)
    assert frames, "the monitor page's socket sent nothing within 10 s"

    sam.go.set()
    segments = page.locator("#segments")
    expect(segments, "sam's words did not reach the teacher").to_contain_text("fox", timeout=SPEECH_TIMEOUT)
    expect(segments).to_contain_text("lazy", timeout=SPEECH_TIMEOUT)
    partials = page.evaluate("window.partialsSeen")
    assert partials, "the teacher never saw a partial line while sam spoke"

    events = sam.finish()
    assert events and events[-1]["type"] == "session_ended", f"sam's session ended with {events[-1:]}"
    expect(status, "the monitor did not show that the session ended").to_have_attribute("data-state", "ended")
    expect(status).to_have_text("The session has ended.")
    committed = " ".join(event["text"] for event in events if event["type"] == "committed_transcript")
    shown = " ".join(page.locator("#segments .segment-text").all_inner_texts())
    assert shown.split() == committed.split(), f"the teacher sees {shown!r}; sam was told {committed!r}"

    page.goto(sessions_url)
    expect(page.locator("#live-sessions")).to_contain_text("No one in this class is speaking right now")
