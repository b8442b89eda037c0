"""Users and their roles, classrooms, quotas, the usage ledger and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

TOKEN_PREFIX = "ss_"


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TEACHER = "teacher", "Teacher"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT, db_index=True)
    # Per-user quota overrides; empty means the role's default (RoleQuota).
    daily_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of speech per day. Empty: the role's default."
    )
    monthly_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds of speech per month. Empty: the role's default."
    )
    concurrent_sessions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sessions at once. Empty: the role's default."
    )

    @property
    def is_teacher(self) -> bool:
        return self.role == self.Role.TEACHER

    @property
    def is_school_admin(self) -> bool:
        """Admins see every classroom (superusers count, whatever their role says)."""
        return self.role == self.Role.ADMIN or self.is_superuser


class RoleQuota(models.Model):
    """The default quota of everyone with a role; a user's own fields override it."""

    role = models.CharField(max_length=16, choices=User.Role.choices, unique=True)
    daily_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no daily limit.")
    monthly_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no monthly limit.")
    concurrent_sessions = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")

    class Meta:
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.get_role_display()} quota"


class Classroom(models.Model):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teaching", limit_choices_to={"role": User.Role.TEACHER}
    )
    students = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="classrooms", blank=True, limit_choices_to={"role": User.Role.STUDENT}
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived = models.BooleanField(default=False, help_text="Archived classrooms are hidden from teachers' lists.")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_to(cls, user) -> models.QuerySet[Classroom]:
        """The classrooms whose students `user` may review: their own, or all for an admin."""
        if not user.is_authenticated:
            return cls.objects.none()
        if user.is_school_admin:
            return cls.objects.all()
        return cls.objects.filter(teachers=user)


class QuotaState(models.Model):
    """The running count quotas are enforced against: one row per user, locked while it changes.

    Seconds are added when a session reserves them (before the audio is accepted) and the unused
    part is given back when the session ends, so parallel sessions can never overspend together.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    day = models.DateField()
    day_seconds = models.FloatField(default=0.0)
    month = models.DateField(help_text="The first day of the month counted in month_seconds.")
    month_seconds = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.user}: {self.day_seconds:.0f} s on {self.day}, {self.month_seconds:.0f} s in {self.month:%Y-%m}"


class Usage(models.Model):
    """The ledger: one entry per recording, for the seconds actually streamed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage")
    recording = models.OneToOneField(
        "speech.Recording", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    provider = models.CharField(max_length=32, db_index=True)
    key = models.ForeignKey(
        "providers.ProviderKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    key_label = models.CharField(max_length=100, blank=True, help_text="Kept if the key is deleted.")
    seconds = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "usage"

    def __str__(self) -> str:
        return f"{self.user} {self.provider} {self.seconds:.1f} s"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A personal token for programs (`Authorization: Bearer`). Only its SHA-256 is stored:
    it is 32 random bytes, so a slow hash would add nothing but latency to every connection."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="The token's first characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_empty")]

    def __str__(self) -> str:  # never the token
        return f"{self.user}: {self.name} ({self.hint}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """A new token for `user`; the plaintext is returned once and never stored."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, digest=cls.digest_of(plaintext), hint=plaintext[:10])
        return token, plaintext

    @classmethod
    def user_for(cls, plaintext: str):
        """The active user a token belongs to, or None (unknown, revoked, or user deactivated)."""
        if not plaintext.startswith(TOKEN_PREFIX):
            return None
        token = cls.objects.active().select_related("user").filter(digest=cls.digest_of(plaintext)).first()
        if token is None:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
