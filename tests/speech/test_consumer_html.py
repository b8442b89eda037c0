"""The html format: the same events as htmx out-of-band fragments from the page's templates."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.template.loader import render_to_string

from speechsite.speech.models import Recording
from tests.speech.wsclient import open_socket, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)


async def html_until(ws, marker: str, timeout: float = 20) -> list[str]:
    messages = []
    while True:
        message = await ws.receive_from(timeout=timeout)
        messages.append(message)
        if marker in message:
            return messages


async def html_socket(user):
    ws = await open_socket(user)
    await send_json(ws, type="start", format="html")
    await ws.receive_from(timeout=10)
    return ws


async def spoken_html(user, fixture: str = "fox_slt") -> list[str]:
    """Every message of an html session that speaks `fixture` and stops."""
    ws = await html_socket(user)
    await stream_fixture(ws, fixture)
    await send_json(ws, type="stop")
    messages = await html_until(ws, 'data-state="ended"')
    await ws.disconnect()
    return messages


async def test_html_is_the_default_format(student):
    ws = await open_socket(student)
    await send_json(ws, type="start")
    message = await ws.receive_from(timeout=10)
    assert message.lstrip().startswith('<div id="session-status"')
    assert 'data-state="live"' in message and 'hx-swap-oob="true"' in message
    await ws.disconnect()


async def test_it_streams_partials_and_segments_as_oob_fragments(student):
    messages = await spoken_html(student)
    partials = [m for m in messages if m.startswith('<p id="partial"') and "</p>" in m and "fox" in m]
    assert partials, "partials replace the #partial line in place"
    (committed,) = [m for m in messages if 'id="segments"' in m]
    assert 'hx-swap-oob="beforeend"' in committed  # segments are appended
    assert '<p id="partial" class="partial" hx-swap-oob="true"></p>' in committed  # and the partial cleared
    assert "quick brown fox" in committed
    ended = messages[-1]
    assert "/recordings/" in ended and "Open the recording" in ended


async def test_the_socket_and_the_page_render_the_same_segment(student, client):
    messages = await spoken_html(student)
    (committed,) = [m for m in messages if 'id="segments"' in m]
    recording = await Recording.objects.aget(user=student)
    segment = await recording.segments.aget()
    fragment = await sync_to_async(render_to_string)("speech/_segment.html", {"segment": segment})
    assert fragment.strip() in committed
    await sync_to_async(client.force_login)(student)
    page = await sync_to_async(client.get)(recording.get_absolute_url())
    assert fragment.strip() in page.content.decode()


async def test_errors_are_appended_to_the_notices(student):
    ws = await html_socket(student)
    await ws.send_to(bytes_data=b"\x01")
    message = await ws.receive_from(timeout=5)
    assert '<div id="notices" hx-swap-oob="beforeend">' in message
    assert 'role="alert"' in message and 'data-code="odd_byte_count"' in message
    await ws.disconnect()


async def test_text_is_escaped_in_fragments(student):
    ws = await html_socket(student)
    await send_json(ws, type="<script>")
    message = await ws.receive_from(timeout=5)
    assert "<script>" not in message and "&lt;script&gt;" in message
    await ws.disconnect()
