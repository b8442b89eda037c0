from __future__ import annotations

from django.contrib import admin

from speechsite.speech.models import Recording, Segment


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ("index", "start", "end", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("started_at", "user", "mode", "provider", "status", "duration", "error_code")
    list_filter = ("status", "mode", "provider")
    search_fields = ("user__username", "segments__text")
    date_hierarchy = "started_at"
    readonly_fields = (
        "id",
        "started_at",
        "ended_at",
        "duration",
        "sample_rate",
        "audio",
        "error_code",
        "error_message",
    )
    inlines = [SegmentInline]
