"""A class's results as CSV: one row per assessed attempt, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from speechsite.accounts.models import Classroom
from speechsite.speech.models import Assessment

HEADER = (
    "student",
    "full_name",
    "date",
    "provider",
    "mode",
    "exercise",
    "expected_text",
    "overall",
    "accuracy",
    "fluency",
    "completeness",
    "duration",
    "recording_id",
)
# A spreadsheet runs a cell starting with these as a formula (OWASP "CSV injection"); tab and CR too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Text a spreadsheet shows as text: a leading quote defuses a would-be formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def class_assessments(classroom: Classroom):
    """Every assessment of the class's current students, student by student, oldest first."""
    return (
        Assessment.objects.filter(recording__user__in=classroom.students.all())
        .select_related("recording__user", "exercise")
        .defer("provider_raw", "details", "words")
        .order_by("recording__user__username", "recording__started_at", "recording__id")
    )


def result_rows(assessments: Iterable[Assessment]) -> Iterator[list[str]]:
    yield list(HEADER)
    for assessment in assessments:
        recording = assessment.recording
        student = recording.user
        text_cells = [
            student.username,
            student.get_full_name(),
            timezone.localtime(recording.started_at).isoformat(timespec="seconds"),
            recording.provider,
            recording.mode,
            assessment.exercise.title if assessment.exercise else "",
            assessment.expected_text,
        ]
        yield [
            *(safe_cell(cell) for cell in text_cells),
            _number(assessment.overall),
            _number(assessment.accuracy),
            _number(assessment.fluency),
            _number(assessment.completeness),
            _number(recording.duration),
            str(recording.id),
        ]


def filename_for(classroom: Classroom) -> str:
    return f"{slugify(classroom.name) or f'class-{classroom.pk}'}-results.csv"


def results_response(classroom: Classroom) -> HttpResponse:
    # Built in memory: a class's results are small, and a sync streaming response under ASGI is buffered anyway.
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_for(classroom)}"'
    response.write("\ufeff")  # the BOM makes Excel read the file as UTF-8 (accented names)
    csv.writer(response).writerows(result_rows(class_assessments(classroom).iterator()))
    return response
