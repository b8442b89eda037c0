"""The server's endpoint in assess mode, driven by the real recognizer on fixture audio."""

from __future__ import annotations

import pytest

from speechsite.lib.audio import read_wav
from speechsite.providers.base import Assessment, Endpoint, ProviderError
from speechsite.providers.local.assess import AssessingRecognizer, EndpointRules, sentence_heard, words_of
from speechsite.providers.local.recognizer import CepstralMeter, StreamingRecognizer, new_decoder
from tests.conftest import fixture_audio

FOX = "The quick brown fox jumps over the lazy dog."
SILENCE = b"\x00\x00" * 1600  # 0.1 s


class RecordingScorer:
    """Stands in for the scorer where only the endpoint is under test; keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def assess(self, pcm: bytes, expected_text: str) -> Assessment:
        self.calls.append((len(pcm), expected_text))
        return Assessment(overall=90.0, accuracy=90.0, fluency=90.0, completeness=100.0)


@pytest.fixture(scope="module")
def parts():
    return new_decoder(), CepstralMeter()


def assessing(parts, text: str = FOX, **rules) -> AssessingRecognizer:
    decoder, meter = parts
    return AssessingRecognizer(StreamingRecognizer(decoder, meter), RecordingScorer(), text, EndpointRules(**rules))


def feed_in_chunks(recognizer: AssessingRecognizer, pcm: bytes, chunk: int = 3200) -> list:
    events = []
    for i in range(0, len(pcm), chunk):
        events += recognizer.feed(pcm[i : i + chunk])
    return events


def test_it_normalizes_words_for_matching():
    assert words_of("The quick, brown FOX's den!") == ["the", "quick", "brown", "fox's", "den"]


def test_it_calls_a_sentence_heard_when_most_words_and_the_last_one_came():
    expected = words_of(FOX)
    assert sentence_heard(expected, words_of("the quick brown box jumps over a lazy dog"), 0.6)


def test_it_does_not_call_a_sentence_heard_before_its_end():
    expected = words_of(FOX)
    assert not sentence_heard(expected, words_of("the quick brown fox jumps"), 0.6)


def test_it_does_not_call_a_sentence_heard_from_its_last_word_alone():
    assert not sentence_heard(words_of(FOX), ["dog"], 0.6)


def test_it_sends_an_endpoint_once_the_sentence_is_read_and_a_pause_follows(parts):
    recognizer = assessing(parts)
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    events = feed_in_chunks(recognizer, pcm + SILENCE * 10)
    assert [e for e in events if isinstance(e, Endpoint)] == [Endpoint()]
    recognizer.finish()


def test_it_does_not_end_while_the_learner_is_still_reading(parts):
    recognizer = assessing(parts, "the quick brown fox jumps over the lazy dog and runs into the forest")
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    events = feed_in_chunks(recognizer, pcm + SILENCE * 10)
    assert not any(isinstance(e, Endpoint) for e in events)
    recognizer.finish()


def test_it_ends_after_a_long_pause_even_if_the_sentence_is_unfinished(parts):
    recognizer = assessing(parts, "the quick brown fox jumps over the lazy dog and runs away", long_pause_ms=1500)
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    events = feed_in_chunks(recognizer, pcm + SILENCE * 25)
    assert any(isinstance(e, Endpoint) for e in events)
    recognizer.finish()


def test_it_ends_when_nobody_speaks(parts):
    recognizer = assessing(parts, no_speech_ms=2000)
    events = feed_in_chunks(recognizer, SILENCE * 25)
    assert any(isinstance(e, Endpoint) for e in events)


def test_it_stops_keeping_audio_past_the_longest_attempt(parts):
    recognizer = assessing(parts, max_seconds=1.0)
    events = feed_in_chunks(recognizer, SILENCE * 15)
    assert any(isinstance(e, Endpoint) for e in events)
    assert len(recognizer.audio) == 32000


def test_it_hands_the_whole_attempt_to_the_scorer(parts):
    recognizer = assessing(parts)
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    feed_in_chunks(recognizer, pcm)
    (assessment,) = recognizer.assess()
    assert isinstance(assessment, Assessment)
    assert recognizer.scorer.calls == [(len(pcm), FOX)]


def test_it_passes_on_the_scorers_no_speech_result(parts):
    class Silent(RecordingScorer):
        def assess(self, pcm: bytes, expected_text: str) -> Assessment:
            raise ProviderError("no_speech", "No speech was heard.", fatal=False)

    decoder, meter = parts
    recognizer = AssessingRecognizer(StreamingRecognizer(decoder, meter), Silent(), FOX, EndpointRules())
    feed_in_chunks(recognizer, SILENCE * 5)
    (error,) = recognizer.assess()
    assert error.code == "no_speech" and not error.fatal


def test_it_calls_a_sentence_heard_when_its_last_word_was_misheard_as_a_near_one():
    assert sentence_heard(words_of(FOX), words_of("the quick brown fox jumps over the lazy dug"), 0.6)


def test_it_calls_a_sentence_heard_when_about_as_many_words_came_even_if_mostly_misheard():
    expected = words_of("the cable hundred and fell through so that we were near the goal post")
    heard = words_of("the cabal hundred and follow through so that when hum where near the goal boast")
    assert sentence_heard(expected, heard, 0.6)
