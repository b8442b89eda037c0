"""History, recording, audio and download pages: each shows a student only their own data."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from speechsite.providers.models import ProviderKey
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(student):
    return make_recording(student)


def test_the_live_page_asks_for_a_sign_in(client):
    response = client.get(reverse("speech:live"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_live_page_has_the_recorder(client, student):
    client.force_login(student)
    page = client.get(reverse("speech:live")).content.decode()
    assert 'id="record"' in page and 'data-ws-url="/ws/speech/?format=html"' in page
    assert 'aria-live="polite"' in page
    assert "htmx-2.0.11.min.js" in page and "htmx-ext-ws-2.0.4.js" in page
    assert '<option value="local"' in page


def add_key(provider: str, *, active: bool = True) -> ProviderKey:
    key = ProviderKey(provider=provider, label=f"{provider} school key", active=active)
    key.set_secret(f"{provider}-secret-value-1234")
    key.save()
    return key


def test_the_live_page_offers_only_the_embedded_engine_without_keys(client, student):
    client.force_login(student)
    page = client.get(reverse("speech:live")).content.decode()
    assert '<option value="local"' in page
    for name in ("elevenlabs", "openmind", "prosa", "elsa"):
        assert f'<option value="{name}"' not in page


def test_the_live_page_offers_providers_with_an_active_key_and_their_options(client, student):
    add_key("elevenlabs")
    add_key("prosa")
    add_key("openmind", active=False)
    client.force_login(student)
    page = client.get(reverse("speech:live")).content.decode()
    assert '<option value="elevenlabs" data-languages="en es' in page
    assert 'value="prosa" data-languages="id" data-manual-commit="false"' in page
    assert '<option value="openmind"' not in page


def test_the_live_page_never_shows_a_key(client, student):
    add_key("elevenlabs")
    client.force_login(student)
    page = client.get(reverse("speech:live")).content.decode()
    assert "secret-value" not in page and "1234" not in page


def test_history_lists_own_recordings_newest_first(client, student):
    older = make_recording(student, minutes_ago=10)
    newer = make_recording(student, minutes_ago=1)
    client.force_login(student)
    page = client.get(reverse("speech:history")).content.decode()
    assert page.index(str(newer.id)) < page.index(str(older.id))
    assert "hello world" in page


def test_history_hides_other_students_recordings(client, student, outsider):
    theirs = make_recording(outsider)
    client.force_login(student)
    page = client.get(reverse("speech:history")).content.decode()
    assert str(theirs.id) not in page
    assert "No recordings yet" in page


def test_history_is_paginated(client, student, settings):
    settings.HISTORY_PAGE_SIZE = 2
    for minutes in range(5):
        make_recording(student, minutes_ago=minutes, segments=0)
    client.force_login(student)
    first = client.get(reverse("speech:history")).content.decode()
    assert "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get(reverse("speech:history"), {"page": 3}).content.decode()
    assert "Page 3 of 3" in last and 'rel="next"' not in last


def test_the_recording_page_shows_player_and_segments(client, student, recording):
    client.force_login(student)
    page = client.get(recording.get_absolute_url()).content.decode()
    assert reverse("speech:audio", args=[recording.id]) in page
    assert 'data-seek="0.50"' in page and 'data-seek="2.50"' in page
    assert "how are you today" in page
    for fmt in ("txt", "srt", "vtt", "json"):
        assert reverse("speech:export", args=[recording.id, fmt]) in page


def test_an_outsider_cannot_open_the_recording(client, outsider, recording):
    client.force_login(outsider)
    assert client.get(recording.get_absolute_url()).status_code == 404
    assert client.get(reverse("speech:audio", args=[recording.id])).status_code == 404
    assert client.get(reverse("speech:export", args=[recording.id, "txt"])).status_code == 404


def test_the_teacher_cannot_yet_open_a_students_recording(client, teacher, recording):
    # Teachers see their classrooms' students once classrooms exist; until then, nobody else.
    client.force_login(teacher)
    assert client.get(recording.get_absolute_url()).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, recording):
    for url in (recording.get_absolute_url(), reverse("speech:audio", args=[recording.id])):
        assert client.get(url).status_code == 302


def test_the_audio_is_served_whole(client, student, recording):
    client.force_login(student)
    response = client.get(reverse("speech:audio", args=[recording.id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF" and len(body) == 44 + 64000


def test_the_audio_answers_range_requests_for_seeking(client, student, recording):
    client.force_login(student)
    response = client.get(reverse("speech:audio", args=[recording.id]), HTTP_RANGE="bytes=44-143")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 44-143/{44 + 64000}"
    assert b"".join(response.streaming_content) == b"\x10\x00" * 50


def test_the_audio_answers_suffix_and_open_ranges(client, student, recording):
    client.force_login(student)
    url = reverse("speech:audio", args=[recording.id])
    suffix = client.get(url, HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206 and len(b"".join(suffix.streaming_content)) == 10
    tail = client.get(url, HTTP_RANGE="bytes=64000-")
    assert tail.status_code == 206 and len(b"".join(tail.streaming_content)) == 44


def test_an_unsatisfiable_range_is_416(client, student, recording):
    client.force_login(student)
    response = client.get(reverse("speech:audio", args=[recording.id]), HTTP_RANGE="bytes=999999-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{44 + 64000}"


def test_missing_audio_is_404(client, student, recording):
    recording.audio_file.unlink()
    client.force_login(student)
    assert client.get(reverse("speech:audio", args=[recording.id])).status_code == 404


def test_the_transcript_downloads_as_text(client, student, recording):
    client.force_login(student)
    response = client.get(reverse("speech:export", args=[recording.id, "txt"]))
    assert response.content.decode() == "hello world\nhow are you today\n"
    assert response["Content-Disposition"].startswith('attachment; filename="recording-')


def test_the_transcript_downloads_as_srt_and_vtt(client, student, recording):
    client.force_login(student)
    srt = client.get(reverse("speech:export", args=[recording.id, "srt"])).content.decode()
    assert srt.startswith("1\n00:00:00,500 --> 00:00:01,400\nhello world\n")
    vtt = client.get(reverse("speech:export", args=[recording.id, "vtt"])).content.decode()
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:01.400\nhello world\n")


def test_the_transcript_downloads_as_json_with_words(client, student, recording):
    client.force_login(student)
    body = json.loads(client.get(reverse("speech:export", args=[recording.id, "json"])).content)
    assert body["recording_id"] == str(recording.id)
    assert body["segments"][0]["words"][1] == {"text": "world", "start": 0.9, "end": 1.4, "confidence": 0.8}


def test_an_unknown_download_format_is_404(client, student, recording):
    client.force_login(student)
    assert client.get(reverse("speech:export", args=[recording.id, "docx"])).status_code == 404


def test_an_admin_sees_recordings_in_django_admin(client, django_user_model, recording):
    admin = django_user_model.objects.create_superuser("root", password="root-pass-123", role="admin")
    client.force_login(admin)
    assert client.get(reverse("admin:speech_recording_changelist")).status_code == 200
    page = client.get(reverse("admin:speech_recording_change", args=[recording.id])).content.decode()
    assert "hello world" in page


def test_pages_name_the_engine_for_people(client, student, recording):
    client.force_login(student)
    assert "Embedded engine (offline)" in client.get(recording.get_absolute_url()).content.decode()
    assert "Embedded engine (offline)" in client.get(reverse("speech:history")).content.decode()


def test_history_costs_the_same_queries_for_many_recordings(client, student, django_assert_max_num_queries):
    for minutes in range(8):
        make_recording(student, minutes_ago=minutes)
    client.force_login(student)
    with django_assert_max_num_queries(6):  # session, user, count, page, segments: not one per row
        client.get(reverse("speech:history"))
