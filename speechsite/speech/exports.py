"""Transcript downloads: plain text, SRT and WebVTT subtitles, and JSON with word timings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol


class SegmentLike(Protocol):
    text: str
    start: float
    end: float
    words: list


def _clock(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_txt(segments: Sequence[SegmentLike]) -> str:
    return "".join(f"{segment.text}\n" for segment in segments)


def to_srt(segments: Sequence[SegmentLike]) -> str:
    blocks = [
        f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n" for n, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Sequence[SegmentLike]) -> str:
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_json(recording: dict, segments: Sequence[SegmentLike]) -> str:
    body = {
        **recording,
        "segments": [{"text": s.text, "start": s.start, "end": s.end, "words": s.words} for s in segments],
    }
    return json.dumps(body, indent=2)


FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}
