from __future__ import annotations

from django import forms

from speechsite.accounts.models import ApiToken

NAME_MAX = ApiToken._meta.get_field("name").max_length


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX,
        label="Token name",
        help_text="Where you will use it, e.g. “laptop script”.",
        error_messages={
            "required": "Give the token a name, so you can tell it apart later.",
            "max_length": f"Keep the name to {NAME_MAX} characters or fewer.",
        },
    )
