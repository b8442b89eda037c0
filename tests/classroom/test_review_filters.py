"""The attempt filters: each one narrows the list, and bad input shows an error instead of failing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from speechsite.classroom.filters import AttemptFilterForm
from speechsite.practice.models import Exercise
from speechsite.speech.models import Assessment, Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db

DAY = 24 * 60


@pytest.fixture
def exercise():
    return Exercise.objects.create(title="Greetings", text="Hello there")


@pytest.fixture
def attempts(student, exercise):
    """Alice's attempts: an old local transcription, a recent ELSA assessment of 90, a local assessment of 40."""
    old = make_recording(student, minutes_ago=10 * DAY, segments=1)
    elsa = make_recording(student, minutes_ago=DAY, mode=Recording.Mode.ASSESS, provider="elsa")
    Assessment.objects.create(recording=elsa, overall=90, exercise=exercise, expected_text="Hello there")
    weak = make_recording(student, minutes_ago=5, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(recording=weak, overall=40, expected_text="Good morning")
    return {"old": old, "elsa": elsa, "weak": weak}


@pytest.fixture
def listed(client, teacher, classroom, student):
    """The ids of the attempts the student page lists for some filters, and the page."""
    client.force_login(teacher)
    url = reverse("classroom:student", args=[classroom.pk, student.pk])

    def fetch(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        page = response.content.decode()
        return set(re.findall(r'<tr data-recording="([^"]+)">', page)), page

    return fetch


def ids(attempts, *names) -> set[str]:
    return {str(attempts[name].pk) for name in names}


def test_without_filters_every_attempt_is_listed(listed, attempts):
    assert listed()[0] == ids(attempts, "old", "elsa", "weak")


def test_date_from_narrows_the_list(listed, attempts):
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert listed(date_from=since)[0] == ids(attempts, "elsa", "weak")


def test_date_to_narrows_the_list(listed, attempts):
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert listed(date_to=until)[0] == ids(attempts, "old")


def test_date_to_includes_that_whole_day(listed, attempts):
    assert ids(attempts, "weak") <= listed(date_to=timezone.localdate().isoformat())[0]


def test_provider_narrows_the_list(listed, attempts):
    assert listed(provider="elsa")[0] == ids(attempts, "elsa")


def test_mode_narrows_the_list(listed, attempts):
    assert listed(mode="transcribe")[0] == ids(attempts, "old")
    assert listed(mode="assess")[0] == ids(attempts, "elsa", "weak")


def test_score_min_narrows_the_list(listed, attempts):
    assert listed(score_min="50")[0] == ids(attempts, "elsa")


def test_score_max_narrows_the_list(listed, attempts):
    assert listed(score_max="50")[0] == ids(attempts, "weak")


def test_exercise_narrows_the_list(listed, attempts, exercise):
    assert listed(exercise=exercise.pk)[0] == ids(attempts, "elsa")


def test_filters_combine(listed, attempts):
    assert listed(mode="assess", score_min="30", score_max="60")[0] == ids(attempts, "weak")


def test_filters_narrow_the_trend_too(listed, attempts):
    page = listed(provider="elsa")[1]
    assert 'aria-label="Overall score 90 in 1 attempt"' in page


def test_a_filter_matching_nothing_says_so(listed, attempts):
    found, page = listed(provider="prosa")
    assert found == set() and "No attempts match these filters." in page


def test_the_filter_form_offers_every_provider_and_mode(listed, attempts):
    page = listed()[1]
    for value in ("local", "elevenlabs", "openmind", "prosa", "elsa", "transcribe", "assess"):
        assert f'<option value="{value}"' in page


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"date_to": "2030-13-45"},
        {"provider": "whisper"},
        {"mode": "sing"},
        {"score_min": "-1"},
        {"score_max": "101"},
        {"score_min": "lots"},
        {"exercise": "999999"},
        {"exercise": "first"},
        {"date_from": "2030-05-02", "date_to": "2030-05-01"},
        {"score_min": "80", "score_max": "20"},
    ],
)
def test_bad_filter_input_shows_an_error_and_the_unfiltered_list(listed, attempts, params):
    found, page = listed(**params)
    assert 'class="errorlist' in page
    assert "Some filters are not valid" in page
    assert found == ids(attempts, "old", "elsa", "weak")


def test_an_inverted_date_range_says_what_is_wrong():
    form = AttemptFilterForm({"date_from": "2030-05-02", "date_to": "2030-05-01"})
    assert form.errors == {"date_to": ["The end date is before the start date."]}


def test_an_inverted_score_range_says_what_is_wrong():
    form = AttemptFilterForm({"score_min": "80", "score_max": "20"})
    assert form.errors == {"score_max": ["The highest score is below the lowest."]}


def test_an_empty_form_is_not_an_active_filter():
    assert not AttemptFilterForm({"page": "2", "provider": ""}).active
    assert AttemptFilterForm({"provider": "local"}).active
