"""ASGI entry point: HTTP through Django; /ws/ through the Origin check, session or token auth, routing."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "speechsite.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from speechsite.accounts.tokens import BearerTokenMiddleware, OriginUnlessBearer  # noqa: E402
from speechsite.providers.local.pool import engine_pool  # noqa: E402
from speechsite.speech.routing import websocket_urlpatterns  # noqa: E402

# Boot the embedded engine's workers now (non-blocking), not on the first learner's Record.
engine_pool().start()

http_app = django_asgi_app
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": OriginUnlessBearer(AuthMiddlewareStack(BearerTokenMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)
