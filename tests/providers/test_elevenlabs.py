"""The ElevenLabs adapter against the protocol-faithful fake (tests/fakes/elevenlabs.py)."""

from __future__ import annotations

import json
import logging

import pytest

from speechsite.lib.audio import mulaw_decode, resample
from speechsite.providers.base import ProviderError, SessionConfig
from speechsite.providers.elevenlabs import ERRORS, ElevenLabsSession, vad_parameters
from speechsite.providers.remote import RetryPolicy
from tests.fakes.base import Faults
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.providers.remote_support import (
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

SCRIPT = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def session(fake: FakeElevenLabs, *secrets: str, retry: RetryPolicy = FAST_RETRY, **config) -> ElevenLabsSession:
    audio_format = config.pop("audio_format", "pcm_16000")
    return ElevenLabsSession(
        SessionConfig(**{"commit_strategy": "manual", **config}),
        keys(*(secrets or ("test-key",))),
        fake.http_url,
        retry=retry,
        audio_format=audio_format,
    )


def sent_chunks(fake: FakeElevenLabs, connection: int = 0) -> list[dict]:
    return [m for m in fake.received[connection] if isinstance(m, dict)]


async def test_it_opens_the_documented_url_with_the_key_in_a_header() -> None:
    async with FakeElevenLabs(keys=["el-secret-1"]) as fake:
        await stream(session(fake, "el-secret-1"), speech())
    request = fake.requests[0]
    assert request.headers["xi-api-key"] == "el-secret-1"
    assert fake.queries[0] == {
        "model_id": "scribe_v2_realtime",
        "audio_format": "pcm_16000",
        "commit_strategy": "manual",
        "include_timestamps": "true",
        "language_code": "en",
    }
    assert "el-secret-1" not in request.path
    fake.assert_clean()


async def test_it_sends_vad_parameters_in_vad_mode() -> None:
    async with FakeElevenLabs() as fake:
        await stream(session(fake, commit_strategy="vad", vad_silence_ms=600, extra={"vad_threshold": 0.5}), speech())
    assert fake.queries[0]["commit_strategy"] == "vad"
    assert fake.queries[0]["vad_silence_threshold_secs"] == "0.6"
    assert fake.queries[0]["vad_threshold"] == "0.5"
    fake.assert_clean()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vad_silence_threshold_secs", 0.2),
        ("vad_silence_threshold_secs", 3.5),
        ("vad_threshold", 0.95),
        ("min_speech_duration_ms", 20),
        ("min_silence_duration_ms", 2500),
        ("vad_threshold", "loud"),
    ],
)
def test_it_refuses_vad_parameters_outside_their_documented_range(name, value) -> None:
    with pytest.raises(ProviderError) as raised:
        vad_parameters({name: value})
    assert raised.value.code == "invalid_option" and name in raised.value.message


def test_it_accepts_vad_parameters_at_the_edges_of_their_range() -> None:
    assert vad_parameters({"vad_silence_threshold_secs": 0.3, "min_speech_duration_ms": 2000}) == {
        "vad_silence_threshold_secs": "0.3",
        "min_speech_duration_ms": "2000",
    }


async def test_it_streams_base64_chunks_and_yields_partials_and_timed_words() -> None:
    pcm = speech() + speech()
    async with FakeElevenLabs(script=SCRIPT) as fake:
        events = await stream(session(fake), pcm, commit_after={30})
    fake.assert_clean()
    assert b"".join(fake.audio) == pcm, "the vendor did not get exactly the audio we were sent"
    first = sent_chunks(fake)[0]
    assert set(first) == {"message_type", "audio_base_64", "commit", "sample_rate"}
    assert first["sample_rate"] == 16000 and first["commit"] is False
    assert partials(events), "no partial transcript came through"
    segments = committed(events)
    assert len(segments) == 2, "the manual commit and the final commit each give a segment"
    assert segments[0].words[0].text == "alpha" and segments[0].words[0].start == 0.0
    assert segments[0].words[0].confidence == pytest.approx(0.951, abs=0.001)
    assert all(word.text.strip() for s in segments for word in s.words), "spacing entries leaked into words"
    assert segments[1].start >= segments[0].end, "the second segment starts before the first ended"


async def test_it_commits_with_an_empty_chunk_and_commit_true() -> None:
    async with FakeElevenLabs() as fake:
        await stream(session(fake), speech(), commit_after={5})
    commits = [m for m in sent_chunks(fake) if m["commit"]]
    assert commits[0] == {
        "message_type": "input_audio_chunk",
        "audio_base_64": "",
        "commit": True,
        "sample_rate": 16000,
    }
    assert len(commits) == 2, "one manual commit and one at the end of audio"


async def test_it_resamples_and_mu_law_encodes_for_ulaw_8000() -> None:
    pcm = speech()
    async with FakeElevenLabs() as fake:
        events = await stream(session(fake, audio_format="ulaw_8000"), pcm)
    fake.assert_clean()
    assert fake.queries[0]["audio_format"] == "ulaw_8000"
    assert sent_chunks(fake)[0]["sample_rate"] == 8000
    heard = mulaw_decode(b"".join(fake.audio))
    expected = resample(pcm, 16000, 8000)
    assert abs(len(heard) - len(expected)) <= 4
    assert committed(events)


async def test_it_resamples_other_client_rates_to_the_vendor_rate() -> None:
    pcm48 = resample(speech(), 16000, 48000)
    async with FakeElevenLabs() as fake:
        await stream(session(fake, sample_rate=48000), pcm48, chunk=9600)
    fake.assert_clean()
    assert abs(len(b"".join(fake.audio)) - len(speech())) <= 64


async def test_it_fails_over_to_the_next_key_when_the_first_is_refused() -> None:
    async with FakeElevenLabs(keys=["good-key"]) as fake:
        events = await stream(session(fake, "revoked-key", "good-key"), speech())
    reports = key_reports(events)
    assert [r.ref for r in reports] == [1, 2]
    assert "rejected the API key" in reports[0].refused and reports[1].refused == ""
    assert fake.requests[1].headers["xi-api-key"] == "good-key"
    assert committed(events) and not errors(events)


async def test_it_fails_over_on_a_quota_error_mid_stream_and_loses_no_audio() -> None:
    pcm = speech()
    faults = Faults(error_after_chunks=4, error_type="quota_exceeded")
    async with FakeElevenLabs(faults=faults, keys=["first", "second"]) as fake:
        events = await stream(session(fake, "first", "second"), pcm)
    assert [r.ref for r in key_reports(events)] == [1, 1, 2]
    assert "quota" in key_reports(events)[1].refused
    assert fake.audio[1] == pcm, "the second key's connection did not get the whole uncommitted audio"
    assert not errors(events)


async def test_it_ends_with_a_fatal_error_when_every_key_is_refused() -> None:
    async with FakeElevenLabs(keys=["other"]) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, "bad-1", "bad-2").open()
    assert raised.value.code == "provider_auth_failed" and raised.value.fatal
    assert "No other ElevenLabs key" in raised.value.message
    assert "bad-1" not in raised.value.message and "bad-2" not in raised.value.message


@pytest.mark.parametrize("error_type", sorted(ERRORS))
async def test_it_maps_every_error_type_to_our_code(error_type: str) -> None:
    action, code, _ = ERRORS[error_type]
    faults = Faults(error_after_chunks=3, error_type=error_type, extra={"error_times": 99})
    async with FakeElevenLabs(faults=faults) as fake:
        events = await stream(session(fake), speech())
    failures = errors(events)
    if action == "key":
        assert key_reports(events)[-1].refused, f"{error_type} did not mark the key as refused"
    assert failures and failures[-1].code == (code if action != "key" else failures[-1].code)
    assert failures[-1].fatal
    if action != "key":
        assert failures[-1].code == code


async def test_commit_throttled_is_a_warning_not_the_end() -> None:
    faults = Faults(error_after_chunks=3, error_type="commit_throttled", extra={"error_closes": False})
    async with FakeElevenLabs(faults=faults) as fake:
        events = await stream(session(fake), speech())
    warning = errors(events)[0]
    assert warning.code == "provider_commit_throttled" and not warning.fatal
    assert committed(events), "the session did not go on after the warning"


async def test_it_reconnects_after_a_drop_and_replays_what_was_not_committed() -> None:
    pcm = speech() + speech()
    async with FakeElevenLabs(faults=Faults(drop_after_chunks=40), script=SCRIPT) as fake:
        events = await stream(session(fake), pcm, commit_after={30})
    fake.assert_clean()
    assert fake.connections == 2
    first, second = fake.audio
    assert first == pcm[: 40 * 3200], "the first connection got audio past the drop"
    assert second == pcm[30 * 3200 :], "the replay did not start at the last commit"
    assert sent_chunks(fake, 1)[0]["previous_text"], "the reconnect did not carry the last committed text"
    assert "previous_text" not in sent_chunks(fake, 1)[1]
    segments = committed(events)
    assert len(segments) == 2 and not errors(events)
    assert segments[1].start == pytest.approx(3.0, abs=0.01), "replayed words are not on the recording's timeline"


async def test_it_survives_a_slow_vendor() -> None:
    async with FakeElevenLabs(faults=Faults(reply_delay=0.05), script=SCRIPT) as fake:
        events = await stream(session(fake), speech())
    assert text_of(events).startswith("alpha")


async def test_in_manual_mode_it_commits_in_a_pause_before_the_vendor_would_cut_a_word() -> None:
    talk = (speech() + silence(0.6)) * 40  # about 2.5 minutes of speech with short pauses
    async with FakeElevenLabs() as fake:
        events = await stream(session(fake), talk)
    fake.assert_clean()
    assert fake.auto_commits == 0, "the vendor's 90 s auto-commit fired"
    commits = [i for i, m in enumerate(sent_chunks(fake)) if m["commit"]]
    assert len(commits) >= 5
    for segment in committed(events)[:-1]:
        assert 19 <= segment.end - segment.start <= 81


async def test_the_secret_never_reaches_errors_or_logs(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeElevenLabs(keys=["other"]) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, "sk_live_topsecret").open()
    assert "topsecret" not in raised.value.message
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
    assert "topsecret" not in " ".join(ours)
    assert "topsecret" not in json.dumps([str(m) for m in fake.sent[0]])


async def test_the_servers_vad_tuning_and_logging_choice_reach_the_query() -> None:
    async with FakeElevenLabs() as fake:
        tuned = ElevenLabsSession(
            SessionConfig(commit_strategy="vad"),
            keys("test-key"),
            fake.http_url,
            retry=FAST_RETRY,
            query={"vad_threshold": "0.6", "min_speech_duration_ms": "120", "enable_logging": False},
        )
        await stream(tuned, speech())
    fake.assert_clean()
    assert fake.queries[0]["vad_threshold"] == "0.6"
    assert fake.queries[0]["min_speech_duration_ms"] == "120"
    assert fake.queries[0]["enable_logging"] == "false"
