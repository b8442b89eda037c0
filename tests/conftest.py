"""Shared fixtures: test personas, a private MEDIA_ROOT, and the order tests run in."""

from __future__ import annotations

from pathlib import Path

import pytest

AUDIO = Path(__file__).parent / "fixtures" / "audio"


def pytest_collection_modifyitems(config, items):
    # Sync Playwright runs its own event loop; asyncio tests after it would fail. Browsers last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def student(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-pass-123", role="student")


@pytest.fixture
def outsider(django_user_model):
    """Another student, who must never see alice's recordings."""
    return django_user_model.objects.create_user("mallory", password="mallory-pass-123", role="student")


@pytest.fixture
def teacher(django_user_model):
    return django_user_model.objects.create_user("tess", password="tess-pass-123", role="teacher")


def fixture_audio(name: str) -> Path:
    return AUDIO / f"{name}.wav"


@pytest.fixture(scope="session", autouse=True)
def warm_engine():
    """Start the embedded engine's workers once, so no test's timing includes loading models."""
    from speechsite.providers.local.pool import engine_pool

    engine_pool().wait_ready(timeout=60)
    yield
    engine_pool().shutdown()


@pytest.fixture
def other_teacher(django_user_model):
    """Teaches another class: must never see alice's work."""
    return django_user_model.objects.create_user("trent", password="trent-pass-123", role="teacher")


@pytest.fixture
def school_admin(django_user_model):
    return django_user_model.objects.create_user("ada", password="ada-pass-123", role="admin")


@pytest.fixture
def classroom(student, teacher):
    """Tess's class, with alice in it."""
    from speechsite.accounts.models import Classroom

    room = Classroom.objects.create(name="English A1")
    room.teachers.add(teacher)
    room.students.add(student)
    return room


@pytest.fixture
def other_classroom(other_teacher, outsider):
    """Trent's class, with mallory in it (alice is not)."""
    from speechsite.accounts.models import Classroom

    room = Classroom.objects.create(name="English B2")
    room.teachers.add(other_teacher)
    room.students.add(outsider)
    return room
