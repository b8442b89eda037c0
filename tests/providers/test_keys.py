"""Provider keys: encrypted at rest, rotatable, write-only in admin, addkey from stdin."""

from __future__ import annotations

import io
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from speechsite.lib import secrets
from speechsite.providers.models import ProviderKey

pytestmark = pytest.mark.django_db

SECRET = "sk_live_0123456789abcdefWXYZ"


def make_key(label: str = "school", provider: str = "elevenlabs", secret: str = SECRET, **fields) -> ProviderKey:
    key = ProviderKey(provider=provider, label=label, **fields)
    key.set_secret(secret)
    key.save()
    return key


def stored_column(key: ProviderKey) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM providers_providerkey WHERE id = %s", [key.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_encrypted_at_rest():
    key = make_key()
    assert SECRET not in stored_column(key)
    assert ProviderKey.objects.get(pk=key.pk).secret == SECRET
    assert key.last_four == "WXYZ"


def test_the_secret_never_shows_in_str_or_repr():
    key = make_key()
    assert SECRET not in str(key) and SECRET not in repr(key)
    assert str(key).endswith("(…WXYZ)")


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="empty"):
        ProviderKey(provider="prosa", label="x").set_secret("   ")


def test_keys_rotate_to_a_new_encryption_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [old]
    key = make_key()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [new, old]  # rotate the new key in first
    call_command("rotate_provider_keys", stdout=io.StringIO())
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [new]  # then the old one can go
    assert ProviderKey.objects.get(pk=key.pk).secret == SECRET


def test_a_dropped_key_makes_secrets_unreadable_and_rotation_refuses(settings):
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    key = make_key()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(secrets.SecretUnreadable):
        _ = ProviderKey.objects.get(pk=key.pk).secret
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("rotate_provider_keys", stdout=io.StringIO())


def test_usable_keys_are_active_ones_highest_priority_first():
    low = make_key("low", priority=1)
    high = make_key("high", priority=5)
    make_key("off", priority=9, active=False)
    make_key("other vendor", provider="prosa", priority=9)
    assert list(ProviderKey.usable("elevenlabs")) == [high, low]


def test_failures_and_use_are_recorded():
    key = make_key()
    key.mark_failed("quota exceeded")
    key.mark_used()
    key.refresh_from_db()
    assert key.last_error == "quota exceeded" and key.last_error_at and key.last_used_at


def test_addkey_reads_the_secret_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    out = io.StringIO()
    call_command("addkey", "prosa", "--label", "main", "--priority", "3", stdout=out)
    key = ProviderKey.objects.get(provider="prosa", label="main")
    assert key.secret == SECRET and key.priority == 3 and key.active
    assert SECRET not in out.getvalue() and "…WXYZ" in out.getvalue()


def test_addkey_again_replaces_the_secret(monkeypatch):
    make_key("main", provider="prosa")
    monkeypatch.setattr(sys, "stdin", io.StringIO("new-secret-9999\n"))
    call_command("addkey", "prosa", "--label", "main", stdout=io.StringIO())
    assert ProviderKey.objects.get(provider="prosa", label="main").secret == "new-secret-9999"


def test_addkey_refuses_an_empty_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="No secret"):
        call_command("addkey", "prosa", "--label", "main")


def test_addkey_refuses_an_unknown_provider(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET))
    with pytest.raises(CommandError):
        call_command("addkey", "nope", "--label", "main")


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="root-pass-123", role="admin"))
    return client


def test_admin_shows_the_last_four_only(admin_client):
    key = make_key()
    listing = admin_client.get(reverse("admin:providers_providerkey_changelist")).content.decode()
    change = admin_client.get(reverse("admin:providers_providerkey_change", args=[key.pk])).content.decode()
    for page in (listing, change):
        assert "…WXYZ" in page and SECRET not in page and key.secret_encrypted not in page


def test_admin_adds_a_key_with_its_secret(admin_client):
    response = admin_client.post(
        reverse("admin:providers_providerkey_add"),
        {"provider": "openmind", "label": "trial", "secret": SECRET, "active": "on", "priority": "0"},
    )
    assert response.status_code == 302
    assert ProviderKey.objects.get(label="trial").secret == SECRET


def test_admin_requires_a_secret_for_a_new_key(admin_client):
    response = admin_client.post(
        reverse("admin:providers_providerkey_add"), {"provider": "openmind", "label": "t", "priority": "0"}
    )
    assert response.status_code == 200 and "needs its secret" in response.content.decode()


def test_admin_keeps_the_secret_when_left_empty(admin_client):
    key = make_key()
    admin_client.post(
        reverse("admin:providers_providerkey_change", args=[key.pk]),
        {"provider": "elevenlabs", "label": "renamed", "secret": "", "priority": "2"},
    )
    key.refresh_from_db()
    assert key.label == "renamed" and key.secret == SECRET and not key.active
