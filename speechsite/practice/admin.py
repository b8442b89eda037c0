from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from speechsite.practice.models import Assignment, Exercise


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "level", "language", "active", "created_by", "created_at")
    list_filter = ("level", "language", "active")
    search_fields = ("title", "text")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change) -> None:
        if not change and obj.created_by is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("title", "classroom", "due_at", "exercise_count", "created_by", "created_at")
    list_filter = ("classroom", "due_at")
    search_fields = ("title", "classroom__name")
    date_hierarchy = "due_at"
    filter_horizontal = ("exercises",)
    list_select_related = ("classroom", "created_by")
    readonly_fields = ("created_by", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(exercise_total=Count("exercises", distinct=True))

    @admin.display(description="Exercises", ordering="exercise_total")
    def exercise_count(self, assignment: Assignment) -> int:
        return assignment.exercise_total

    def save_model(self, request, obj, form, change) -> None:
        if not change and obj.created_by is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
