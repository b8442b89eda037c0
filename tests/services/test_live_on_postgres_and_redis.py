"""The scaled-up configuration: daphne on PostgreSQL with the Redis channel layer, several
learners streaming at once over real sockets, each keeping their own transcript."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import websockets

from speechsite.lib.audio import read_wav
from tests.conftest import fixture_audio
from tests.support.liveserver import ROOT, live_server

SENTENCES = {
    "fox_slt": "the quick brown fox jumps over the lazy dog",
    "birch_rms": "the birch canoe slid on the smooth planks",
    "juice_awb": "the juice of lemons makes fine punch",
    "train_slt": "i would like a ticket for the morning train",
}


def closest_sentence(text: str) -> str:
    """The fixture whose words the transcript shares most: each stream must get its own."""
    words = set(text.split())
    return max(SENTENCES, key=lambda name: len(words & set(SENTENCES[name].split())))


async def stream(server, session: str, name: str) -> tuple[str, str]:
    pcm, _ = read_wav(fixture_audio(name))
    pcm += b"\x00\x00" * 4800
    headers = {"Origin": server.url, "Cookie": f"sessionid={session}"}
    async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "start", "format": "json"}))
        recording_id = json.loads(await ws.recv())["recording_id"]
        for i in range(0, len(pcm), 3200):
            await ws.send(pcm[i : i + 3200])
            await asyncio.sleep(0.05)  # twice real time, all four at once
        await ws.send(json.dumps({"type": "stop"}))
        texts = []
        async for raw in ws:
            event = json.loads(raw)
            assert event["type"] != "error", event
            if event["type"] == "committed_transcript":
                texts.append(event["text"])
            if event["type"] == "session_ended":
                break
    return recording_id, " ".join(texts)


def test_concurrent_sessions_on_postgres_keep_their_own_transcripts(tmp_path, postgres_url, redis_url):
    with live_server(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url) as server:
        server.lift_quota("student")  # four sessions at once: more than a student may have
        session = server.session_for("student")

        async def all_at_once():
            return await asyncio.wait_for(
                asyncio.gather(*(stream(server, session, name) for name in SENTENCES)), timeout=60
            )

        results = asyncio.run(all_at_once())
        for (_, text), name in zip(results, SENTENCES, strict=True):
            assert closest_sentence(text) == name, text
        stored = json.loads(
            server.manage(
                "shell",
                "-v",
                "0",
                "-c",
                "import json; from speechsite.speech.models import Recording as R; "
                "print(json.dumps({str(r.id): [r.status, r.transcript] for r in R.objects.all()}))",
            )
        )
        assert len(stored) == len(SENTENCES)
        for recording_id, text in results:
            status, transcript = stored[recording_id]
            assert status == "completed" and transcript == text


def test_the_redis_channel_layer_carries_messages(redis_url):
    """REDIS_URL switches Channels to the Redis layer; a message must cross it for real."""
    script = (
        "import asyncio\n"
        "from channels.layers import get_channel_layer\n"
        "async def main():\n"
        "    layer = get_channel_layer()\n"
        "    print(type(layer).__name__)\n"
        "    name = await layer.new_channel()\n"
        "    await layer.send(name, {'type': 'ping', 'n': 7})\n"
        "    print((await layer.receive(name))['n'])\n"
        "import django; django.setup(); asyncio.run(main())\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["RedisChannelLayer", "7"]


@pytest.mark.parametrize("variable", ["DATABASE_URL", "REDIS_URL"])
def test_the_default_configuration_needs_neither_service(variable):
    script = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.DATABASES['default']['ENGINE'])"
        if variable == "DATABASE_URL"
        else "print(s.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer"}
