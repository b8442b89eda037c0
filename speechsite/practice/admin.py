from __future__ import annotations

from django.contrib import admin

from speechsite.practice.models import Exercise


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
