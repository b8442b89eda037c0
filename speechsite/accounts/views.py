"""The account page: what a user has used and has left, their recent usage, and their API tokens.

A new token's plaintext exists only in the response to the POST that made it: it is never
stored, never put in the session or a URL, and that response is marked no-store.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from speechsite.accounts import quota
from speechsite.accounts.forms import TokenForm
from speechsite.accounts.models import ApiToken, Usage

RECENT_USAGE = 20


def _signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, but back to the account page after signing in (not to a POST-only URL)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            return HttpResponseClientRedirect(f"{reverse('login')}?next={reverse('accounts:account')}")
        return redirect_to_login(reverse("accounts:account"))

    return wrapper


def _quota_rows(standing: quota.Standing) -> list[dict]:
    def amount(seconds: float | None) -> str:
        return "no limit" if seconds is None else quota.describe(seconds)

    limits = standing.limits
    return [
        {
            "period": "Today",
            "used": quota.describe(standing.used_today),
            "left": amount(standing.left_today),
            "limit": amount(limits.daily_seconds),
            "exhausted": standing.left_today is not None and standing.left_today <= 0,
        },
        {
            "period": "This month",
            "used": quota.describe(standing.used_this_month),
            "left": amount(standing.left_this_month),
            "limit": amount(limits.monthly_seconds),
            "exhausted": standing.left_this_month is not None and standing.left_this_month <= 0,
        },
    ]


def _tokens_context(request: HttpRequest, form: TokenForm | None = None, new_token: str = "") -> dict:
    tokens = list(ApiToken.objects.filter(user=request.user))
    scheme = "wss" if request.is_secure() else "ws"
    return {
        "form": form or TokenForm(),
        "new_token": new_token,
        "active_tokens": [token for token in tokens if not token.revoked],
        "revoked_tokens": [token for token in tokens if token.revoked],
        "ws_url": f"{scheme}://{request.get_host()}/ws/speech/",
    }


def _account_context(request: HttpRequest, **tokens) -> dict:
    standing = quota.standing(request.user)
    usage = Usage.objects.filter(user=request.user).select_related("recording")[:RECENT_USAGE]
    return {
        "standing": standing,
        "quota_rows": _quota_rows(standing),
        "concurrent_sessions": standing.limits.concurrent_sessions,
        "recent_usage": usage,
        **_tokens_context(request, **tokens),
    }


def _tokens_response(request: HttpRequest, status: int = 200, **tokens) -> HttpResponse:
    """The tokens fragment for htmx, else the whole account page."""
    if request.htmx:
        return render(request, "accounts/_tokens.html", _tokens_context(request, **tokens), status=status)
    return render(request, "accounts/account.html", _account_context(request, **tokens), status=status)


@require_GET
@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html", _account_context(request))


@require_POST
@_signed_in
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _tokens_response(request, status=422, form=form)
    _token, plaintext = ApiToken.issue(request.user, form.cleaned_data["name"])
    response = _tokens_response(request, new_token=plaintext)
    add_never_cache_headers(response)  # the one page that holds the plaintext must not be cached
    return response


@require_POST
@_signed_in
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.revoke()
    if request.htmx:
        return _tokens_response(request)
    messages.success(request, f"The token “{token.name}” is revoked: programs using it can no longer connect.")
    return redirect("accounts:account")
