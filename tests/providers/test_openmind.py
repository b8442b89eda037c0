"""The OpenMind ASR proxy adapter against the protocol-faithful fake (tests/fakes/openmind.py).

The fake's VAD hears any non-zero chunk as speech and all-zero chunks as silence, so the fixture
speech followed by `silence()` makes it commit; speech with no silence after it leaves a partial
pending, which the adapter's end-of-audio padding has to flush.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from speechsite.lib.audio import resample
from speechsite.providers import openmind
from speechsite.providers.base import Notice, ProviderError, SessionConfig
from speechsite.providers.openmind import FLUSH_SILENCE, RESTART_NOTICE, OpenMindSession
from speechsite.providers.remote import RetryPolicy, VendorFault
from tests.fakes.base import Faults
from tests.fakes.openmind import ERROR_TYPES, PATH, FakeOpenMind
from tests.providers.remote_support import (
    CHUNK,
    FAST_RETRY,
    committed,
    errors,
    key_reports,
    keys,
    partials,
    silence,
    speech,
    stream,
    text_of,
)

SECONDS = 32000  # bytes in a second of 16 kHz PCM16
PADDING = int(FLUSH_SILENCE * SECONDS)
TWO_UTTERANCES = speech() + silence(2) + speech() + silence(2)
FIRST_WORDS = "hello world this is a test"  # the fake's script, one word per 0.5 s of speech


def session(fake: FakeOpenMind, *secrets: str, retry: RetryPolicy = FAST_RETRY, **config) -> OpenMindSession:
    return OpenMindSession(SessionConfig(**config), keys(*(secrets or ("test-key",))), fake.http_url, retry=retry)


def replayed_from(heard: bytes, pcm: bytes) -> int:
    """Where in `pcm` a connection's audio starts, given it is a tail of `pcm` (+ end padding)."""
    for padding in (0, PADDING):
        real = heard[: len(heard) - padding]
        if not any(heard[len(real) :]) and pcm.endswith(real):
            return len(pcm) - len(real)
    raise AssertionError("the connection did not get a tail of the audio we were sent")


async def test_it_opens_the_documented_url_with_the_key_in_the_query() -> None:
    async with FakeOpenMind(keys=("om1_live_abc",)) as fake:
        events = await stream(session(fake, "om1_live_abc"), TWO_UTTERANCES)
    fake.assert_clean()
    request = fake.requests[0]
    assert request.path.split("?")[0] == PATH
    assert fake.queries == [{"api_key": ["om1_live_abc"]}]
    assert not [name for name, value in request.headers.raw_items() if "om1_live_abc" in value]
    assert committed(events) and not errors(events)


@pytest.mark.parametrize(("language", "sent"), [("en", "en"), ("", "auto")])
async def test_it_sends_rate_and_language_first_then_only_audio(language: str, sent: str) -> None:
    async with FakeOpenMind() as fake:
        await stream(session(fake, language=language), TWO_UTTERANCES)
    fake.assert_clean()
    first, *later = fake.received[0]
    assert set(first) == {"audio", "rate", "language_code"}
    assert first["rate"] == 16000 and first["language_code"] == sent
    assert later and all(set(message) == {"audio"} for message in later)
    assert replayed_from(bytes(fake.audio[0]), TWO_UTTERANCES) == 0, "the proxy did not get exactly our audio"


@pytest.mark.parametrize("typed", [True, False])
async def test_it_yields_partials_and_committed_segments_on_the_timeline(typed: bool) -> None:
    async with FakeOpenMind(typed=typed) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert partials(events)[:2] == ["hello", "hello world"]
    first, second = committed(events)
    assert first.text == FIRST_WORDS and second.text.startswith("of the speech")
    assert first.words == () and first.start == 0.0
    assert 2.9 <= first.end <= 4.5, "the first segment does not end between the speech and the commit"
    assert first.end <= second.start <= 5.0, "the second segment does not start around its speech (4.97 s)"
    assert second.end <= len(TWO_UTTERANCES) / SECONDS
    assert not errors(events)


async def test_it_shows_the_restart_info_as_a_notice() -> None:
    async with FakeOpenMind(restart_after_seconds=2.0) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 4 and notices[0].message == RESTART_NOTICE
    assert len(committed(events)) == 2 and not errors(events), "transcription did not go on after the restart"


async def test_it_reports_a_refused_key_clearly() -> None:
    async with FakeOpenMind(keys=("other",)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, "om1_live_revoked").open()
    assert raised.value.code == "provider_auth_failed" and raised.value.fatal
    assert raised.value.message.startswith("OpenMind rejected the key: Invalid API key")
    assert "No other OpenMind key" in raised.value.message


async def test_it_fails_over_to_the_next_key_when_the_first_is_refused() -> None:
    async with FakeOpenMind(keys=("good",)) as fake:
        events = await stream(session(fake, "revoked", "good"), TWO_UTTERANCES)
    reports = key_reports(events)
    assert [r.ref for r in reports] == [1, 2]
    assert "OpenMind rejected the key" in reports[0].refused and reports[1].refused == ""
    assert fake.queries[1] == {"api_key": ["good"]}
    assert len(committed(events)) == 2 and not errors(events)


EXPECTED = {
    "error": (VendorFault.RETRY, "provider_error"),
    "auth_error": (VendorFault.KEY, "provider_auth_failed"),
    "quota_exceeded": (VendorFault.KEY, "provider_quota_exceeded"),
    "commit_throttled": ("warning", "provider_commit_throttled"),
    "transcriber_error": (VendorFault.RETRY, "provider_error"),
    "unaccepted_terms": (VendorFault.KEY, "provider_terms_not_accepted"),
    "rate_limited": (VendorFault.RETRY, "provider_rate_limited"),
    "input_error": (VendorFault.FATAL, "provider_rejected_audio"),
    "invalid_request": (VendorFault.FATAL, "provider_rejected_request"),
    "queue_overflow": (VendorFault.RETRY, "provider_busy"),
    "resource_exhausted": (VendorFault.RETRY, "provider_busy"),
    "session_time_limit_exceeded": (VendorFault.RETRY, "provider_session_limit"),
    "chunk_size_exceeded": (VendorFault.FATAL, "provider_rejected_audio"),
    "insufficient_audio_activity": (VendorFault.RETRY, "provider_idle_timeout"),
}


def test_every_error_the_fake_knows_is_mapped() -> None:
    assert set(EXPECTED) == set(ERROR_TYPES)


@pytest.mark.parametrize("error_type", sorted(EXPECTED))
async def test_it_maps_every_error_to_our_code(error_type: str) -> None:
    action, code = EXPECTED[error_type]
    async with FakeOpenMind(faults=Faults(error_after_chunks=3, error_type=error_type)) as fake:
        events = await stream(session(fake), speech())
    failure = errors(events)[-1]
    assert failure.code == code
    assert error_type in failure.message, "the proxy's details did not reach the message"
    if action == "warning":
        assert not failure.fatal and committed(events), "the session did not go on after the warning"
        return
    assert failure.fatal
    if action == VendorFault.KEY:
        assert key_reports(events)[-1].refused, f"{error_type} did not mark the key as refused"
    elif action == VendorFault.FATAL:
        assert fake.connections == 1, "a refused request was retried"
    else:
        assert fake.connections == 1 + FAST_RETRY.tries, "a transient error was not retried, or not boundedly"


async def test_it_fails_over_on_a_quota_error_that_closes_the_socket_and_replays_on_the_next_key() -> None:
    pcm = speech()
    faults = Faults(error_after_chunks=4, error_type="quota_exceeded", close_code=1011)  # on every connection
    async with FakeOpenMind(faults=faults, keys=("first", "second")) as fake:
        events = await stream(session(fake, "first", "second"), pcm)
    assert [(r.ref, "quota" in r.refused) for r in key_reports(events)] == [
        (1, False),
        (1, True),
        (2, False),
        (2, True),
    ]
    assert fake.queries[1] == {"api_key": ["second"]}
    assert bytes(fake.audio[1]) == pcm[: 4 * CHUNK], "the second key's connection did not start at the beginning"
    failure = errors(events)[-1]
    assert failure.code == "provider_quota_exceeded" and "No other OpenMind key" in failure.message


async def test_it_reconnects_after_a_drop_and_replays_what_was_not_committed() -> None:
    async with FakeOpenMind(faults=Faults(drop_after_chunks=60)) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.connections == 2
    first, second = (bytes(audio) for audio in fake.audio)
    assert first == TWO_UTTERANCES[: 60 * CHUNK]
    start = replayed_from(second, TWO_UTTERANCES)
    assert start <= len(first), "the replay left a hole"
    assert start >= len(speech()), "the replay repeated committed speech"
    segments = committed(events)
    assert len(segments) == 2 and segments[0].text == FIRST_WORDS and not errors(events)
    assert segments[1].start >= segments[0].end


async def test_it_replays_from_the_start_when_nothing_was_committed() -> None:
    pcm = speech()
    async with FakeOpenMind(faults=Faults(drop_after_chunks=15)) as fake:
        events = await stream(session(fake), pcm)
    assert replayed_from(bytes(fake.audio[1]), pcm) == 0
    assert committed(events) and not errors(events)


async def test_it_gives_up_on_a_proxy_that_closes_at_once() -> None:
    async with FakeOpenMind(faults=Faults(close_code=4001)) as fake:
        events = await stream(session(fake), speech())
    failure = errors(events)[-1]
    assert failure.fatal and failure.code == "provider_dropped" and "4001" in failure.message
    assert fake.connections == 1 + FAST_RETRY.tries


async def test_it_survives_a_slow_proxy() -> None:
    async with FakeOpenMind(faults=Faults(reply_delay=0.05)) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert text_of(events).startswith(FIRST_WORDS) and len(committed(events)) == 2
    assert not errors(events)


async def test_it_pads_with_silence_at_the_end_so_the_proxy_commits_the_last_words() -> None:
    pcm = speech()
    async with FakeOpenMind() as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    assert bytes(fake.audio[0]) == pcm + bytes(PADDING)
    (segment,) = committed(events)
    assert segment.text == FIRST_WORDS
    assert segment.start == 0.0 and segment.end == pytest.approx(len(pcm) / SECONDS, abs=0.01)


async def test_it_pads_for_speech_at_the_very_end_even_before_its_first_partial() -> None:
    async with FakeOpenMind(faults=Faults(reply_delay=0.1)) as fake:
        events = await stream(session(fake), speech())
    assert fake.connections == 1 and bytes(fake.audio[0]).endswith(bytes(PADDING))
    assert text_of(events) == FIRST_WORDS and not errors(events)


async def test_it_treats_any_other_message_with_asr_reply_as_final() -> None:
    s = OpenMindSession(SessionConfig(), keys("k"), "http://127.0.0.1:9")
    for message in ('{"type": "final", "asr_reply": "one"}', '{"asr_reply": "two"}', "not json", '{"type": "new"}'):
        await s.on_message(message)
    s.end_events()
    assert [c.text for c in committed([event async for event in s.events()])] == ["one", "two"]


async def test_it_keeps_the_last_partial_when_the_proxy_never_commits(monkeypatch) -> None:
    monkeypatch.setattr(openmind, "COMMIT_WAIT", 0.2)
    async with FakeOpenMind(vad_silence_seconds=100) as fake:
        events = await stream(session(fake), speech())
    (segment,) = committed(events)
    assert segment.text == partials(events)[-1] == "hello world this is a"  # the commit would add "test"
    assert segment.end == pytest.approx(len(speech()) / SECONDS, abs=0.01)
    assert not errors(events)


async def test_it_hangs_up_at_once_when_nothing_is_pending() -> None:
    pcm = speech() + silence(2)
    async with FakeOpenMind() as fake:
        s = session(fake)
        await s.open()
        events: list = []
        reader = asyncio.create_task(_collect(s, events))
        for offset in range(0, len(pcm), CHUNK):
            await s.send_audio(pcm[offset : offset + CHUNK])
        for _ in range(100):
            if committed(events):
                break
            await asyncio.sleep(0.01)
        await s.finish()
        await asyncio.wait_for(reader, 5)
        await s.close()
    assert bytes(fake.audio[0]) == pcm, "silence was padded though every word was committed"
    assert [c.text for c in committed(events)] == [FIRST_WORDS]


async def _collect(s: OpenMindSession, events: list) -> None:
    async for event in s.events():
        events.append(event)


async def test_it_reconnects_when_the_proxy_closes_after_silence() -> None:
    pcm = speech() + silence(4) + speech() + silence(2)
    async with FakeOpenMind(silence_timeout_seconds=2.5) as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    assert fake.connections == 2
    first, second = committed(events)
    assert first.text == FIRST_WORDS and second.text
    assert first.end <= second.start <= 7.0, "the second segment starts after its speech (6.97 s)"
    assert not errors(events)


async def test_a_long_silence_is_not_a_failure() -> None:
    pcm = speech() + silence(12)
    async with FakeOpenMind(silence_timeout_seconds=2.0) as fake:
        events = await paced_stream(session(fake), pcm)
    assert fake.connections > 1 + FAST_RETRY.tries, "the proxy did not close more often than we retry"
    assert [c.text for c in committed(events)] == [FIRST_WORDS]
    assert not errors(events)


async def paced_stream(s: OpenMindSession, pcm: bytes, pace: float = 0.005) -> list:
    """Like stream(), but at a steady pace, so reconnects do not leave a backlog to replay."""
    events: list = []
    await s.open()
    reader = asyncio.create_task(_collect(s, events))
    for offset in range(0, len(pcm), CHUNK):
        await s.send_audio(pcm[offset : offset + CHUNK])
        await asyncio.sleep(pace)
    await s.finish()
    await asyncio.wait_for(reader, 15)
    await s.close()
    return events


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
async def test_it_sends_documented_rates_as_they_are(rate: int) -> None:
    pcm = resample(speech(), 16000, rate)
    async with FakeOpenMind(strict_rates=True) as fake:
        events = await stream(session(fake, sample_rate=rate), pcm, chunk=rate // 5)
    fake.assert_clean()
    assert fake.received[0][0]["rate"] == rate
    assert bytes(fake.audio[0]).startswith(pcm)
    assert committed(events)


async def test_it_resamples_other_rates_to_16000() -> None:
    pcm48 = resample(speech(), 16000, 48000)
    async with FakeOpenMind(strict_rates=True) as fake:
        events = await stream(session(fake, sample_rate=48000), pcm48, chunk=9600)
    fake.assert_clean()
    assert fake.received[0][0]["rate"] == 16000
    assert abs(len(bytes(fake.audio[0])) - PADDING - len(speech())) <= 64
    assert text_of(events) == FIRST_WORDS


async def test_the_secret_never_reaches_errors_or_logs(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "om1_live_top/secret+x"  # travels URL-encoded: om1_live_top%2Fsecret%2Bx
    spellings = ("top/secret", "top%2Fsecret")
    async with FakeOpenMind(keys=("other",)) as fake:
        with pytest.raises(ProviderError) as refused:
            await session(fake, secret).open()
    async with FakeOpenMind(faults=Faults(refuse_handshake=503)) as fake:
        with pytest.raises(ProviderError) as unreachable:
            await session(fake, secret).open()
    ours = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server"))
    for text in (refused.value.message, unreachable.value.message, ours, json.dumps(fake.sent)):
        assert not any(spelling in text for spelling in spellings)
    cleaned = OpenMindSession(SessionConfig(), keys(secret), "http://127.0.0.1:9")._clean(
        "GET /asr?api_key=om1_live_top%2Fsecret%2Bx and om1_live_top/secret+x"
    )
    assert cleaned == "GET /asr?api_key=[key] and [key]"
