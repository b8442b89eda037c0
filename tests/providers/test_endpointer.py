from __future__ import annotations

from speechsite.lib.audio import read_wav
from speechsite.providers.local.endpointer import Endpointer
from tests.conftest import fixture_audio

SILENCE_SECOND = b"\x00\x00" * 16000


def run(endpointer: Endpointer, pcm: bytes, chunk: int = 3200):
    steps = []
    for i in range(0, len(pcm), chunk):
        steps += endpointer.process(pcm[i : i + chunk])
    return steps


def test_it_hears_nothing_in_silence():
    endpointer = Endpointer()
    assert run(endpointer, SILENCE_SECOND * 2) == []
    assert not endpointer.in_speech


def test_it_finds_speech_start_near_the_first_word():
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    endpointer = Endpointer()
    steps = run(endpointer, SILENCE_SECOND + pcm)
    assert sum(step.started for step in steps) == 1
    assert 0.8 < endpointer.speech_start < 1.3


def test_it_ends_speech_after_the_configured_silence():
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    short = run(Endpointer(silence_ms=300), pcm + SILENCE_SECOND)
    long = run(Endpointer(silence_ms=1500), pcm + SILENCE_SECOND)
    assert sum(step.ended for step in short) == 1
    assert sum(step.ended for step in long) == 0


def test_it_passes_speech_through_without_delay():
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    endpointer = Endpointer()
    steps = run(endpointer, pcm[:32000])  # the first second
    handed_out = sum(len(step.audio) for step in steps)
    assert handed_out >= 32000 - (endpointer.speech_start * 32000) - endpointer.frame_bytes * 2


def test_it_finds_two_utterances_separated_by_a_pause():
    pcm, _ = read_wav(fixture_audio("two_sentences"))
    steps = run(Endpointer(silence_ms=800), pcm + SILENCE_SECOND)
    assert sum(step.started for step in steps) == 2
    assert sum(step.ended for step in steps) == 2


def test_it_accepts_chunks_that_do_not_align_with_frames():
    pcm, _ = read_wav(fixture_audio("fox_slt"))
    steps = run(Endpointer(), pcm, chunk=1234)
    assert sum(step.started for step in steps) == 1
