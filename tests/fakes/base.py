"""Protocol-faithful fake vendor servers: real websockets servers on loopback.

Each vendor module subclasses FakeServer: `handle(ws)` speaks the vendor's protocol, checks
every client message against the documented shapes (a wrong field becomes a `violation`,
which fails the test through `assert_clean()`), and obeys `faults` so tests can inject
drops, errors, slow replies, refused handshakes and close codes.

    async with FakeElevenLabs(faults=Faults(drop_after_chunks=5)) as fake:
        ... point the adapter at fake.http_url ...
    fake.assert_clean()
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response


@dataclass
class Faults:
    """What the fake should do wrong. All off by default."""

    refuse_handshake: int | None = None  # HTTP status to refuse the upgrade with (401, 403, 429...)
    drop_after_chunks: int | None = None  # close the TCP connection abruptly after N audio chunks
    drop_times: int = 1  # how many connections get dropped (then the fake behaves)
    error_after_chunks: int | None = None  # send the vendor's error message after N audio chunks
    error_type: str = ""  # which vendor error (vendor-specific name)
    close_code: int | None = None  # close with this code (after error_after_chunks, or at once)
    reply_delay: float = 0.0  # seconds to wait before each reply (a slow vendor)
    extra: dict[str, Any] = field(default_factory=dict)  # vendor-specific knobs


class FakeServer:
    """Base: lifecycle, request log, handshake refusal, violations."""

    path: str = "/"

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.connections = 0  # handshakes accepted
        self.drops_done = 0
        self.requests: list[Request] = []  # every handshake request, headers included
        self.received: list[list[Any]] = []  # per connection: text frames (parsed JSON) and bytes
        self.violations: list[str] = []
        self._server: Server | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> FakeServer:
        # A short close timeout: a client that aborts mid-close must not hold up the test for 10 s.
        self._server = await serve(
            self._handler, "127.0.0.1", 0, process_request=self._process_request, close_timeout=0.5
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def http_url(self) -> str:
        """The base URL an adapter is configured with (the *_API_URL override)."""
        return f"http://127.0.0.1:{self.port}"

    # --- checks ------------------------------------------------------------------------------
    def violation(self, message: str) -> None:
        self.violations.append(message)

    def assert_clean(self) -> None:
        assert not self.violations, "client broke the protocol:\n" + "\n".join(self.violations)

    # --- plumbing ----------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if request.path.split("?")[0] != self.path:
            self.violation(f"handshake to {request.path!r}, expected {self.path!r}")
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.faults.refuse_handshake:
            return connection.respond(HTTPStatus(self.faults.refuse_handshake), "refused\n")
        return self.check_handshake(connection, request)

    def check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Vendor hook: validate headers and query; return a Response to refuse."""
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.received.append([])
        await self.handle(ws)

    async def handle(self, ws: ServerConnection) -> None:
        raise NotImplementedError

    def should_drop(self, chunks: int) -> bool:
        f = self.faults
        return f.drop_after_chunks is not None and chunks >= f.drop_after_chunks and self.drops_done < f.drop_times

    async def drop(self, ws: ServerConnection) -> None:
        """An abrupt loss: no close frame, just the TCP connection gone."""
        self.drops_done += 1
        ws.transport.abort()

    async def pause(self) -> None:
        if self.faults.reply_delay:
            await asyncio.sleep(self.faults.reply_delay)
