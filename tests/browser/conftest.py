"""Browser fixtures: one daphne server and one Debian Chromium with a fake microphone per session.

Follows shared/BROWSER-TESTING.md: Playwright's sync API drives /usr/bin/chromium (Playwright's own
browser download does not work here), and the fake microphone plays a WAV file once (%noloop).

Microphone permission is per context: the browser denies every permission prompt
(--deny-permission-prompts, and no --use-fake-ui-for-media-stream), so a context opened with
`permissions=["microphone"]` records and one opened without it is refused.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.conftest import fixture_audio
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.support.liveserver import LiveServer, live_server
from tests.support.threaded import running_in_thread

CHROMIUM = "/usr/bin/chromium"
STUDENT = ("student", "student-demo-pass")
SAMPLE_RATE = 16000
# What the fake microphone says (tests/fixtures/audio/index.tsv), and where the speech starts in the file.
SPOKEN = "the quick brown fox jumps over the lazy dog"
# The lead is long because the file starts playing at getUserMedia, before the worklet is
# connected: on a loaded machine that start-up ate the sentence's first word (CI, stop 6).
LEAD_SILENCE = 1.5
ELEVENLABS_KEY = "browser-test-elevenlabs-key"
ELEVENLABS_SCRIPT = ("vendor", "heard", "every", "word", "you", "said", "there")
TAIL_SILENCE = 1.5


def write_microphone_wav(path: Path) -> Path:
    """1.5 s silence, the fox sentence, 1.5 s silence: 16 kHz mono PCM16, as the fake mic wants."""
    with wave.open(str(fixture_audio("fox_slt")), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth(), source.getframerate()) == (1, 2, SAMPLE_RATE)
        speech = source.readframes(source.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(int(LEAD_SILENCE * SAMPLE_RATE) * 2))
        out.writeframes(speech)
        out.writeframes(bytes(int(TAIL_SILENCE * SAMPLE_RATE) * 2))
    return path


def watch_partials(page: Page) -> None:
    """Remember every non-empty text the partial line shows (htmx replaces the element each time)."""
    page.evaluate(
        """() => {
          window.partialsSeen = [];
          new MutationObserver(() => {
            const text = (document.getElementById("partial")?.textContent || "").trim();
            if (text) window.partialsSeen.push(text);
          }).observe(document.querySelector(".transcript"), { childList: true, subtree: true, characterData: true });
        }"""
    )


@pytest.fixture(scope="session")
def microphone_wav(tmp_path_factory) -> Path:
    return write_microphone_wav(tmp_path_factory.mktemp("microphone") / "fox.wav")


@pytest.fixture(scope="session")
def fake_elevenlabs() -> Iterator[FakeElevenLabs]:
    """A fake ElevenLabs the server is pointed at; a test that wants it stores a key first."""
    with running_in_thread(FakeElevenLabs(keys=(ELEVENLABS_KEY,), script=ELEVENLABS_SCRIPT)) as fake:
        yield fake


@pytest.fixture(scope="session")
def server(tmp_path_factory, fake_elevenlabs: FakeElevenLabs) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), ELEVENLABS_API_URL=fake_elevenlabs.http_url) as running:
        yield running


@pytest.fixture(scope="session")
def pw() -> Iterator[Playwright]:
    # Not named `playwright`: pytest-playwright, if installed, owns that fixture name.
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium(pw: Playwright, microphone_wav: Path) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`)")
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone_wav}%noloop",
            "--deny-permission-prompts",
        ],
    )
    yield browser
    browser.close()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("/", timeout=10_000)  # LOGIN_REDIRECT_URL: the live page


@pytest.fixture
def student_page(chromium: Browser, server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Opens the live page as the demo student, in a fresh context with (or without) the microphone.

    Uncaught JavaScript errors on the page fail the test at teardown.
    """
    contexts = []
    errors: list[str] = []

    def open_page(*, microphone: bool = True) -> Page:
        context = chromium.new_context(base_url=server.url, permissions=["microphone"] if microphone else [])
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, *STUDENT)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
