"""Exercises: the sentences learners read aloud on the practice page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Exercise(models.Model):
    class Level(models.TextChoices):
        BEGINNER = "beginner", "Beginner"
        INTERMEDIATE = "intermediate", "Intermediate"
        ADVANCED = "advanced", "Advanced"

    title = models.CharField(max_length=120, blank=True)
    text = models.TextField(help_text="The sentence the learner reads aloud.")
    language = models.CharField(max_length=16, default="en")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.BEGINNER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="exercises"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True, help_text="Inactive exercises are hidden from learners.")

    class Meta:
        ordering = ["level", "id"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="exercise_text_not_empty")]

    def __str__(self) -> str:
        return self.title or self.text[:60]


class Assignment(models.Model):
    """A set of exercises a classroom is to practise by a due date."""

    classroom = models.ForeignKey("accounts.Classroom", on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=120)
    exercises = models.ManyToManyField(Exercise, related_name="assignments")
    due_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments_set"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "id"]

    def __str__(self) -> str:
        return f"{self.classroom}: {self.title}"
