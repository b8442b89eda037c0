"""stats.py: class lists, rosters, and the weakest-sounds arithmetic over hand-written words JSON."""

from __future__ import annotations

import pytest

from speechsite.accounts.models import Classroom
from speechsite.classroom import stats
from speechsite.speech.models import Assessment, Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


def phoneme(symbol: str, score, ipa: str = "") -> dict:
    return {"symbol": symbol, "score": score, "ipa": ipa, "start": None, "end": None}


def word(text: str, *phonemes: dict) -> dict:
    return {"text": text, "score": 70, "start": 0.1, "end": 0.5, "found": True, "phonemes": list(phonemes)}


def assessment_with(user, words, overall: float | None = 70.0, **fields) -> Assessment:
    recording = Recording.objects.create(user=user, mode=Recording.Mode.ASSESS, status=Recording.Status.COMPLETED)
    return Assessment.objects.create(recording=recording, overall=overall, words=words, **fields)


def test_it_averages_each_sound_over_every_word_and_attempt(student):
    first = assessment_with(student, [word("think", phoneme("TH", 40, "θ"), phoneme("AE", 90, "æ"))])
    second = assessment_with(student, [word("three", phoneme("TH", 50, "θ")), word("bath", phoneme("TH", 60, "θ"))])
    result = stats.weakest_phonemes([first, second], min_count=1)
    assert result[0] == stats.PhonemeStat(symbol="TH", ipa="θ", mean=50.0, count=3)
    assert result[1] == stats.PhonemeStat(symbol="AE", ipa="æ", mean=90.0, count=1)


def test_it_lists_the_lowest_mean_first(student):
    words = [word("x", phoneme("A", 80), phoneme("B", 20), phoneme("C", 50)) for _ in range(3)]
    result = stats.weakest_phonemes([assessment_with(student, words)])
    assert [stat.symbol for stat in result] == ["B", "C", "A"]


def test_it_leaves_out_sounds_scored_fewer_times_than_the_minimum(student):
    scores = [phoneme("R", 10)] * (stats.MIN_PHONEME_COUNT - 1) + [phoneme("L", 30)] * stats.MIN_PHONEME_COUNT
    result = stats.weakest_phonemes([assessment_with(student, [word("x", *scores)])])
    assert [stat.symbol for stat in result] == ["L"]


def test_the_minimum_is_three(student):
    assert stats.MIN_PHONEME_COUNT == 3


def test_it_keeps_only_the_eight_weakest(student):
    symbols = [f"P{index}" for index in range(12)]
    words = [word("x", *(phoneme(symbol, index * 5) for index, symbol in enumerate(symbols))) for _ in range(3)]
    result = stats.weakest_phonemes([assessment_with(student, words)])
    assert [stat.symbol for stat in result] == symbols[:8]


def test_it_skips_missing_and_malformed_scores(student):
    words = [
        word("x", phoneme("S", 30), phoneme("S", None), phoneme("S", "n/a"), phoneme("S", 60), phoneme("S", 90)),
        word("y", {"score": 5}, "not a phoneme"),
        {"text": "no phonemes"},
        "not a word",
    ]
    result = stats.weakest_phonemes([assessment_with(student, words)])
    assert result == [stats.PhonemeStat(symbol="S", ipa="", mean=60.0, count=3)]


def test_it_copes_with_words_that_are_not_a_list(student):
    assert stats.weakest_phonemes([assessment_with(student, {"unexpected": True})]) == []


def test_it_gives_the_commonest_ipa_of_a_symbol(student):
    words = [word("x", phoneme("R", 50, "ɹ"), phoneme("R", 50, "ɹ"), phoneme("R", 50, "r"))]
    assert stats.weakest_phonemes([assessment_with(student, words)])[0].ipa == "ɹ"


def test_it_reads_string_scores_as_numbers(student):
    words = [word("x", phoneme("T", "40"), phoneme("T", 50.5), phoneme("T", "60"))]
    assert stats.weakest_phonemes([assessment_with(student, words)])[0].mean == pytest.approx(50.1666, abs=1e-3)


def test_it_returns_nothing_for_no_assessments():
    assert stats.weakest_phonemes([]) == []


def test_the_roster_counts_attempts_and_averages_scores(classroom, student):
    make_recording(student, minutes_ago=30)
    scored = make_recording(student, minutes_ago=20, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(recording=scored, overall=60)
    latest = make_recording(student, minutes_ago=5, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(recording=latest, overall=80)
    (row,) = stats.roster(classroom)
    assert row.attempt_count == 3
    assert row.average_overall == pytest.approx(70.0)
    assert row.last_activity == latest.started_at


def test_the_roster_shows_a_student_who_never_practised(classroom, student, django_user_model):
    quiet = django_user_model.objects.create_user("quentin", role="student")
    classroom.students.add(quiet)
    rows = {row.username: row for row in stats.roster(classroom)}
    assert rows["quentin"].attempt_count == 0
    assert rows["quentin"].average_overall is None and rows["quentin"].last_activity is None


def test_a_teacher_reviews_only_their_current_classes(classroom, other_classroom, teacher):
    archived = Classroom.objects.create(name="Old class", archived=True)
    archived.teachers.add(teacher)
    assert [room.name for room in stats.classrooms_to_review(teacher)] == ["English A1"]


def test_an_admin_reviews_every_class_with_its_student_count(classroom, other_classroom, school_admin):
    Classroom.objects.create(name="Old class", archived=True)
    counts = {room.name: room.student_count for room in stats.classrooms_to_review(school_admin)}
    assert counts == {"English A1": 1, "English B2": 1, "Old class": 0}


def test_a_student_reviews_no_classes(classroom, student):
    assert list(stats.classrooms_to_review(student)) == []


def test_assessments_of_gives_the_recordings_assessments_oldest_first(student):
    older = make_recording(student, minutes_ago=10)
    newer = make_recording(student, minutes_ago=1)
    Assessment.objects.create(recording=newer, overall=90)
    Assessment.objects.create(recording=older, overall=50)
    result = list(stats.assessments_of(Recording.objects.filter(user=student)))
    assert [a.overall for a in result] == [50, 90]
