from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from speechsite.accounts.models import User


@admin.register(User)
class SpeechsiteUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))
