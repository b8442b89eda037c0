"""Client-side helpers for the fake vendors' own tests."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def read_all(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every JSON message until the fake closes the socket."""
    out = []
    try:
        async for raw in ws:
            out.append(json.loads(raw))
    except ConnectionClosed:
        pass
    return out
