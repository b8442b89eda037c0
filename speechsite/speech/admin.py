from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from speechsite.speech.models import Assessment, Comment, Recording, Segment


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ("index", "start", "end", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ("author", "body", "created_at")
    readonly_fields = ("author", "created_at")  # whoever writes a comment is its author
    extra = 0


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
    inlines = [SegmentInline, CommentInline]

    def save_formset(self, request, form, formset, change: bool) -> None:
        for obj in formset.save(commit=False):
            if isinstance(obj, Comment) and obj.author_id is None:
                obj.author = request.user  # a comment written here is the admin's own
            obj.save()
        for gone in formset.deleted_objects:
            gone.delete()
        formset.save_m2m()


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


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "author", "student", "recording_link", "excerpt")
    list_filter = (("author", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("body", "author__username", "recording__user__username")
    date_hierarchy = "created_at"
    list_select_related = ("author", "recording__user")
    raw_id_fields = ("recording",)
    readonly_fields = ("author", "created_at")

    @admin.display(ordering="recording__user__username")
    def student(self, comment: Comment) -> str:
        return str(comment.recording.user)

    @admin.display(description="Recording")
    def recording_link(self, comment: Comment) -> str:
        url = reverse("admin:speech_recording_change", args=[comment.recording_id])
        started = timezone.localtime(comment.recording.started_at)
        return format_html('<a href="{}">{}</a>', url, f"{started:%Y-%m-%d %H:%M}")

    @admin.display(description="Comment")
    def excerpt(self, comment: Comment) -> str:
        return Truncator(comment.body).chars(80)

    def save_model(self, request, obj: Comment, form, change: bool) -> None:
        if obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)
