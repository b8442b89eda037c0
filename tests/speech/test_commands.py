from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from speechsite.lib.audio import WavWriter
from speechsite.speech.models import Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


def test_it_closes_recordings_a_stopped_server_left_live(student):
    recording = make_recording(student, seconds=1.5)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.LIVE, duration=0, ended_at=None)
    out = StringIO()
    call_command("interrupt_stale", stdout=out)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.INTERRUPTED
    assert recording.duration == pytest.approx(1.5)  # read back from the audio kept on disk
    assert recording.ended_at is not None and recording.error_code == "server_stopped"
    assert "Marked 1 recording" in out.getvalue()


def test_a_crash_mid_write_still_leaves_the_audio_readable(student):
    recording = make_recording(student, seconds=0.5)
    writer = WavWriter(recording.audio_file, 16000)
    writer.write(b"\x00\x00" * 8000)  # never closed: the process "died" here
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.LIVE)
    call_command("interrupt_stale", stdout=StringIO())
    recording.refresh_from_db()
    assert recording.duration == pytest.approx(0.5)
    writer.close()


def test_completed_and_missing_audio_recordings_are_handled(student):
    done = make_recording(student)
    lost = make_recording(student)
    lost.audio_file.unlink()
    Recording.objects.filter(pk=lost.pk).update(status=Recording.Status.LIVE)
    call_command("interrupt_stale", stdout=StringIO())
    done.refresh_from_db()
    lost.refresh_from_db()
    assert done.status == Recording.Status.COMPLETED
    assert lost.status == Recording.Status.INTERRUPTED and lost.duration == 0.0


def test_it_also_closes_uploads_a_stopped_server_left_processing(student):
    recording = make_recording(student, seconds=1.0, uploaded_name="talk.mp3")
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSING)
    call_command("interrupt_stale", stdout=StringIO())
    recording.refresh_from_db()
    assert recording.status == Recording.Status.INTERRUPTED and recording.error_code == "server_stopped"
