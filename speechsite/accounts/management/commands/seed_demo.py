"""Create the demo accounts for a development server and print how to sign in."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from speechsite.accounts.models import User

DEMO_USERS = (
    ("student", User.Role.STUDENT),
    ("teacher", User.Role.TEACHER),
    ("admin", User.Role.ADMIN),
)


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


class Command(BaseCommand):
    help = "Create demo users student, teacher and admin (development only) and print their passwords."

    def handle(self, *args, **options) -> None:
        self.stdout.write("Demo accounts (development passwords):")
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"role": role})
            if created:
                user.set_password(demo_password(username))
                user.is_staff = user.is_superuser = role == User.Role.ADMIN
                user.save()
            note = "" if created or user.check_password(demo_password(username)) else "  (password changed since)"
            self.stdout.write(f"  {username:8} {demo_password(username)}{note}")
