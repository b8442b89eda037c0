"""The live monitor's pages: who may open them, and what they show."""

from __future__ import annotations

import pytest
from django.urls import reverse

from speechsite.speech.models import Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


def make_live_recording(user, segments: int = 1) -> Recording:
    recording = make_recording(user, segments=segments)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.LIVE)
    recording.status = Recording.Status.LIVE
    return recording


@pytest.fixture
def live_recording(student, classroom):
    """Alice speaking right now, one segment committed so far."""
    return make_live_recording(student)


def monitor_url(classroom, student, recording) -> str:
    return reverse("classroom:live", args=[classroom.pk, student.pk, recording.pk])


def sessions_url(classroom) -> str:
    return reverse("classroom:live_sessions", args=[classroom.pk])


@pytest.fixture
def monitor_page(classroom, student, live_recording):
    return monitor_url(classroom, student, live_recording)


@pytest.fixture
def sessions_page(classroom):
    return sessions_url(classroom)


# Who may open the monitor page.


def test_the_teacher_of_the_class_opens_the_monitor(client, teacher, monitor_page):
    client.force_login(teacher)
    assert client.get(monitor_page).status_code == 200


def test_an_admin_opens_the_monitor(client, school_admin, monitor_page):
    client.force_login(school_admin)
    assert client.get(monitor_page).status_code == 200


def test_the_student_herself_gets_404_on_the_monitor(client, student, monitor_page):
    client.force_login(student)
    assert client.get(monitor_page).status_code == 404


def test_a_teacher_of_another_class_gets_404_on_the_monitor(client, other_teacher, other_classroom, monitor_page):
    client.force_login(other_teacher)
    assert client.get(monitor_page).status_code == 404


def test_an_outsider_gets_404_on_the_monitor(client, outsider, monitor_page):
    client.force_login(outsider)
    assert client.get(monitor_page).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_from_the_monitor(client, monitor_page):
    response = client.get(monitor_page)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_teacher_of_another_class_gets_404_through_their_own_class(
    client, other_teacher, other_classroom, student, live_recording
):
    client.force_login(other_teacher)
    assert client.get(monitor_url(other_classroom, student, live_recording)).status_code == 404


def test_a_recording_of_another_student_gets_404(client, teacher, classroom, student, outsider):
    someone_else = make_live_recording(outsider)
    client.force_login(teacher)
    assert client.get(monitor_url(classroom, student, someone_else)).status_code == 404


# What the monitor page shows.


def test_the_monitor_connects_to_the_recordings_socket(client, teacher, monitor_page, live_recording):
    client.force_login(teacher)
    html = client.get(monitor_page).content.decode()
    assert 'hx-ext="ws"' in html
    assert f'ws-connect="/ws/monitor/{live_recording.pk}/"' in html


def test_the_monitor_names_the_student(client, teacher, monitor_page):
    client.force_login(teacher)
    assert "<h1>alice's session</h1>" in client.get(monitor_page).content.decode()


def test_the_monitor_has_the_learner_pages_fragment_targets(client, teacher, monitor_page):
    client.force_login(teacher)
    html = client.get(monitor_page).content.decode()
    for target in ("notices", "session-status", "segments", "partial", "assessment", "endpoint"):
        assert f'id="{target}"' in html


def test_the_monitor_shows_segments_already_committed(client, teacher, monitor_page):
    client.force_login(teacher)
    assert '<span class="segment-text">hello world</span>' in client.get(monitor_page).content.decode()


def test_the_monitor_says_a_session_is_live(client, teacher, monitor_page):
    client.force_login(teacher)
    assert 'data-state="live"' in client.get(monitor_page).content.decode()


def test_the_monitor_says_a_finished_session_has_ended(client, teacher, classroom, student):
    finished = make_recording(student)
    client.force_login(teacher)
    html = client.get(monitor_url(classroom, student, finished)).content.decode()
    assert 'data-state="ended"' in html and "The session has ended." in html


def test_the_monitor_shows_a_saved_assessment_without_the_learners_audio(client, teacher, classroom, student):
    from speechsite.speech.models import Assessment

    recording = make_recording(student, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(recording=recording, overall=81, accuracy=80, fluency=82, completeness=100)
    client.force_login(teacher)
    html = client.get(monitor_url(classroom, student, recording)).content.decode()
    assert 'data-metric="overall"' in html
    assert "<audio" not in html


# Who may open the list of sessions in progress.


def test_the_teacher_of_the_class_opens_the_sessions_list(client, teacher, sessions_page):
    client.force_login(teacher)
    assert client.get(sessions_page).status_code == 200


def test_an_admin_opens_the_sessions_list(client, school_admin, sessions_page):
    client.force_login(school_admin)
    assert client.get(sessions_page).status_code == 200


def test_a_student_of_the_class_gets_404_on_the_sessions_list(client, student, sessions_page):
    client.force_login(student)
    assert client.get(sessions_page).status_code == 404


def test_a_teacher_of_another_class_gets_404_on_the_sessions_list(
    client, other_teacher, other_classroom, sessions_page
):
    client.force_login(other_teacher)
    assert client.get(sessions_page).status_code == 404


def test_an_outsider_gets_404_on_the_sessions_list(client, outsider, sessions_page):
    client.force_login(outsider)
    assert client.get(sessions_page).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_from_the_sessions_list(client, sessions_page):
    response = client.get(sessions_page)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# What the list shows.


def test_the_list_links_each_live_session_to_its_monitor(client, teacher, classroom, student, live_recording):
    client.force_login(teacher)
    html = client.get(sessions_url(classroom)).content.decode()
    assert f'href="{monitor_url(classroom, student, live_recording)}"' in html


def test_the_list_leaves_out_finished_sessions(client, teacher, classroom, student):
    finished = make_recording(student)
    client.force_login(teacher)
    html = client.get(sessions_url(classroom)).content.decode()
    assert str(finished.pk) not in html
    assert "No one in this class is speaking right now." in html


def test_the_list_leaves_out_students_of_other_classes(client, teacher, classroom, outsider, other_classroom):
    elsewhere = make_live_recording(outsider)
    client.force_login(teacher)
    assert str(elsewhere.pk) not in client.get(sessions_url(classroom)).content.decode()


def test_the_list_refreshes_itself_by_polling(client, teacher, classroom):
    client.force_login(teacher)
    html = client.get(sessions_url(classroom)).content.decode()
    assert f'hx-get="{sessions_url(classroom)}"' in html and 'hx-trigger="every' in html


def test_a_poll_gets_only_the_list_fragment(client, teacher, classroom, live_recording):
    client.force_login(teacher)
    response = client.get(sessions_url(classroom), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="live-sessions"')
    assert "<html" not in html and str(live_recording.pk) in html
