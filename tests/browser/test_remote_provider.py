"""The live page with a remote provider: an admin's key makes it appear; its transcript arrives."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ELEVENLABS_KEY, ELEVENLABS_SCRIPT

pytestmark = pytest.mark.browser

SPEECH_TIMEOUT = 15_000


def test_a_learner_picks_elevenlabs_and_sees_its_transcript(server, fake_elevenlabs, student_page):
    server.manage("addkey", "elevenlabs", "--label", "browser", stdin=ELEVENLABS_KEY + "\n")
    page = student_page()
    provider = page.locator("#provider")
    expect(provider.locator('option[value="elevenlabs"]')).to_have_count(1)
    provider.select_option("elevenlabs")
    expect(page.locator('#language option[value="es"]')).to_have_count(1)  # the vendor's languages

    page.click("#record")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "live")
    segment = page.locator("#segments li.segment .segment-text").first
    expect(segment, "no committed segment came back from the vendor").to_be_visible(timeout=SPEECH_TIMEOUT)
    text = segment.inner_text()
    assert text.split()[:2] == list(ELEVENLABS_SCRIPT[:2]), f"the page shows {text!r}, not the vendor's words"
    page.click("#record")
    expect(page.locator("#session-status")).to_have_attribute("data-state", "ended")

    query = fake_elevenlabs.queries[-1]
    assert query["commit_strategy"] == "vad" and query["language_code"] == "en"
    assert ELEVENLABS_KEY not in page.content()


def test_a_provider_without_manual_commits_cannot_be_set_to_manual(server, student_page):
    server.manage("addkey", "prosa", "--label", "browser", stdin="browser-test-prosa-key\n")
    page = student_page()
    page.select_option("#commit-strategy", "manual")
    page.select_option("#provider", "prosa")
    expect(page.locator("#commit-strategy")).to_have_value("vad")
    expect(page.locator('#commit-strategy option[value="manual"]')).to_be_disabled()
    expect(page.locator("#language")).to_have_value("id")
