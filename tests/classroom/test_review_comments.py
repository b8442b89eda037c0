"""Teacher comments: posting (with and without htmx), errors, and what each student sees of them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from speechsite.speech.models import Comment
from tests.speech.factories import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(student):
    return make_recording(student)


def comment_url(classroom, student, recording) -> str:
    return reverse("classroom:comment", args=[classroom.pk, student.pk, recording.pk])


def attempt_url(classroom, student, recording) -> str:
    return reverse("classroom:attempt", args=[classroom.pk, student.pk, recording.pk])


def test_a_comment_without_js_is_saved_and_redirects_back_to_the_attempt(
    client, classroom, student, teacher, recording
):
    client.force_login(teacher)
    response = client.post(comment_url(classroom, student, recording), {"body": "Watch the TH in 'think'."})
    assert response.status_code == 302
    assert response["Location"] == attempt_url(classroom, student, recording) + "#comments"
    saved = Comment.objects.get()
    assert (saved.recording, saved.author, saved.body) == (recording, teacher, "Watch the TH in 'think'.")


def test_a_comment_appears_on_the_attempt_page(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    client.post(comment_url(classroom, student, recording), {"body": "Lovely rhythm."})
    page = client.get(attempt_url(classroom, student, recording)).content.decode()
    assert "Lovely rhythm." in page and "tess" in page


def test_a_comment_with_htmx_returns_the_updated_list_and_an_empty_form(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    response = client.post(
        comment_url(classroom, student, recording), {"body": "Slow down a little."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="comments"')
    assert "<html" not in fragment
    assert "Slow down a little." in fragment and "Comment added." in fragment
    assert "></textarea>" in fragment  # the form is empty again


def test_an_empty_comment_is_a_clear_form_error(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    response = client.post(comment_url(classroom, student, recording), {"body": "   "})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Write a comment before adding it." in page and 'aria-invalid="true"' in page
    assert "<html" in page  # without htmx, the whole attempt page again
    assert not Comment.objects.exists()


def test_an_empty_comment_with_htmx_shows_the_error_in_the_fragment(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    response = client.post(comment_url(classroom, student, recording), {"body": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    fragment = response.content.decode()
    assert "Write a comment before adding it." in fragment and "<html" not in fragment


def test_a_too_long_comment_is_refused_and_kept_for_editing(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    body = "x" * 4001
    response = client.post(comment_url(classroom, student, recording), {"body": body})
    assert response.status_code == 422
    assert body in response.content.decode()
    assert not Comment.objects.exists()


def test_a_comment_is_escaped(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    client.post(comment_url(classroom, student, recording), {"body": "<script>alert(1)</script>"})
    page = client.get(attempt_url(classroom, student, recording)).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_get_on_the_comment_url_is_not_allowed(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    assert client.get(comment_url(classroom, student, recording)).status_code == 405


def test_a_teacher_cannot_comment_on_another_class_student(client, classroom, other_classroom, teacher, outsider):
    theirs = make_recording(outsider)
    client.force_login(teacher)
    for room in (classroom, other_classroom):
        response = client.post(comment_url(room, outsider, theirs), {"body": "Hello"})
        assert response.status_code == 404
    assert not Comment.objects.exists()


def test_an_admin_may_comment(client, classroom, student, school_admin, recording):
    client.force_login(school_admin)
    client.post(comment_url(classroom, student, recording), {"body": "From the office."})
    assert Comment.objects.get().author == school_admin


# The student's side


def test_the_teacher_comment_shows_on_the_student_history(client, classroom, student, teacher, recording):
    client.force_login(teacher)
    client.post(comment_url(classroom, student, recording), {"body": "Good effort."})
    client.force_login(student)
    page = client.get(reverse("speech:history")).content.decode()
    assert "1 teacher comment<" in page


def test_the_history_counts_several_comments(client, student, teacher, recording):
    Comment.objects.create(recording=recording, author=teacher, body="One")
    Comment.objects.create(recording=recording, author=teacher, body="Two")
    client.force_login(student)
    assert "2 teacher comments<" in client.get(reverse("speech:history")).content.decode()


def test_the_history_has_no_badge_without_comments(client, student, recording):
    client.force_login(student)
    assert "teacher comment" not in client.get(reverse("speech:history")).content.decode()


def test_the_teacher_comment_shows_on_the_student_recording_page(client, classroom, student, teacher, recording):
    teacher.first_name, teacher.last_name = "Tess", "Teach"
    teacher.save()
    client.force_login(teacher)
    client.post(comment_url(classroom, student, recording), {"body": "Good effort.\nTry again tomorrow."})
    client.force_login(student)
    page = client.get(recording.get_absolute_url()).content.decode()
    assert "Teacher comments" in page
    assert "Tess Teach" in page and "Good effort.<br>Try again tomorrow." in page
    assert Comment.objects.get().created_at.strftime("%Y-%m-%d") in page


def test_a_comment_by_a_deleted_teacher_still_shows(client, student, recording, django_user_model):
    gone = django_user_model.objects.create_user("gone", role="teacher")
    Comment.objects.create(recording=recording, author=gone, body="Keep practising")
    gone.delete()
    client.force_login(student)
    page = client.get(recording.get_absolute_url()).content.decode()
    assert "Keep practising" in page and "A teacher" in page


def test_the_student_recording_page_never_shows_another_student_comments(
    client, classroom, other_classroom, student, outsider, teacher, other_teacher, recording
):
    theirs = make_recording(outsider)
    Comment.objects.create(recording=theirs, author=other_teacher, body="For mallory only")
    Comment.objects.create(recording=recording, author=teacher, body="For alice")
    client.force_login(student)
    page = client.get(recording.get_absolute_url()).content.decode()
    assert "For alice" in page and "For mallory only" not in page
    assert "For mallory only" not in client.get(reverse("speech:history")).content.decode()
    assert client.get(theirs.get_absolute_url()).status_code == 404


def test_a_recording_without_comments_has_no_comment_section(client, student, recording):
    client.force_login(student)
    assert "Teacher comments" not in client.get(recording.get_absolute_url()).content.decode()
