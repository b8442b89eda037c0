"""`Authorization: Bearer` on /ws/speech/ through the real ASGI stack: who gets in, and in which format."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from speechsite.accounts.models import ApiToken
from tests.speech.wsclient import events_until, of_type, open_full_stack, receive_json, send_json, stream_fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(student) -> str:
    return ApiToken.issue(student, "my script")[1]


def bearer(token: str, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode()), *extra]


async def connected_close_code(headers) -> int | None:
    """The close code a socket gets at once (None if it stays open)."""
    ws = await open_full_stack(headers)
    connected, _ = await ws.connect()
    assert connected
    if await ws.receive_nothing(timeout=1):
        await ws.disconnect()
        return None
    return (await ws.receive_output(timeout=1))["code"]


async def test_a_token_signs_a_program_in_without_an_origin(student, token):
    ws = await open_full_stack(bearer(token))
    connected, _ = await ws.connect()
    assert connected
    await send_json(ws, type="start")  # no format named: a program gets JSON
    started = await receive_json(ws)
    assert started["type"] == "session_started"
    await stream_fixture(ws, "fox_slt")
    await send_json(ws, type="stop")
    events = await events_until(ws, "session_ended")
    assert "fox" in of_type(events, "committed_transcript")[0]["text"]
    recording_owner = await sync_to_async(lambda: student.recordings.get().user)()
    assert recording_owner == student
    await ws.disconnect()


async def test_a_token_connection_may_still_ask_for_html(token):
    ws = await open_full_stack(bearer(token))
    await ws.connect()
    await send_json(ws, type="start", format="html")
    assert "session-status" in await ws.receive_from(timeout=10)
    await ws.disconnect()


async def test_using_a_token_records_when_it_was_last_used(token):
    assert await connected_close_code(bearer(token)) is None
    stored = await ApiToken.objects.aget(digest=ApiToken.digest_of(token))
    assert stored.last_used_at is not None


async def test_an_unknown_token_is_refused_with_4401():
    assert await connected_close_code(bearer("ss_not-a-real-token")) == 4401


async def test_a_revoked_token_is_refused_with_4401(token):
    stored = await ApiToken.objects.aget(digest=ApiToken.digest_of(token))
    await sync_to_async(stored.revoke)()
    assert await connected_close_code(bearer(token)) == 4401


async def test_a_deactivated_users_token_is_refused_with_4401(student, token):
    student.is_active = False
    await student.asave()
    assert await connected_close_code(bearer(token)) == 4401


async def test_a_malformed_authorization_header_is_refused_with_4401():
    assert await connected_close_code([(b"authorization", b"Basic YWxpY2U6cGFzcw==")]) == 4401


async def test_a_bad_token_does_not_fall_back_to_the_session_cookie(client, student):
    await sync_to_async(client.force_login)(student)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    headers = bearer("ss_wrong", (b"origin", b"http://127.0.0.1:8000"), cookie)
    assert await connected_close_code(headers) == 4401


async def test_a_token_with_a_foreign_origin_is_refused(token):
    ws = await open_full_stack(bearer(token, (b"origin", b"https://evil.example")))
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_a_token_with_our_origin_is_accepted(token):
    assert await connected_close_code(bearer(token, (b"origin", b"http://127.0.0.1:8000"))) is None


async def test_without_a_token_a_missing_origin_is_still_refused(client, student):
    await sync_to_async(client.force_login)(student)
    ws = await open_full_stack([(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())])
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()
