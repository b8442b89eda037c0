"""Re-encrypt every provider secret with the newest PROVIDER_KEY_ENCRYPTION_KEYS entry."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from speechsite.lib import secrets
from speechsite.providers.models import ProviderKey


class Command(BaseCommand):
    help = "Re-encrypt provider secrets with the first key of PROVIDER_KEY_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            keys = list(ProviderKey.objects.select_for_update())
            for key in keys:
                try:
                    key.secret_encrypted = secrets.rotate(key.secret_encrypted)
                except secrets.SecretUnreadable as exc:
                    raise CommandError(f"{key}: {exc}; nothing was changed.") from None
                key.save(update_fields=["secret_encrypted"])
        self.stdout.write(f"Re-encrypted {len(keys)} provider key(s) with the newest encryption key.")
