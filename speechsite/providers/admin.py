"""Provider keys in Django admin: the secret can be written, never read back."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from speechsite.providers.models import ProviderKey


class ProviderKeyForm(forms.ModelForm):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Write-only. Leave empty to keep the current secret.",
    )

    class Meta:
        model = ProviderKey
        fields = ("provider", "label", "secret", "active", "priority")

    def clean(self) -> dict:
        data = super().clean()
        if not self.instance.pk and not (data.get("secret") or "").strip():
            self.add_error("secret", "A new key needs its secret.")
        return data

    def save(self, commit: bool = True) -> ProviderKey:
        key = super().save(commit=False)
        if (self.cleaned_data.get("secret") or "").strip():
            key.set_secret(self.cleaned_data["secret"])
        if commit:
            key.save()
        return key


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    form = ProviderKeyForm
    list_display = ("label", "provider", "masked", "active", "priority", "last_used_at", "last_error_at")
    list_filter = ("provider", "active")
    list_editable = ("active", "priority")
    readonly_fields = ("masked", "created_at", "last_used_at", "last_error", "last_error_at")
    fields = ("provider", "label", "secret", "masked", "active", "priority", *readonly_fields[1:])

    @admin.display(description="Secret")
    def masked(self, key: ProviderKey) -> str:
        return f"…{key.last_four}" if key.last_four else "—"
