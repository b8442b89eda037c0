"""What the teacher sees: the roster, a student's attempts with their weakest sounds and trend, one attempt."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from speechsite.speech.models import Assessment, Comment, Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


def scored(user, overall: float | None, *, minutes_ago: int = 0, words=None, **fields) -> Recording:
    recording = make_recording(user, minutes_ago=minutes_ago, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(
        recording=recording, overall=overall, words=words or [], expected_text=fields.pop("expected_text", ""), **fields
    )
    return recording


def th_word(score: float) -> dict:
    return {
        "text": "think",
        "score": score,
        "start": 0.5,
        "end": 0.9,
        "found": True,
        "phonemes": [{"symbol": "TH", "score": score, "ipa": "θ"}, {"symbol": "AE", "score": 95, "ipa": "æ"}],
    }


def student_page(client, classroom, student) -> str:
    return client.get(reverse("classroom:student", args=[classroom.pk, student.pk])).content.decode()


@pytest.fixture
def tess(client, teacher):
    client.force_login(teacher)
    return client


# The roster


def test_the_roster_lists_each_student_with_attempts_average_and_last_activity(tess, classroom, student):
    scored(student, 60, minutes_ago=30)
    last = scored(student, 80, minutes_ago=5)
    page = tess.get(reverse("classroom:detail", args=[classroom.pk])).content.decode()
    assert reverse("classroom:student", args=[classroom.pk, student.pk]) in page
    assert '<td data-count="attempts">2</td>' in page
    assert 'class="score-badge band-fair">70<' in page
    assert last.started_at.strftime("%Y-%m-%d %H:%M") in page


def test_the_roster_links_to_the_csv_export(tess, classroom):
    page = tess.get(reverse("classroom:detail", args=[classroom.pk])).content.decode()
    assert reverse("classroom:export", args=[classroom.pk]) in page


def test_the_roster_shows_students_who_never_practised(tess, classroom, django_user_model):
    classroom.students.add(django_user_model.objects.create_user("quentin", role="student"))
    page = tess.get(reverse("classroom:detail", args=[classroom.pk])).content.decode()
    assert "quentin" in page and "never" in page


def test_the_roster_does_not_list_another_class_students(tess, classroom, other_classroom):
    page = tess.get(reverse("classroom:detail", args=[classroom.pk])).content.decode()
    assert "alice" in page and "mallory" not in page


def test_the_list_counts_students(tess, classroom):
    page = tess.get(reverse("classroom:list")).content.decode()
    assert '<td data-count="students">1</td>' in page


# A student's attempts


def test_the_attempts_list_links_each_attempt_with_its_score_and_comment_count(tess, classroom, student, teacher):
    recording = scored(student, 85, expected_text="The quick brown fox")
    Comment.objects.create(recording=recording, author=teacher, body="Nice")
    page = student_page(tess, classroom, student)
    assert reverse("classroom:attempt", args=[classroom.pk, student.pk, recording.pk]) in page
    assert 'class="score-badge band-good">85<' in page
    assert "The quick brown fox" in page
    assert '<td data-count="comments">1</td>' in page
    assert "Pronunciation" in page and "Embedded engine" in page and "Completed" in page


def test_a_transcription_shows_its_transcript_snippet(tess, classroom, student):
    make_recording(student)
    assert "hello world how are you today" in student_page(tess, classroom, student)


def test_the_attempts_list_does_not_show_another_student_attempts(tess, classroom, student, outsider):
    theirs = make_recording(outsider)
    assert str(theirs.pk) not in student_page(tess, classroom, student)


def test_the_attempts_are_paginated_by_20_keeping_the_filters(tess, classroom, student):
    for minutes in range(25):
        make_recording(student, minutes_ago=minutes, segments=0)
    url = reverse("classroom:student", args=[classroom.pk, student.pk])
    first = tess.get(url, {"mode": "transcribe"}).content.decode()
    assert first.count("<tr data-recording=") == 20
    assert "Page 1 of 2" in first
    assert 'href="?mode=transcribe&amp;page=2"' in first
    second = tess.get(url, {"mode": "transcribe", "page": 2}).content.decode()
    assert second.count("<tr data-recording=") == 5


def test_the_student_page_shows_sessions_in_progress_with_a_link_to_follow(tess, classroom, student):
    live = Recording.objects.create(user=student, status=Recording.Status.LIVE)
    page = student_page(tess, classroom, student)
    assert "Speaking now" in page
    assert reverse("classroom:live", args=[classroom.pk, student.pk, live.pk]) in page


def test_the_student_page_has_no_live_section_when_nothing_is_live(tess, classroom, student):
    make_recording(student)
    assert "Speaking now" not in student_page(tess, classroom, student)


def test_the_student_page_shows_the_weakest_sounds(tess, classroom, student):
    for score in (30, 40, 50):
        scored(student, 70, words=[th_word(score)])
    page = student_page(tess, classroom, student)
    rows = re.findall(r'<tr data-symbol="([^"]+)">', page)
    assert rows == ["TH", "AE"]
    assert "/θ/" in page and 'band-poor">40<' in page


def test_the_student_page_says_when_no_sound_was_scored_often_enough(tess, classroom, student):
    scored(student, 70, words=[th_word(30)])
    assert "No sound has been scored at least 3 times" in student_page(tess, classroom, student)


def test_the_student_page_plots_the_score_trend(tess, classroom, student):
    scored(student, 62, minutes_ago=30)
    scored(student, 70, minutes_ago=20)
    scored(student, 81, minutes_ago=10)
    make_recording(student, minutes_ago=5)  # a transcription has no score and no point
    page = student_page(tess, classroom, student)
    assert 'aria-label="Overall score from 62 to 81 over 3 attempts"' in page
    assert page.count('<circle class="trend-point') == 3


def test_the_trend_shows_an_empty_state_without_scores(tess, classroom, student):
    make_recording(student)
    page = student_page(tess, classroom, student)
    assert "<svg" not in page and "No scored attempts yet" in page


def test_the_attempt_page_plays_the_audio_and_shows_word_and_phoneme_scores(tess, classroom, student):
    recording = scored(student, 55, words=[th_word(35)], expected_text="think")
    page = tess.get(reverse("classroom:attempt", args=[classroom.pk, student.pk, recording.pk])).content.decode()
    audio_url = reverse("classroom:attempt_audio", args=[classroom.pk, student.pk, recording.pk])
    assert f'src="{audio_url}"' in page
    assert reverse("speech:audio", args=[recording.pk]) not in page  # the student's own URL would 404 for tess
    assert 'class="word band-poor"' in page and 'data-symbol="TH"' in page
    assert 'class="segment-text">hello world<' in page


def test_a_transcription_attempt_has_a_player_and_its_segments(tess, classroom, student):
    recording = make_recording(student)
    page = tess.get(reverse("classroom:attempt", args=[classroom.pk, student.pk, recording.pk])).content.decode()
    assert 'id="player"' in page
    assert reverse("classroom:attempt_audio", args=[classroom.pk, student.pk, recording.pk]) in page
    assert "how are you today" in page


def test_the_attempt_page_has_the_comment_form(tess, classroom, student):
    recording = make_recording(student)
    page = tess.get(reverse("classroom:attempt", args=[classroom.pk, student.pk, recording.pk])).content.decode()
    comment_url = reverse("classroom:comment", args=[classroom.pk, student.pk, recording.pk])
    assert f'hx-post="{comment_url}"' in page and f'action="{comment_url}"' in page
    assert 'name="body"' in page


# Audio


def test_the_audio_is_the_wav_with_range_support(tess, classroom, student):
    recording = make_recording(student)
    url = reverse("classroom:attempt_audio", args=[classroom.pk, student.pk, recording.pk])
    whole = tess.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/wav"
    assert whole["Accept-Ranges"] == "bytes"
    part = tess.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206
    assert b"".join(part.streaming_content)[:4] == b"RIFF"
    assert part["Content-Range"].startswith("bytes 0-99/")


def test_missing_audio_is_a_404(tess, classroom, student):
    recording = make_recording(student)
    recording.audio_file.unlink()
    url = reverse("classroom:attempt_audio", args=[classroom.pk, student.pk, recording.pk])
    assert tess.get(url).status_code == 404
