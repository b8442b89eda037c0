"""The /ws/speech/ socket. Thin: it checks who is calling and hands frames to a LiveSession."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from speechsite.providers.base import ProviderError
from speechsite.speech.live import LiveSession
from speechsite.speech.protocol import FORMATS, ProtocolError, parse_message, requested_format
from speechsite.speech.render import as_html, as_json, error_payload

UNAUTHENTICATED = 4401


class SpeechConsumer(AsyncWebsocketConsumer):
    live: LiveSession | None = None
    format = "json"
    url_format: str | None = None
    default_format = "html"  # for a start that names none: the browser's; programs with a token get JSON

    async def dispatch(self, message: dict) -> None:
        # Channels runs close_old_connections() in a worker thread before every message: a thread
        # hop per audio frame, the largest cost per chunk under load (`make bench relay`). All our
        # database work goes through database_sync_to_async, which does that itself, per query.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        await self.accept()  # accept first: only an open socket can carry the 4401 close code
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        asked = query.get("format", [""])[0]
        self.url_format = asked if asked in FORMATS else None
        if self.scope.get("auth_method") == "token":
            self.default_format = "json"
        # Until a start message names a format, errors go out as JSON unless the URL asks for HTML.
        self.format = self.url_format or "json"
        self.live = LiveSession(user, self.send_event, self.close_with)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.live is None:
            return
        try:
            if bytes_data is not None:
                await self.live.audio(bytes_data)
            else:
                await self.handle_text(text_data or "")
        except (ProtocolError, ProviderError) as exc:
            await self.send_event(error_payload(exc.code, exc.message, False))

    async def handle_text(self, text: str) -> None:
        message = parse_message(text)
        kind = message["type"]
        if kind == "start":
            if not self.live.started:
                self.format = requested_format(message, self.url_format or self.default_format) or self.format
            await self.live.start(message, self.format)
        elif kind == "commit":
            await self.live.commit()
        elif kind == "stop" and await self.live.stop():
            await self.close(code=1000)

    async def send_event(self, payload: dict) -> None:
        if self.format == "html":
            await self.send(text_data=as_html(payload))
        else:
            await self.send(text_data=as_json(payload))

    async def close_with(self, code: int) -> None:
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.live is not None:
            await self.live.abandon()
