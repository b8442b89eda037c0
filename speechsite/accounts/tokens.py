"""`Authorization: Bearer <api token>` on the websocket routes, for programs.

A Bearer header decides who the caller is: a bad, revoked or deactivated user's token makes
the caller anonymous (refused with 4401) rather than falling back to a session cookie.
Browsers cannot set this header on a WebSocket, and a token is no ambient credential a
hostile page could borrow, so a token connection needs no Origin; a wrong Origin is still refused.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from speechsite.accounts.models import ApiToken


def bearer_token(scope: dict) -> str | None:
    """The token of an `Authorization: Bearer` header; "" if the header is there but malformed."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


@database_sync_to_async
def _user_for(token: str):
    return ApiToken.user_for(token) if token else None


class BearerTokenMiddleware(BaseMiddleware):
    """Sets scope["user"] from a Bearer token (inside AuthMiddlewareStack, so it has the last word)."""

    async def __call__(self, scope, receive, send):
        token = bearer_token(scope)
        if token is not None:
            user = await _user_for(token)
            scope = {**scope, "user": user or AnonymousUser(), "auth_method": "token"}
        return await super().__call__(scope, receive, send)


class OriginUnlessBearer:
    """AllowedHostsOriginValidator, except that a token connection may send no Origin at all."""

    def __init__(self, application) -> None:
        self.application = application
        self.checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        if b"origin" not in headers and bearer_token(scope) is not None:
            return await self.application(scope, receive, send)
        return await self.checked(scope, receive, send)
