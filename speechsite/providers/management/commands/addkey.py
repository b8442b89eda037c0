"""`python manage.py addkey PROVIDER --label NAME`: store a vendor secret read from stdin."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from speechsite.providers.models import REMOTE_PROVIDERS, ProviderKey


class Command(BaseCommand):
    help = "Store a provider secret (read from standard input) encrypted at rest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", choices=[name for name, _ in REMOTE_PROVIDERS])
        parser.add_argument("--label", required=True, help="a name for this key, e.g. 'school account'")
        parser.add_argument("--priority", type=int, default=0, help="higher is tried first")
        parser.add_argument("--inactive", action="store_true", help="store it switched off")

    def handle(self, *args, provider: str, label: str, priority: int, inactive: bool, **options) -> None:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CommandError('No secret on standard input (e.g. `printf %s "$KEY" | manage.py addkey ...`).')
        key, created = ProviderKey.objects.get_or_create(
            provider=provider, label=label, defaults={"priority": priority, "active": not inactive}
        )
        key.set_secret(secret)
        if not created:
            key.priority, key.active = priority, not inactive
        key.save()
        verb = "Stored" if created else "Replaced"
        self.stdout.write(f"{verb} {key}.")
