"""The practice page: exercises to read, the assess-mode recorder, and who may see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from speechsite.practice.models import Exercise
from tests.speech.factories import make_recording
from tests.speech.test_views import add_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercises():
    return [
        Exercise.objects.create(title="Fox", text="The quick brown fox jumps over the lazy dog."),
        Exercise.objects.create(title="Birch", text="The birch canoe slid on the smooth planks."),
        Exercise.objects.create(title="Hidden", text="Nobody should see this one.", active=False),
    ]


def test_it_asks_for_a_sign_in(client):
    response = client.get(reverse("practice:practice"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_shows_the_first_exercise_to_read(client, student, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice")).content.decode()
    assert 'data-mode="assess"' in page
    assert ">The quick brown fox jumps over the lazy dog.</textarea>" in page
    assert f'id="exercise-id" value="{exercises[0].pk}"' in page


def test_it_shows_the_chosen_exercise(client, student, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice"), {"exercise": exercises[1].pk}).content.decode()
    assert ">The birch canoe slid on the smooth planks.</textarea>" in page


def test_it_never_offers_an_inactive_exercise(client, student, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice"), {"exercise": exercises[2].pk}).content.decode()
    assert "Nobody should see this one." not in page


def test_it_lets_a_learner_type_their_own_sentence(client, student, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice"), {"own": "1", "exercise": ""}).content.decode()
    assert 'placeholder="Type a sentence to practise"></textarea>' in page
    assert 'id="exercise-id" value=""' in page


def test_it_offers_the_embedded_engine_and_elsa_only_when_it_has_a_key(client, student, exercises):
    client.force_login(student)
    page = client.get(reverse("practice:practice")).content.decode()
    assert '<option value="local"' in page and '<option value="elsa"' not in page
    add_key("elsa")
    add_key("elevenlabs")  # transcribes, cannot score: never offered here
    page = client.get(reverse("practice:practice")).content.decode()
    assert '<option value="elsa"' in page and '<option value="elevenlabs"' not in page


def test_a_recording_page_shows_its_scores_and_phonemes(client, student):
    from speechsite.speech.models import Assessment

    recording = make_recording(student, mode="assess")
    words = [
        {
            "text": "hello",
            "score": 91.0,
            "start": 0.5,
            "end": 0.9,
            "found": True,
            "decision": "",
            "phonemes": [{"symbol": "HH", "ipa": "h", "score": 95.0, "start": 0.5, "end": 0.6, "decision": ""}],
        },
        {"text": "world", "score": 41.0, "start": 0.9, "end": 1.4, "found": True, "decision": "", "phonemes": []},
    ]
    Assessment.objects.create(
        recording=recording,
        expected_text="hello world",
        overall=70,
        accuracy=66,
        fluency=80,
        completeness=100,
        words=words,
    )
    client.force_login(student)
    page = client.get(recording.get_absolute_url()).content.decode()
    assert 'class="word band-good"' in page and 'class="word band-poor"' in page
    assert 'data-symbol="HH"' in page and "/h/" in page
    assert 'data-start="0.50" data-end="0.90"' in page
    assert "audio.wav" in page


def test_an_outsider_cannot_see_anothers_scores(client, student, outsider):
    recording = make_recording(student, mode="assess")
    client.force_login(outsider)
    assert client.get(recording.get_absolute_url()).status_code == 404


def test_history_shows_the_score_of_an_attempt(client, student):
    from speechsite.speech.models import Assessment

    recording = make_recording(student, mode="assess")
    Assessment.objects.create(recording=recording, expected_text="hello world", overall=55.4, words=[])
    client.force_login(student)
    page = client.get(reverse("speech:history")).content.decode()
    assert '<span class="score-badge band-poor">55</span>' in page and "hello world" in page


def test_admin_lists_assessments(admin_client, student):
    from speechsite.speech.models import Assessment

    recording = make_recording(student, mode="assess")
    Assessment.objects.create(recording=recording, expected_text="hello world", overall=88, words=[])
    page = admin_client.get(reverse("admin:speech_assessment_changelist")).content.decode()
    assert "alice" in page and "88" in page
    assert admin_client.get(reverse("admin:practice_exercise_add")).status_code == 200
