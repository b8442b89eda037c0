from __future__ import annotations

from dataclasses import dataclass, field

from speechsite.speech import exports


@dataclass
class Seg:
    text: str
    start: float
    end: float
    words: list = field(default_factory=list)


def test_srt_numbers_cues_and_uses_commas():
    srt = exports.to_srt([Seg("one", 0.0, 1.25), Seg("two", 3661.5, 3662.0)])
    assert srt == "1\n00:00:00,000 --> 00:00:01,250\none\n\n2\n01:01:01,500 --> 01:01:02,000\ntwo\n"


def test_vtt_has_its_header_and_uses_dots():
    assert exports.to_vtt([Seg("one", 0.0, 1.25)]) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.250\none\n"


def test_an_empty_transcript_exports_cleanly():
    assert exports.to_txt([]) == ""
    assert exports.to_srt([]) == ""
    assert exports.to_vtt([]) == "WEBVTT\n\n"
