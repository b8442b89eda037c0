"""Encryption at rest for provider secrets: Fernet, keyed from settings, rotatable.

PROVIDER_KEY_ENCRYPTION_KEYS lists Fernet keys, newest first: new secrets are encrypted with the
first, and any of them decrypts, so a key can be rotated in (then `rotate_provider_keys`
re-encrypts everything with it) before the old one is dropped. Without the setting, one key is
derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """No configured key decrypts this secret (a key was dropped before rotating)."""


def derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"speechsite provider keys\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def cipher() -> MultiFernet:
    keys = list(settings.PROVIDER_KEY_ENCRYPTION_KEYS) or [derived_key(settings.SECRET_KEY).decode()]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this provider secret") from None


def rotate(token: str) -> str:
    """Re-encrypt with the newest key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this provider secret") from None
