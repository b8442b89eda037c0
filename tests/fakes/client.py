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


async def send_then_read(ws: ClientConnection, frames: list[Any]) -> list[dict[str, Any]]:
    """Send frames (dicts as JSON text, bytes as binary), then read until the fake closes.

    A fake may close mid-way on purpose (a fault under test), so a refused send is not an error.
    """
    try:
        for frame in frames:
            await ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)
    except ConnectionClosed:
        pass
    return await read_all(ws)
