"""Vendor keys, encrypted at rest. (Provider adapters never import this: the consumer does.)"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from speechsite.lib import secrets

REMOTE_PROVIDERS = [
    ("elevenlabs", "ElevenLabs Scribe v2 Realtime"),
    ("openmind", "OpenMind ElevenLabs ASR"),
    ("prosa", "Prosa STT"),
    ("elsa", "ELSA pronunciation"),
]


class ProviderKey(models.Model):
    provider = models.CharField(max_length=32, choices=REMOTE_PROVIDERS, db_index=True)
    label = models.CharField(max_length=100)
    secret_encrypted = models.TextField(editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    active = models.BooleanField(default=True)
    priority = models.IntegerField(default=0, help_text="Higher is tried first.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "-priority", "id"]
        constraints = [models.UniqueConstraint(fields=["provider", "label"], name="unique_key_label")]

    def __str__(self) -> str:  # never the secret
        return f"{self.get_provider_display()}: {self.label} (…{self.last_four})"

    def set_secret(self, plaintext: str) -> None:
        plaintext = plaintext.strip()
        if not plaintext:
            raise ValueError("The secret is empty.")
        self.secret_encrypted = secrets.encrypt(plaintext)
        self.last_four = plaintext[-4:]

    @property
    def secret(self) -> str:
        return secrets.decrypt(self.secret_encrypted)

    def mark_used(self) -> None:
        self.last_used_at = timezone.now()
        self.save(update_fields=["last_used_at"])

    def mark_failed(self, message: str) -> None:
        self.last_error = message[:500]
        self.last_error_at = timezone.now()
        self.save(update_fields=["last_error", "last_error_at"])

    @classmethod
    def usable(cls, provider: str) -> models.QuerySet[ProviderKey]:
        """Active keys for `provider`, in the order to try them."""
        return cls.objects.filter(provider=provider, active=True).order_by("-priority", "id")
