from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command

from speechsite.accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_three_demo_accounts_and_prints_passwords():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    for username, role in (("student", "student"), ("teacher", "teacher"), ("admin", "admin")):
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(f"{username}-demo-pass")
        assert f"{username}-demo-pass" in out.getvalue()
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_can_run_again_without_resetting_passwords():
    call_command("seed_demo", stdout=StringIO())
    student = User.objects.get(username="student")
    student.set_password("a-new-secret-123")
    student.save()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert User.objects.get(username="student").check_password("a-new-secret-123")
    assert "password changed since" in out.getvalue()


def test_login_session_prints_a_session_for_the_user(student):
    out = StringIO()
    call_command("login_session", "alice", stdout=out)
    session = SessionStore(session_key=out.getvalue().strip())
    assert session["_auth_user_id"] == str(student.pk)


def test_login_session_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        call_command("login_session", "nobody")


def test_seed_demo_adds_starter_exercises_once():
    from speechsite.practice.models import Exercise

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Exercise.objects.count() >= 5
    assert Exercise.objects.filter(text__icontains="quick brown fox").count() == 1
