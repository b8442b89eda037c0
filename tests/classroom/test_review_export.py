"""The class results CSV: its columns, quoting, the formula-injection guard, and whose rows it holds."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from speechsite.accounts.models import Classroom
from speechsite.classroom.export import HEADER, filename_for, safe_cell
from speechsite.practice.models import Exercise
from speechsite.speech.models import Assessment, Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


def assessed(user, **fields) -> Recording:
    recording = make_recording(user, mode=Recording.Mode.ASSESS, seconds=fields.pop("seconds", 2.0))
    Assessment.objects.create(recording=recording, **fields)
    return recording


def download(client, user, classroom) -> tuple[object, list[dict[str, str]]]:
    client.force_login(user)
    response = client.get(reverse("classroom:export", args=[classroom.pk]))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    return response, list(csv.DictReader(io.StringIO(text)))


def test_it_has_the_documented_columns_in_order(client, classroom, teacher):
    response, _rows = download(client, teacher, classroom)
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == list(HEADER)
    assert header == [
        "student", "full_name", "date", "provider", "mode", "exercise", "expected_text",
        "overall", "accuracy", "fluency", "completeness", "duration", "recording_id",
    ]  # fmt: skip


def test_it_writes_one_row_per_assessed_attempt(client, classroom, student, teacher):
    student.first_name, student.last_name = "Alice", "Liddell"
    student.save()
    exercise = Exercise.objects.create(title="Greetings", text="Hello there")
    recording = assessed(
        student, overall=81.26, accuracy=75, fluency=90, completeness=100, exercise=exercise,
        expected_text="Hello there", seconds=3.5,
    )  # fmt: skip
    make_recording(student)  # a transcription: no row
    _response, rows = download(client, teacher, classroom)
    assert rows == [
        {
            "student": "alice",
            "full_name": "Alice Liddell",
            "date": recording.started_at.isoformat(timespec="seconds"),
            "provider": "local",
            "mode": "assess",
            "exercise": "Greetings",
            "expected_text": "Hello there",
            "overall": "81.3",
            "accuracy": "75.0",
            "fluency": "90.0",
            "completeness": "100.0",
            "duration": "3.5",
            "recording_id": str(recording.pk),
        }
    ]


def test_missing_scores_are_empty_cells(client, classroom, student, teacher):
    assessed(student, overall=None)
    _response, (row,) = download(client, teacher, classroom)
    assert row["overall"] == "" and row["accuracy"] == ""


def test_it_is_an_attachment_named_after_the_class(client, classroom, teacher):
    response, _rows = download(client, teacher, classroom)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="english-a1-results.csv"'


def test_a_class_name_without_latin_letters_still_gives_a_filename():
    room = Classroom(pk=7, name="日本語")
    assert filename_for(room) == "class-7-results.csv"


def test_a_class_name_cannot_break_the_header():
    assert filename_for(Classroom(pk=1, name='Evil"; filename=x.exe')) == "evil-filenamexexe-results.csv"


def test_commas_quotes_and_newlines_survive_the_round_trip(client, classroom, student, teacher):
    text = 'She said, "hello"\nand left'
    assessed(student, overall=50, expected_text=text)
    _response, (row,) = download(client, teacher, classroom)
    assert row["expected_text"] == text


@pytest.mark.parametrize("danger", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"])
def test_formula_like_text_is_defused(client, classroom, student, teacher, danger):
    assessed(student, overall=50, expected_text=danger)
    _response, (row,) = download(client, teacher, classroom)
    assert row["expected_text"] == "'" + danger


def test_a_formula_in_a_name_is_defused(client, classroom, student, teacher):
    student.first_name = "=cmd|' /C calc'!A0"
    student.save()
    exercise = Exercise.objects.create(title="@SUM(1,2)", text="Hello")
    assessed(student, overall=50, exercise=exercise)
    _response, (row,) = download(client, teacher, classroom)
    assert row["full_name"] == "'=cmd|' /C calc'!A0"
    assert row["exercise"] == "'@SUM(1,2)"


def test_safe_cell_leaves_ordinary_text_alone():
    assert safe_cell("Hello = world") == "Hello = world"
    assert safe_cell("") == ""
    assert safe_cell("=HYPERLINK()") == "'=HYPERLINK()"


def test_it_holds_only_this_class_students(client, classroom, other_classroom, student, outsider, teacher):
    assessed(student, overall=60)
    assessed(outsider, overall=70)
    _response, rows = download(client, teacher, classroom)
    assert [row["student"] for row in rows] == ["alice"]


def test_an_admin_downloads_any_class(client, classroom, other_classroom, outsider, school_admin):
    assessed(outsider, overall=70)
    _response, rows = download(client, school_admin, other_classroom)
    assert [row["student"] for row in rows] == ["mallory"]


def test_rows_go_student_by_student_oldest_first(client, classroom, student, teacher, django_user_model):
    bob = django_user_model.objects.create_user("bob", role="student")
    classroom.students.add(bob)
    for user, minutes in ((student, 5), (bob, 30), (student, 50)):
        recording = make_recording(user, minutes_ago=minutes, mode=Recording.Mode.ASSESS)
        Assessment.objects.create(recording=recording, overall=minutes)
    _response, rows = download(client, teacher, classroom)
    assert [(row["student"], row["overall"]) for row in rows] == [("alice", "50.0"), ("alice", "5.0"), ("bob", "30.0")]


def test_an_empty_class_gives_just_the_header(client, classroom, teacher):
    _response, rows = download(client, teacher, classroom)
    assert rows == []
