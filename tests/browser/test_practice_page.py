"""The practice page in a real Chromium: read a sentence, the page stops by itself, scores appear."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PANGRAM = "The quick brown fox jumps over the lazy dog."  # what the fake microphone says
# The sentence ends ~4.8 s into the file; the endpoint follows the pause, then scoring.
RESULT_TIMEOUT = 20_000


def open_pangram(page) -> None:
    page.goto("/practice/")
    page.select_option("select[name=exercise]", label="Advanced · Pangram")
    expect(page.locator("#expected-text")).to_have_value(PANGRAM)


def test_it_stops_by_itself_and_scores_every_word(student_page):
    page = student_page()
    open_pangram(page)
    page.click("#record")
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")
    # Nobody presses Stop: the server's endpoint ends the recording, then the scores arrive.
    expect(page.locator("#session-status")).to_have_attribute("data-state", "ended", timeout=RESULT_TIMEOUT)
    expect(page.locator("#record")).not_to_have_attribute("aria-pressed", "true")
    words = page.locator("#assessment .word")
    expect(words).to_have_count(9)
    assert words.all_inner_texts() == PANGRAM.rstrip(".").split()
    for metric in ("overall", "accuracy", "fluency", "completeness"):
        value = page.inner_text(f'#assessment [data-metric="{metric}"] dd')
        assert value.isdigit() and 0 <= int(value) <= 100, f"{metric} shows {value!r}"
    classes = " ".join(words.evaluate_all("(els) => els.map((el) => el.className)"))
    assert "band-" in classes


def test_a_word_shows_its_phonemes_on_hover_and_on_tap(student_page):
    page = student_page()
    open_pangram(page)
    page.click("#record")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "ended", timeout=RESULT_TIMEOUT)
    fox = page.locator("#assessment .word", has_text="fox")
    panel = (
        page.locator("#assessment .word-wrap").filter(has=page.locator(".word", has_text="fox")).locator(".phonemes")
    )
    expect(panel).to_be_hidden()
    fox.hover()
    expect(panel).to_be_visible()
    expect(panel.locator(".phoneme")).to_have_count(4)  # F AA K S
    assert "/" in panel.inner_text()  # IPA next to ARPAbet
    page.mouse.move(0, 0)
    fox.click()  # a tap: the panel stays open, and the word's stretch of audio plays
    page.mouse.move(0, 0)
    expect(fox).to_have_attribute("aria-expanded", "true")
    expect(panel).to_be_visible()
    player = page.locator("#assessment audio.attempt-audio")
    page.wait_for_function(
        "() => !document.querySelector('#assessment audio.attempt-audio').paused || "
        "document.querySelector('#assessment audio.attempt-audio').currentTime > 0"
    )
    assert float(player.evaluate("(a) => a.currentTime")) > 0.5
