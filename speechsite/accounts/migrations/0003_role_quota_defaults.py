"""One RoleQuota row per role, from settings.QUOTA_DEFAULTS, so admins see and edit them."""

from __future__ import annotations

from django.conf import settings
from django.db import migrations


def create_defaults(apps, schema_editor) -> None:
    RoleQuota = apps.get_model("accounts", "RoleQuota")
    for role, limits in settings.QUOTA_DEFAULTS.items():
        RoleQuota.objects.get_or_create(role=role, defaults=limits)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_classrooms_quotas_usage_tokens")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
