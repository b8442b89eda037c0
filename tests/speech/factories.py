"""Recordings made directly in the database, for page tests that need no live socket."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from speechsite.lib.audio import WavWriter
from speechsite.speech.models import Recording, Segment, audio_path

WORDS = [
    {"text": "hello", "start": 0.5, "end": 0.9, "confidence": 0.9},
    {"text": "world", "start": 0.9, "end": 1.4, "confidence": 0.8},
]


def make_recording(user, *, minutes_ago: int = 0, seconds: float = 2.0, segments: int = 2, **fields) -> Recording:
    recording = Recording(user=user, status=Recording.Status.COMPLETED, duration=seconds, **fields)
    recording.audio.name = audio_path(recording)
    recording.save()
    Recording.objects.filter(pk=recording.pk).update(started_at=timezone.now() - timedelta(minutes=minutes_ago))
    recording.refresh_from_db()
    writer = WavWriter(recording.audio_file, 16000)
    writer.write(b"\x10\x00" * int(16000 * seconds))
    writer.close()
    texts = ["hello world", "how are you today"]
    for index in range(segments):
        Segment.objects.create(
            recording=recording,
            index=index,
            text=texts[index % 2],
            start=0.5 + index * 2.0,
            end=1.4 + index * 2.0,
            words=WORDS,
        )
    return recording
