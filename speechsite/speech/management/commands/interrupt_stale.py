"""Close recordings that a stopped server left `live`: mark them interrupted, keep their audio.

Run at start-up, before serving (`make run` does): with one server process nothing can be
live yet. With several, run it only when all of them are down.
"""

from __future__ import annotations

import wave

from django.core.management.base import BaseCommand
from django.utils import timezone

from speechsite.speech.models import Recording


def seconds_on_disk(recording: Recording) -> float:
    """The audio's length from its WAV header, which is valid after every chunk written."""
    try:
        with wave.open(str(recording.audio_file)) as wav:
            return wav.getnframes() / wav.getframerate()
    except (FileNotFoundError, wave.Error, EOFError):
        return 0.0


class Command(BaseCommand):
    help = "Mark recordings left live by a stopped server as interrupted (run before serving)."

    def handle(self, *args, **options) -> None:
        stale = list(Recording.objects.filter(status__in=[Recording.Status.LIVE, Recording.Status.PROCESSING]))
        for recording in stale:
            recording.status = Recording.Status.INTERRUPTED
            recording.duration = round(seconds_on_disk(recording), 3)
            recording.ended_at = recording.ended_at or timezone.now()
            recording.error_code = "server_stopped"
            recording.error_message = "The server stopped during this recording; what arrived before is kept."
            recording.save(update_fields=["status", "duration", "ended_at", "error_code", "error_message"])
        if stale:
            self.stdout.write(f"Marked {len(stale)} recording(s) left live by a stopped server as interrupted.")
