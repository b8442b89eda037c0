"""The Prosa adapter against the protocol-faithful fake (tests/fakes/prosa.py).

The fake cuts audio into 0.5 s blocks: a block with any non-zero sample adds a word, an all-zero
block closes the segment with a `result`. So `talk` and `quiet` below shape the transcript.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct

import pytest

from speechsite.lib.audio import resample
from speechsite.providers.base import Notice, ProviderError, SessionConfig
from speechsite.providers.prosa import ProsaSession
from speechsite.providers.remote import RetryPolicy
from tests.fakes.base import Faults
from tests.fakes.prosa import FakeProsa
from tests.providers.remote_support import (
    CHUNK,
    FAST_RETRY,
    committed,
    errors,
    key_reports,
    keys,
    partials,
    silence,
    stream,
)

RATE = 16000
SECOND = RATE * 2  # bytes of 16 kHz PCM16


def talk(seconds: float, rate: int = RATE) -> bytes:
    return b"\x01\x00" * int(rate * seconds)


def quiet(seconds: float, rate: int = RATE) -> bytes:
    return silence(seconds, rate)


# Two utterances: "selamat pagi" over 0-1 s, then (on a fresh fake connection) two more words.
TWO_UTTERANCES = talk(1.0) + quiet(0.5) + talk(1.0) + quiet(0.5)


def session(fake: FakeProsa, *secrets: str, retry: RetryPolicy = FAST_RETRY, auth: str = "header", **config):
    return ProsaSession(
        SessionConfig(**{"language": "id", **config}),
        keys(*(secrets or ("test-key",))),
        fake.http_url,
        retry=retry,
        auth=auth,
    )


def frames(fake: FakeProsa, connection: int = 0) -> list[bytes]:
    return [m for m in fake.received[connection] if isinstance(m, bytes)]


def spans(events: list) -> list[tuple[str, float, float]]:
    return [(c.text, c.start, c.end) for c in committed(events)]


def expected_config(rate: int = RATE) -> dict:
    return {
        "label": "speechsite",
        "model": "stt-general-online",
        "include_partial": True,
        "include_filler": False,
        "audio": {"format": "wav", "channels": 1, "sample_rate": rate},
    }


async def test_it_authenticates_with_the_x_api_key_header() -> None:
    async with FakeProsa(keys=("prosa-secret-1",)) as fake:
        events = await stream(session(fake, "prosa-secret-1"), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.auth_via == ["header"] and fake.headers[0]["x-api-key"] == "prosa-secret-1"
    assert fake.requests[0].path == "/v2/speech/stt"
    assert fake.received[0][0] == expected_config(), "the configuration was not the first message"
    assert committed(events) and not errors(events)


async def test_it_can_authenticate_with_a_first_token_message() -> None:
    async with FakeProsa(keys=("prosa-secret-1",)) as fake:
        events = await stream(session(fake, "prosa-secret-1", auth="token"), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.auth_via == ["token"] and "x-api-key" not in fake.headers[0]
    assert fake.received[0][:2] == [{"token": "prosa-secret-1"}, expected_config()]
    assert committed(events) and not errors(events)


def test_it_refuses_an_unknown_auth_mode() -> None:
    with pytest.raises(ProviderError) as raised:
        ProsaSession(SessionConfig(), keys("k"), "http://127.0.0.1:1", auth="query")
    assert raised.value.code == "invalid_option" and not raised.value.fatal


@pytest.mark.parametrize(("client_rate", "wire_rate"), [(16000, 16000), (8000, 8000), (48000, 48000), (11025, 16000)])
async def test_it_declares_the_rate_it_sends_in_the_config_and_the_wav_header(client_rate, wire_rate) -> None:
    pcm = resample(TWO_UTTERANCES, RATE, client_rate)
    async with FakeProsa() as fake:  # strict: every config field must be there and match the header
        events = await stream(session(fake, sample_rate=client_rate), pcm, chunk=client_rate // 10 * 2)
    fake.assert_clean()
    assert fake.configs[0] == expected_config(wire_rate)
    header = frames(fake)[0][:44]
    assert struct.unpack_from("<HHI", header, 20) == (1, 1, wire_rate), "WAV header: PCM, mono, the wire rate"
    assert abs(len(fake.audio[0]) - len(pcm) * wire_rate // client_rate) <= 64
    assert committed(events)


async def test_it_sends_the_wav_header_only_on_the_first_frame_of_each_connection() -> None:
    async with FakeProsa(faults=Faults(drop_after_chunks=25)) as fake:
        await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.connections == 2
    for connection in (0, 1):
        sent = frames(fake, connection)
        assert sent[0][:4] == b"RIFF" and len(sent[0]) == 44 + CHUNK, "the header must lead the first audio frame"
        assert not any(frame[:4] == b"RIFF" for frame in sent[1:])


async def test_it_ends_with_one_empty_frame_and_reads_until_the_server_closes() -> None:
    async with FakeProsa() as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()  # the fake flags a client that closes first or sends after the empty frame
    sent = frames(fake)
    assert sent[-1] == b"" and sent.count(b"") == 1
    assert fake.close_codes == [1000]
    assert [m["type"] for m in fake.sent[0][-2:]] == ["status", "metadata"]
    assert spans(events)[-1] == ("semua apa", 1.5, 2.5), "the last result (after the empty frame) was lost"
    assert not errors(events)


async def test_it_yields_partials_and_results_on_the_recording_timeline() -> None:
    pcm = talk(1.0) + quiet(0.5) + talk(0.5)
    async with FakeProsa(script=("selamat", "pagi", "semua")) as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    assert partials(events) == ["selamat", "selamat pagi", "semua"]
    assert spans(events) == [("selamat pagi", 0.0, 1.0), ("semua", 1.5, 2.0)]
    assert all(c.words == () for c in committed(events)), "Prosa gives no word timings"


async def test_it_fails_over_from_a_refused_key_to_the_next() -> None:
    async with FakeProsa(keys=("good-key",)) as fake:
        events = await stream(session(fake, "revoked-key", "good-key"), TWO_UTTERANCES)
    fake.assert_clean()
    reports = key_reports(events)
    assert [r.ref for r in reports] == [1, 2]
    assert "Prosa rejected the key" in reports[0].refused and reports[1].refused == ""
    assert fake.close_codes[0] == 4000 and fake.headers[1]["x-api-key"] == "good-key"
    assert committed(events) and not errors(events)


async def test_it_fails_over_from_a_refused_token_to_the_next() -> None:
    async with FakeProsa(keys=("good-key",)) as fake:
        events = await stream(session(fake, "revoked-key", "good-key", auth="token"), TWO_UTTERANCES)
    fake.assert_clean()
    assert [(r.ref, bool(r.refused)) for r in key_reports(events)] == [(1, True), (2, False)]
    assert fake.received[1][0] == {"token": "good-key"}
    assert committed(events) and not errors(events)


@pytest.mark.parametrize(
    ("close_code", "our_code", "failover", "connections"),
    [
        (4000, "provider_auth_failed", True, 1),
        (4001, "provider_rejected_request", False, 1),
        (4002, "provider_invalid_model", False, 1),
        (4005, "provider_quota_exceeded", True, 1),
        (4029, "provider_rate_limited", False, 1 + FAST_RETRY.tries),
        (1011, "provider_error", False, 1 + FAST_RETRY.tries),
        (4999, "provider_error", False, 1 + FAST_RETRY.tries),
    ],
)
async def test_it_maps_each_close_code_mid_stream(close_code, our_code, failover, connections) -> None:
    async with FakeProsa(faults=Faults(error_after_chunks=3, close_code=close_code)) as fake:
        events = await stream(session(fake), talk(2.0))
    failure = errors(events)[-1]
    assert failure.fatal and failure.code == our_code
    assert fake.connections == connections
    assert bool(key_reports(events)[-1].refused) == failover, "only auth and quota refuse the key"
    if failover:
        assert "No other Prosa key" in failure.message
    if close_code in (1011, 4999):
        assert "internal server error" in failure.message


@pytest.mark.parametrize(
    ("close_code", "our_code", "handshakes"),
    [
        (4000, "provider_auth_failed", 1),
        (4001, "provider_rejected_request", 1),
        (4002, "provider_invalid_model", 1),
        (4005, "provider_quota_exceeded", 1),
        (4029, "provider_unreachable", FAST_RETRY.tries),
        (1011, "provider_unreachable", FAST_RETRY.tries),
    ],
)
async def test_it_maps_each_close_code_before_the_stream_starts(close_code, our_code, handshakes) -> None:
    async with FakeProsa(faults=Faults(close_code=close_code)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake).open()
    assert raised.value.fatal and raised.value.code == our_code
    assert len(fake.requests) == handshakes
    if close_code == 4029:
        assert "limiting our request rate" in raised.value.message


async def test_it_backs_off_exponentially_when_rate_limited() -> None:
    loop = asyncio.get_running_loop()
    retry = RetryPolicy(tries=3, first_delay=0.1, max_delay=1.0)
    async with FakeProsa(faults=Faults(close_code=4029)) as fake:
        start = loop.time()
        with pytest.raises(ProviderError):
            await session(fake, retry=retry).open()
    assert loop.time() - start >= 0.1 + 0.2, "the retries did not wait 0.1 s then 0.2 s"
    assert len(fake.requests) == 3


async def test_it_rejects_an_unknown_model_as_fatal() -> None:
    async with FakeProsa(models=("stt-other",)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake).open()
    assert raised.value.code == "provider_invalid_model" and len(fake.requests) == 1


async def test_it_fails_over_when_the_quota_runs_out_mid_stream_and_loses_no_audio() -> None:
    # The quota alert (then close 4005) comes at 2.5 s, inside the second utterance.
    faults = Faults(error_after_chunks=25, close_code=4005)
    async with FakeProsa(faults=faults, keys=("first", "second")) as fake:
        events = await stream(session(fake, "first", "second"), TWO_UTTERANCES)
    fake.assert_clean()
    assert [m["type"] for m in fake.sent[0][-1:]] == ["quota"]
    reports = key_reports(events)
    assert [r.ref for r in reports] == [1, 1, 2]
    assert "Prosa quota is used up" in reports[1].refused
    assert fake.headers[1]["x-api-key"] == "second"
    assert fake.audio[0] == TWO_UTTERANCES[: 25 * CHUNK]
    assert fake.audio[1] == TWO_UTTERANCES[SECOND:], "the next key did not get everything after the last result"
    assert spans(events) == [("selamat pagi", 0.0, 1.0), ("selamat pagi", 1.5, 2.5)]
    assert not errors(events)


async def test_it_reconnects_after_a_drop_and_replays_what_was_not_committed() -> None:
    async with FakeProsa(faults=Faults(drop_after_chunks=25)) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.connections == 2
    assert fake.audio[0] == TWO_UTTERANCES[: 25 * CHUNK], "the first connection got audio past the drop"
    assert fake.audio[1] == TWO_UTTERANCES[SECOND:], "the replay did not start where the last result ended"
    assert [r.refused for r in key_reports(events)] == ["", ""], "a drop must not count against the key"
    assert spans(events) == [("selamat pagi", 0.0, 1.0), ("selamat pagi", 1.5, 2.5)]
    assert not errors(events)


async def test_it_treats_an_error_message_as_transient() -> None:
    faults = Faults(error_after_chunks=25, error_type="error")  # PR-3P's error message, then close 1011
    async with FakeProsa(faults=faults) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert fake.sent[0][-1] == {"type": "error", "message": "internal server error"}
    assert fake.connections == 2 and fake.audio[1] == TWO_UTTERANCES[SECOND:]
    assert len(committed(events)) == 2 and not errors(events)


async def test_it_reports_repeated_error_messages_with_our_code() -> None:
    faults = Faults(error_after_chunks=3, error_type="error")  # every connection fails the same way
    async with FakeProsa(faults=faults) as fake:
        events = await stream(session(fake), talk(2.0))
    failure = errors(events)[-1]
    assert failure.fatal and failure.code == "provider_error"
    assert failure.message == "Prosa reported an error: internal server error"
    assert fake.connections == 1 + FAST_RETRY.tries


async def test_it_goes_on_in_a_new_session_when_prosa_reaches_its_maximum_duration() -> None:
    async with FakeProsa(max_duration=1.0) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and "maximum session length (1 s)" in notices[0].message
    # Each session is cut at 1 s and every cut falls right after a result: nothing is heard twice.
    assert b"".join(fake.audio[:3]) == TWO_UTTERANCES, "audio after a cut was lost or sent twice"
    assert spans(events)[:2] == [("selamat pagi", 0.0, 1.0), ("selamat", 1.5, 2.0)], "not on the recording's timeline"
    assert not errors(events)


async def test_it_survives_slow_replies() -> None:
    async with FakeProsa(faults=Faults(reply_delay=0.05)) as fake:
        events = await stream(session(fake), TWO_UTTERANCES)
    fake.assert_clean()
    assert spans(events) == [("selamat pagi", 0.0, 1.0), ("semua apa", 1.5, 2.5)]
    assert not errors(events)


@pytest.mark.parametrize("auth", ["header", "token"])
async def test_the_secret_never_reaches_errors_or_logs(caplog, auth: str) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeProsa(keys=("other",)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, "prosa_live_topsecret", auth=auth).open()
    assert "topsecret" not in raised.value.message
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
    assert "topsecret" not in " ".join(ours)
    assert "topsecret" not in json.dumps(fake.sent)
