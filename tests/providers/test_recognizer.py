"""The embedded engine decoding real fixture speech (no mocks: pocketsphinx and its model)."""

from __future__ import annotations

import pytest

from speechsite.lib.audio import read_wav
from speechsite.providers.base import CommittedTranscript, PartialTranscript
from speechsite.providers.local.recognizer import CepstralMeter, StreamingRecognizer, new_decoder
from tests.conftest import fixture_audio

CHUNK = 3200  # 100 ms


@pytest.fixture(scope="module")
def decoder():
    return new_decoder()


@pytest.fixture(scope="module")
def meter():
    return CepstralMeter()


def stream(recognizer: StreamingRecognizer, pcm: bytes) -> list:
    events = []
    for i in range(0, len(pcm), CHUNK):
        events += recognizer.feed(pcm[i : i + CHUNK])
    return events


def commits(events) -> list[CommittedTranscript]:
    return [e for e in events if isinstance(e, CommittedTranscript)]


def test_it_transcribes_a_sentence(decoder, meter):
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    recognizer = StreamingRecognizer(decoder, meter)
    events = stream(recognizer, pcm) + recognizer.finish()
    (commit,) = commits(events)
    words = commit.text.split()
    expected = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    assert sum(w in words for w in expected) >= 7, commit.text


def test_it_gives_each_word_times_and_a_confidence(decoder, meter):
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    recognizer = StreamingRecognizer(decoder, meter)
    (commit,) = commits(stream(recognizer, pcm) + recognizer.finish())
    assert commit.words and commit.start == commit.words[0].start and commit.end == commit.words[-1].end
    for previous, word in zip(commit.words, commit.words[1:], strict=False):
        assert previous.start < previous.end <= word.start + 0.01
    assert all(0.0 <= w.confidence <= 1.0 for w in commit.words)
    assert commit.end <= len(pcm) / 32000 + 0.05


def test_it_sends_a_partial_at_least_every_300_ms_of_speech(decoder, meter):
    pcm, _ = read_wav(fixture_audio("stella_awb"))
    recognizer = StreamingRecognizer(decoder, meter, partial_interval_ms=200)
    gaps, since = [], 0
    for i in range(0, len(pcm), CHUNK):
        events = recognizer.feed(pcm[i : i + CHUNK])
        since += CHUNK
        if any(isinstance(e, PartialTranscript) for e in events):
            gaps.append(since)
            since = 0
    recognizer.finish()
    assert len(gaps) >= 10
    assert max(gaps[1:]) <= 0.3 * 32000  # after the first words, never more than 300 ms apart


def test_it_commits_at_each_pause(decoder, meter):
    pcm, _ = read_wav(fixture_audio("two_sentences"))
    recognizer = StreamingRecognizer(decoder, meter, silence_ms=800)
    events = stream(recognizer, pcm + b"\x00\x00" * 16000)
    first, second = commits(events)
    assert "fox" in first.text and "birch" in second.text
    assert second.start > first.end + 0.8  # times are from the start of the stream
    assert recognizer.finish() == []


def test_manual_mode_commits_only_when_asked(decoder, meter):
    pcm, _ = read_wav(fixture_audio("two_sentences"))
    recognizer = StreamingRecognizer(decoder, meter, commit_strategy="manual")
    events = stream(recognizer, pcm)
    assert commits(events) == []
    (commit,) = commits(recognizer.commit())
    assert "fox" in commit.text and "birch" in commit.text
    assert recognizer.commit() == []  # nothing new since


def test_manual_commit_splits_the_stream(decoder, meter):
    fox, _ = read_wav(fixture_audio("fox_slt"))
    birch, _ = read_wav(fixture_audio("birch_rms"))
    recognizer = StreamingRecognizer(decoder, meter, commit_strategy="manual")
    first = commits(stream(recognizer, fox) + recognizer.commit())
    second = commits(stream(recognizer, birch) + recognizer.finish())
    assert len(first) == 1 and len(second) == 1
    assert second[0].start >= len(fox) / 32000 - 0.05


def test_silence_commits_nothing(decoder, meter):
    pcm, _ = read_wav(fixture_audio("silence"))
    recognizer = StreamingRecognizer(decoder, meter)
    assert commits(stream(recognizer, pcm) + recognizer.finish()) == []


def test_an_utterance_too_short_to_prime_is_decoded_as_offline(decoder, meter):
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    recognizer = StreamingRecognizer(decoder, meter, prime_ms=5000)  # longer than the sentence
    (commit,) = commits(stream(recognizer, pcm) + recognizer.finish())
    offline = new_decoder()
    offline.start_utt()
    offline.process_raw(pcm, full_utt=True)
    offline.end_utt()
    assert commit.text == " ".join(w.split("(")[0] for w in offline.hyp().hypstr.split())


def test_the_first_partial_waits_for_a_second_of_speech_then_they_flow(decoder, meter):
    pcm, _ = read_wav(fixture_audio("stella_awb"))
    recognizer = StreamingRecognizer(decoder, meter, prime_ms=1000)
    first_partial_at = None
    for i in range(0, len(pcm), CHUNK):
        if any(isinstance(e, PartialTranscript) for e in recognizer.feed(pcm[i : i + CHUNK])):
            first_partial_at = (i + CHUNK) / 32000
            break
    recognizer.finish()
    assert recognizer.primed
    assert 1.0 <= first_partial_at <= 1.5  # speech starts within the first 0.3 s of the file


def test_a_reused_decoder_does_not_inherit_the_last_speaker(meter):
    fox, _ = read_wav(fixture_audio("fox_slt"))
    box, _ = read_wav(fixture_audio("box_rms"))
    fresh, reused = new_decoder(), new_decoder()
    first = StreamingRecognizer(reused, meter)
    stream(first, box)
    first.finish()
    results = []
    for decoder in (fresh, reused):
        recognizer = StreamingRecognizer(decoder, meter)
        results.append(commits(stream(recognizer, fox) + recognizer.finish())[0].text)
    assert results[0] == results[1]


def test_priming_keeps_streaming_as_accurate_as_offline_decoding(decoder, meter):
    """The cepstral-mean priming is what closes the gap to offline decoding; guard it."""
    names = ("fox_slt", "stella_awb", "birch_rms", "box_rms", "juice_awb", "train_slt")
    streamed_errors = offline_errors = 0
    for name in names:
        pcm, _ = read_wav(fixture_audio(name))
        reference = set(_reference(name).split())
        recognizer = StreamingRecognizer(decoder, meter)
        streamed = " ".join(c.text for c in commits(stream(recognizer, pcm) + recognizer.finish()))
        offline = new_decoder()
        offline.start_utt()
        offline.process_raw(pcm, full_utt=True)
        offline.end_utt()
        streamed_errors += len(reference - set(streamed.split()))
        offline_errors += len(reference - set(offline.hyp().hypstr.split()))
    assert streamed_errors <= offline_errors + 1


def _reference(name: str) -> str:
    for line in fixture_audio("index").with_suffix(".tsv").read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == name:
            return fields[2]
    raise KeyError(name)
