"""Recordings, their committed segments, and where their audio lives."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse

from speechsite.providers.registry import PROVIDERS


def audio_path(recording: Recording, filename: str = "") -> str:
    """One WAV per recording, under its owner (also Django's `upload_to`, hence `filename`)."""
    return f"recordings/{recording.user_id}/{recording.id}.wav"


class Recording(models.Model):
    class Mode(models.TextChoices):
        TRANSCRIBE = "transcribe", "Transcription"
        ASSESS = "assess", "Pronunciation"

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        PROCESSING = "processing", "Processing"  # an uploaded file being decoded and scored
        COMPLETED = "completed", "Completed"
        INTERRUPTED = "interrupted", "Interrupted"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.TRANSCRIBE)
    provider = models.CharField(max_length=32, default="local")
    language = models.CharField(max_length=16, default="en")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(default=0.0, help_text="Seconds of audio received.")
    sample_rate = models.PositiveIntegerField(default=16000)
    audio = models.FileField(upload_to=audio_path, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    uploaded_name = models.CharField(max_length=255, blank=True, help_text="The file's name, for uploads.")
    progress = models.FloatField(default=0.0, help_text="How much of an upload has been processed, 0 to 1.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("speech:detail", args=[self.id])

    @property
    def audio_file(self) -> Path:
        """Where the WAV is written while the recording is live (and read from afterwards)."""
        return Path(settings.MEDIA_ROOT) / audio_path(self)

    @property
    def provider_label(self) -> str:
        caps = PROVIDERS.get(self.provider)
        return caps.label if caps else self.provider

    @property
    def transcript(self) -> str:
        return " ".join(segment.text for segment in self.segments.all())


class Segment(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    text = models.TextField()
    start = models.FloatField()
    end = models.FloatField()
    words = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["recording", "index"]
        constraints = [models.UniqueConstraint(fields=["recording", "index"], name="unique_segment_index")]

    def __str__(self) -> str:
        return f"[{self.start:.2f}-{self.end:.2f}] {self.text}"


class Assessment(models.Model):
    """A pronunciation result for one recording, in our schema, with the provider's JSON kept whole."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="assessment")
    exercise = models.ForeignKey(
        "practice.Exercise", null=True, blank=True, on_delete=models.SET_NULL, related_name="assessments"
    )
    expected_text = models.TextField(blank=True)
    transcript = models.TextField(blank=True)
    overall = models.FloatField(null=True, blank=True)
    accuracy = models.FloatField(null=True, blank=True)
    fluency = models.FloatField(null=True, blank=True)
    completeness = models.FloatField(null=True, blank=True)
    words = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    provider_raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.recording} overall {self.overall}"


class Comment(models.Model):
    """A teacher's note on one attempt; the student reads it on their own history."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="comments_written"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(body=""), name="comment_body_not_empty")]

    def __str__(self) -> str:
        return f"{self.author} on {self.recording}: {self.body[:40]}"
