"""Admin for users, classrooms, quotas, the usage ledger (with its monthly report) and API tokens."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from speechsite.accounts import quota, reports
from speechsite.accounts.models import ApiToken, Classroom, QuotaState, RoleQuota, Usage, User
from speechsite.practice.models import Assignment

QUOTA_FIELDS = ("daily_seconds", "monthly_seconds", "concurrent_sessions")


def _seconds_or_unlimited(seconds: float | None) -> str:
    return "no limit" if seconds is None else quota.describe(seconds)


class ClassroomMemberFilter(admin.SimpleListFilter):
    """Users in a classroom, as a student or as a teacher."""

    title = "classroom"
    parameter_name = "classroom"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[int, str]]:
        return [(room.pk, str(room)) for room in Classroom.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if not (self.value() or "").isdigit():
            return queryset
        room = int(self.value())
        return queryset.filter(Q(classrooms=room) | Q(teaching=room)).distinct()


@admin.register(User)
class SpeechsiteUserAdmin(UserAdmin):
    list_display = ("username", "email", "full_name", "role", "classes", "quota_overrides", "is_staff", "is_active")
    list_filter = ("role", "is_active", "is_staff", ClassroomMemberFilter)
    search_fields = ("username", "first_name", "last_name", "email")
    readonly_fields = ("current_standing",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Role", {"fields": ("role",)}),
        (
            "Quota overrides",
            {
                "fields": (*QUOTA_FIELDS, "current_standing"),
                "description": "Leave a field empty to use the role's default (see Role quotas).",
            },
        ),
    )
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                classroom_count=Count("classrooms", distinct=True), teaching_count=Count("teaching", distinct=True)
            )
        )

    @admin.display(description="Name")
    def full_name(self, user: User) -> str:
        return user.get_full_name()

    @admin.display(description="Classes")
    def classes(self, user: User) -> int:
        """Classes a student is in, or a teacher teaches."""
        return user.classroom_count + user.teaching_count

    @admin.display(description="Quota overrides")
    def quota_overrides(self, user: User) -> str:
        parts = []
        if user.daily_seconds is not None:
            parts.append(f"day {quota.describe(user.daily_seconds)}")
        if user.monthly_seconds is not None:
            parts.append(f"month {quota.describe(user.monthly_seconds)}")
        if user.concurrent_sessions is not None:
            parts.append(f"{user.concurrent_sessions} at once")
        return ", ".join(parts) or "—"

    @admin.display(description="Current standing")
    def current_standing(self, user: User | None) -> str:
        if user is None or user.pk is None:
            return "—"
        standing = quota.standing(user)
        return (
            f"Today: used {quota.describe(standing.used_today)}, "
            f"left {_seconds_or_unlimited(standing.left_today)}. "
            f"This month: used {quota.describe(standing.used_this_month)}, "
            f"left {_seconds_or_unlimited(standing.left_this_month)}."
        )


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fields = ("title", "due_at", "exercises", "created_by")
    readonly_fields = ("created_by",)
    extra = 0
    show_change_link = True


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher_names", "student_count", "archived", "created_at")
    list_filter = ("archived", ("teachers", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "teachers__username", "students__username")
    filter_horizontal = ("teachers", "students")
    inlines = [AssignmentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classroom]:
        return (
            super()
            .get_queryset(request)
            .annotate(student_count=Count("students", distinct=True))
            .prefetch_related("teachers")
        )

    @admin.display(description="Teachers")
    def teacher_names(self, classroom: Classroom) -> str:
        return ", ".join(teacher.get_full_name() or teacher.username for teacher in classroom.teachers.all()) or "—"

    @admin.display(description="Students", ordering="student_count")
    def student_count(self, classroom: Classroom) -> int:
        return classroom.student_count

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for assignment in formset.save(commit=False):
            if assignment.created_by_id is None:
                assignment.created_by = request.user
            assignment.save()
        for gone in formset.deleted_objects:
            gone.delete()
        formset.save_m2m()


@admin.register(RoleQuota)
class RoleQuotaAdmin(admin.ModelAdmin):
    list_display = ("role", *QUOTA_FIELDS)
    list_editable = QUOTA_FIELDS


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the code only. Deleting stays allowed: deleting a user in admin cascades here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(QuotaState)
class QuotaStateAdmin(ReadOnlyAdmin):
    list_display = ("user", "day", "day_seconds", "month", "month_seconds")
    search_fields = ("user__username",)
    list_select_related = ("user",)


@admin.register(Usage)
class UsageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "provider", "key_label", "seconds", "recording_link")
    list_filter = ("provider", "key", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("user__username",)
    list_select_related = ("user",)
    change_list_template = "admin/accounts/usage/change_list.html"

    @admin.display(description="Recording")
    def recording_link(self, usage: Usage) -> str:
        if usage.recording_id is None:
            return "—"
        url = reverse("admin:speech_recording_change", args=[usage.recording_id])
        return format_html('<a href="{}">{}</a>', url, "open")

    def get_urls(self) -> list:
        report = path("report/", self.admin_site.admin_view(self.report_view), name="accounts_usage_report")
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        asked = request.GET.get("month", "")
        month = reports.parse_month(asked) if asked else reports.this_month()
        if month is None:
            messages.error(request, f"“{asked}” is not a month (YYYY-MM). Showing this month.")
            month = reports.this_month()
        report = reports.usage_report(month)
        if request.GET.get("format") == "csv":
            response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="usage-{month:%Y-%m}.csv"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Usage in {month:%B %Y}",
            "report": report,
            "month_value": f"{month:%Y-%m}",
        }
        return TemplateResponse(request, "admin/accounts/usage/report.html", context)


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners on the account page; here they can only be seen and revoked."""

    list_display = ("user", "name", "hint", "created_at", "last_used_at", "revoked")
    list_filter = (TokenStatusFilter, "created_at")
    search_fields = ("user__username", "name", "hint")
    list_select_related = ("user",)
    fields = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields  # never the digest
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True, description="Revoked", ordering="revoked_at")
    def revoked(self, token: ApiToken) -> bool:
        return token.revoked

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token{'s' if count != 1 else ''}.", messages.SUCCESS)
