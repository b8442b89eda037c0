from __future__ import annotations

from django.contrib import admin

from speechsite.speech.models import Assessment, Recording, Segment


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


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "student", "provider", "exercise", "overall", "accuracy", "fluency", "completeness")
    list_filter = ("recording__provider", "exercise")
    search_fields = ("recording__user__username", "expected_text", "transcript")
    date_hierarchy = "created_at"
    list_select_related = ("recording__user", "exercise")
    readonly_fields = ("recording", "created_at", "words", "details", "provider_raw")

    @admin.display(ordering="recording__user__username")
    def student(self, assessment: Assessment) -> str:
        return str(assessment.recording.user)

    @admin.display(ordering="recording__provider")
    def provider(self, assessment: Assessment) -> str:
        return assessment.recording.provider
