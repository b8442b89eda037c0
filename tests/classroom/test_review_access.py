"""Who may open each review page: one test per role, over every view (anything not yours is a 404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from speechsite.accounts.models import Classroom
from speechsite.speech.models import Assessment, Comment, Recording
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempt(student):
    recording = make_recording(student, mode=Recording.Mode.ASSESS)
    Assessment.objects.create(recording=recording, overall=72, expected_text="hello world")
    return recording


def urls_for(classroom: Classroom, attempt: Recording) -> dict[str, tuple[str, str]]:
    """Each review view: (method, url), all about alice's attempt in tess's class."""
    student_id = attempt.user_id
    ids = [classroom.pk, student_id, attempt.pk]
    return {
        "detail": ("get", reverse("classroom:detail", args=[classroom.pk])),
        "export": ("get", reverse("classroom:export", args=[classroom.pk])),
        "student": ("get", reverse("classroom:student", args=[classroom.pk, student_id])),
        "attempt": ("get", reverse("classroom:attempt", args=ids)),
        "attempt_audio": ("get", reverse("classroom:attempt_audio", args=ids)),
        "comment": ("post", reverse("classroom:comment", args=ids)),
    }


VIEWS = ["detail", "export", "student", "attempt", "attempt_audio", "comment"]
# A reviewer's successful request: pages 200; a comment without htmx redirects back to the attempt.
ALLOWED = {"detail": 200, "export": 200, "student": 200, "attempt": 200, "attempt_audio": 200, "comment": 302}


def call(client, classroom, attempt, view: str):
    method, url = urls_for(classroom, attempt)[view]
    if method == "post":
        return client.post(url, {"body": "Good work on the vowels."})
    return client.get(url)


@pytest.mark.parametrize("view", VIEWS)
def test_a_student_gets_404(client, classroom, attempt, student, view):
    client.force_login(student)
    assert call(client, classroom, attempt, view).status_code == 404


@pytest.mark.parametrize("view", VIEWS)
def test_the_teacher_of_the_class_is_let_in(client, classroom, attempt, teacher, view):
    client.force_login(teacher)
    assert call(client, classroom, attempt, view).status_code == ALLOWED[view]


@pytest.mark.parametrize("view", VIEWS)
def test_a_teacher_of_another_class_gets_404(client, classroom, other_classroom, attempt, other_teacher, view):
    client.force_login(other_teacher)
    assert call(client, classroom, attempt, view).status_code == 404


@pytest.mark.parametrize("view", VIEWS)
def test_an_outsider_gets_404(client, classroom, attempt, outsider, view):
    client.force_login(outsider)
    assert call(client, classroom, attempt, view).status_code == 404


@pytest.mark.parametrize("view", VIEWS)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, classroom, attempt, view):
    response = call(client, classroom, attempt, view)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("view", VIEWS)
def test_an_admin_is_let_in(client, classroom, attempt, school_admin, view):
    client.force_login(school_admin)
    assert call(client, classroom, attempt, view).status_code == ALLOWED[view]


@pytest.mark.parametrize("view", VIEWS)
def test_nothing_is_written_by_a_refused_comment_or_page(client, classroom, attempt, other_teacher, view):
    client.force_login(other_teacher)
    call(client, classroom, attempt, view)
    assert not Comment.objects.exists()


# The class list is everyone's page: it lists only what each may review.


def list_page(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("classroom:list"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_tells_a_student_they_have_no_classes(client, classroom, student):
    page = list_page(client, student)
    assert "You have no classes to review" in page and "English A1" not in page


def test_the_list_shows_the_teacher_their_class(client, classroom, teacher):
    page = list_page(client, teacher)
    assert "English A1" in page and reverse("classroom:detail", args=[classroom.pk]) in page


def test_the_list_hides_another_teachers_class(client, classroom, other_classroom, other_teacher):
    page = list_page(client, other_teacher)
    assert "English B2" in page and "English A1" not in page


def test_the_list_tells_an_outsider_they_have_no_classes(client, classroom, outsider):
    assert "You have no classes to review" in list_page(client, outsider)


def test_the_list_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get(reverse("classroom:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_list_shows_an_admin_every_class(client, classroom, other_classroom, school_admin):
    page = list_page(client, school_admin)
    assert "English A1" in page and "English B2" in page


# A URL mixing two classes is refused even for someone who may see each part.


@pytest.fixture
def tess_second_class(teacher, outsider):
    """Tess also teaches mallory's evening class, which alice is not in."""
    room = Classroom.objects.create(name="Evening")
    room.teachers.add(teacher)
    room.students.add(outsider)
    return room


@pytest.mark.parametrize("view", ["student", "attempt", "attempt_audio", "comment"])
def test_a_teacher_cannot_reach_their_own_student_through_another_class(
    client, classroom, tess_second_class, attempt, teacher, view
):
    client.force_login(teacher)
    assert call(client, tess_second_class, attempt, view).status_code == 404


@pytest.mark.parametrize("view", ["student", "attempt", "attempt_audio", "comment"])
def test_an_admin_cannot_reach_a_student_through_a_class_they_are_not_in(
    client, classroom, other_classroom, attempt, school_admin, view
):
    client.force_login(school_admin)
    assert call(client, other_classroom, attempt, view).status_code == 404


def test_a_teacher_cannot_fetch_audio_of_another_class_student(client, classroom, other_classroom, teacher, outsider):
    theirs = make_recording(outsider)
    client.force_login(teacher)
    for room in (classroom, other_classroom):
        url = reverse("classroom:attempt_audio", args=[room.pk, outsider.pk, theirs.pk])
        assert client.get(url).status_code == 404


def test_an_attempt_of_another_student_is_not_reached_through_this_student(
    client, classroom, teacher, student, django_user_model
):
    classmate = django_user_model.objects.create_user("bob", role="student")
    classroom.students.add(classmate)
    bobs = make_recording(classmate)
    client.force_login(teacher)
    for name in ("attempt", "attempt_audio"):
        assert client.get(reverse(f"classroom:{name}", args=[classroom.pk, student.pk, bobs.pk])).status_code == 404
