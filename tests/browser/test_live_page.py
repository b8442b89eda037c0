"""The live page in a real Chromium: fake microphone -> AudioWorklet -> /ws/speech/ -> htmx fragments."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LEAD_SILENCE, SPOKEN, watch_partials

pytestmark = pytest.mark.browser

SPEECH_TIMEOUT = 15_000  # ms: the sentence ends ~4.5 s into the file; the commit follows the pause


# Most of the nine words: the pipeline is under test here; accuracy is measured in `make bench`.
ENOUGH_WORDS = 5


def words_heard(text: str) -> int:
    """How many of the spoken sentence's words `text` holds, in order."""
    blocks = SequenceMatcher(a=SPOKEN.split(), b=text.lower().split(), autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks)


def state_of(page: Page) -> str:
    return page.get_attribute("#session-status", "data-state") or ""


def test_it_transcribes_the_microphone_and_keeps_a_playable_recording(student_page):
    page = student_page()
    watch_partials(page)

    page.click("#record")
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "live")

    segment = page.locator("#segments li.segment").first
    expect(segment, "no committed segment arrived while the microphone spoke").to_be_visible(timeout=SPEECH_TIMEOUT)
    live_text = " ".join(page.locator("#segments .segment-text").all_inner_texts())
    assert words_heard(live_text) >= ENOUGH_WORDS, f"committed {live_text!r}, expected most of {SPOKEN!r}"
    partials = page.evaluate("window.partialsSeen")
    assert partials, "the partial line never showed text while the microphone spoke"
    elapsed = page.inner_text("#elapsed")
    assert re.fullmatch(r"\d+:\d\d", elapsed) and elapsed != "0:00", f"the timer shows {elapsed!r} after speech"

    page.click("#record")
    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-state", "ended")
    recording_id = status.get_attribute("data-recording-id")
    assert recording_id, "the ended status names no recording"
    detail_url = f"/recordings/{recording_id}/"
    expect(status.get_by_role("link")).to_have_attribute("href", detail_url)

    page.goto("/history/")
    first_row = page.locator("table.history tbody tr").first
    expect(first_row.get_by_role("link"), "the new recording is not at the top of the history").to_have_attribute(
        "href", detail_url
    )

    first_row.get_by_role("link").click()
    page.wait_for_url(detail_url)
    saved_text = " ".join(page.locator("#segments .segment-text").all_inner_texts())
    assert words_heard(saved_text) >= ENOUGH_WORDS, (
        f"the recording page shows {saved_text!r}, expected most of {SPOKEN!r}"
    )

    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
          const player = document.getElementById("player");
          if (player.readyState >= HTMLMediaElement.HAVE_METADATA) return resolve(player.duration);
          player.addEventListener("loadedmetadata", () => resolve(player.duration), { once: true });
          const failed = () => reject(new Error(`audio error ${player.error?.code}`));
          player.addEventListener("error", failed, { once: true });
        })"""
    )
    assert duration > 2, f"the player's audio lasts {duration} s; the microphone spoke for more than 3 s"

    audio_url = page.get_attribute("#player", "src")
    ranged = page.request.get(audio_url, headers={"Range": "bytes=0-99"})
    assert ranged.status == 206, f"Range request for {audio_url} answered {ranged.status}, not 206"
    assert ranged.body()[:4] == b"RIFF" and len(ranged.body()) == 100, "the first 100 bytes are not a WAV header"
    assert re.fullmatch(r"bytes 0-99/\d+", ranged.headers.get("content-range", "")), ranged.headers

    seek_button = page.locator("#segments [data-seek]").first
    start = float(seek_button.get_attribute("data-seek"))
    # Audio played before the worklet was connected is not in the recording, so the start may come early.
    assert LEAD_SILENCE - 1.0 <= start <= LEAD_SILENCE + 1.0, f"the first segment starts at {start} s"
    page.evaluate(
        """() => {
          window.seekedTo = null;
          const player = document.getElementById("player");
          player.addEventListener("seeked", () => { window.seekedTo = player.currentTime; }, { once: true });
        }"""
    )
    seek_button.click()
    page.wait_for_function("window.seekedTo !== null", timeout=5_000)
    seeked_to = page.evaluate("window.seekedTo")
    assert abs(seeked_to - start) < 0.05, f"clicking {start}s moved the player to {seeked_to} s"


def test_it_explains_a_denied_microphone_and_records_nothing(student_page):
    page = student_page(microphone=False)
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))

    page.click("#record")

    expect(page.locator("#notices [role=alert]")).to_contain_text("Microphone access was denied")
    record = page.locator("#record")
    expect(record).to_have_text("Record")
    expect(record).not_to_have_attribute("aria-pressed", "true")
    expect(record).to_be_enabled()
    assert state_of(page) == "idle", f"status is {state_of(page)!r} after a refused microphone"
    assert not sockets, f"a socket was opened without a microphone: {sockets}"


def test_it_starts_and_stops_with_alt_r(student_page):
    page = student_page()
    record = page.locator("#record")

    page.keyboard.press("Alt+r")
    expect(record).to_have_attribute("aria-pressed", "true")
    expect(record).to_have_text("Stop")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "live")

    page.keyboard.press("Alt+r")
    expect(record).to_have_text("Record")
    expect(record).not_to_have_attribute("aria-pressed", "true")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "ended")


def test_it_finishes_a_recording_stopped_before_the_socket_opened(student_page):
    page = student_page()
    # A slow connection: the page hears of the open socket 1 s late (audio and Stop come sooner).
    page.evaluate(
        """() => {
          const create = htmx.createWebSocket;
          htmx.createWebSocket = (url) => {
            const socket = create(url);
            Object.defineProperty(socket, "onopen", {
              set(handler) { socket.addEventListener("open", (event) => setTimeout(() => handler(event), 1000)); },
            });
            return socket;
          };
        }"""
    )

    page.click("#record")
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")
    assert state_of(page) == "connecting", "the socket opened too soon for this test to mean anything"
    page.click("#record")

    expect(page.locator("#session-status")).to_have_attribute("data-state", "ended")
    expect(page.locator("#record")).to_have_text("Record")


def test_it_stops_cleanly_when_the_connection_drops(student_page):
    page = student_page()
    starts = []
    page.on(
        "websocket",
        lambda socket: socket.on("framesent", lambda frame: starts.append(frame) if '"start"' in str(frame) else None),
    )
    # Keep the page's sockets at hand, and let the ws extension retry after 100 ms instead of up to 1 s.
    page.evaluate(
        """() => {
          const create = htmx.createWebSocket;
          window.sockets = [];
          htmx.createWebSocket = (url) => { const socket = create(url); window.sockets.push(socket); return socket; };
          htmx.config.wsReconnectDelay = () => 100;
        }"""
    )
    page.click("#record")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "live")

    # The network drops the connection: the page sees an abnormal closure (1006).
    page.evaluate(
        """() => {
          const socket = window.sockets[0];
          const onclose = socket.onclose;
          socket.onclose = null;
          socket.close();
          onclose(new CloseEvent("close", { code: 1006 }));
        }"""
    )

    expect(page.locator("#notices [role=alert]")).to_have_text(re.compile("connection to the server was lost"))
    expect(page.locator("#record")).to_have_text("Record")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "failed")
    page.wait_for_timeout(1_000)  # the extension's reconnect would have happened by now
    assert len(starts) == 1, f"after the drop the page started {len(starts) - 1} more session(s): {starts}"
    expect(page.locator("#notices [role=alert]")).to_have_count(1)
