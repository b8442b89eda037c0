"""Create the demo accounts for a development server and print how to sign in."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from speechsite.accounts.models import User
from speechsite.practice.models import Exercise

DEMO_USERS = (
    ("student", User.Role.STUDENT),
    ("teacher", User.Role.TEACHER),
    ("admin", User.Role.ADMIN),
)


# Starter sentences for the practice page: short, common words, a range of English sounds.
DEMO_EXERCISES = (
    ("Greetings", "Good morning, how are you today?", Exercise.Level.BEGINNER),
    ("At the café", "I would like a cup of coffee, please.", Exercise.Level.BEGINNER),
    ("The weather", "The weather today is sunny and warm.", Exercise.Level.BEGINNER),
    ("Th sounds", "I think three thin thieves thought about it.", Exercise.Level.INTERMEDIATE),
    ("R and L", "The red lorry rolled along the long road.", Exercise.Level.INTERMEDIATE),
    ("Travel", "I would like a ticket for the morning train.", Exercise.Level.INTERMEDIATE),
    ("Harvard sentence", "The birch canoe slid on the smooth planks.", Exercise.Level.ADVANCED),
    ("Pangram", "The quick brown fox jumps over the lazy dog.", Exercise.Level.ADVANCED),
)


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


class Command(BaseCommand):
    help = "Create demo users student, teacher and admin and starter exercises (development only)."

    def handle(self, *args, **options) -> None:
        for title, text, level in DEMO_EXERCISES:
            Exercise.objects.get_or_create(text=text, defaults={"title": title, "level": level})
        self.stdout.write("Demo accounts (development passwords):")
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"role": role})
            if created:
                user.set_password(demo_password(username))
                user.is_staff = user.is_superuser = role == User.Role.ADMIN
                user.save()
            note = "" if created or user.check_password(demo_password(username)) else "  (password changed since)"
            self.stdout.write(f"  {username:8} {demo_password(username)}{note}")
