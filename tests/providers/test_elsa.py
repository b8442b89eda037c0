"""The ELSA adapters (streaming and REST) against the protocol-faithful fake (tests/fakes/elsa.py).

The fake judges audio per 0.5 s WAV frame: a frame with a loud sample is speech. Scripted, a word
of the sentence is heard per 0.25 s of speech; unscripted, each speech frame adds a `script` word.
"""

from __future__ import annotations

import json
import logging

import pytest

from speechsite.lib.audio import resample, wav_header
from speechsite.providers import registry
from speechsite.providers.base import Assessment, Endpoint, Notice, ProviderError, SessionConfig
from speechsite.providers.elsa import ElsaSession
from speechsite.providers.elsa_rest import ScoringFailed, score_file
from speechsite.providers.remote import RetryPolicy
from tests.fakes.base import Faults
from tests.fakes.elsa import SCRIPTED_WS, UNSCRIPTED_WS, FakeElsa
from tests.fakes.elsa_content import parse_wav
from tests.providers.remote_support import FAST_RETRY, errors, key_reports, keys, partials, silence, stream

RATE = 16000
BLOCK = RATE  # bytes in 0.5 s of 16 kHz PCM16
SENTENCE = "pizza party"
END = {"type": "ELSA:end_stream"}


def talk(seconds: float, rate: int = RATE) -> bytes:
    return b"\xe8\x03" * int(rate * seconds)


def session(fake: FakeElsa, *secrets: str, retry: RetryPolicy = FAST_RETRY, api_plan: str = "standard", **config):
    config = {"mode": "assess", "expected_text": SENTENCE, **config}
    return ElsaSession(
        SessionConfig(**config), keys(*(secrets or ("test-key",))), fake.http_url, retry=retry, api_plan=api_plan
    )


def frames(fake: FakeElsa, connection: int = 0) -> list[bytes]:
    return [m for m in fake.received[connection] if isinstance(m, bytes)]


def assessments(events: list) -> list[Assessment]:
    return [e for e in events if isinstance(e, Assessment)]


def the_assessment(events: list) -> Assessment:
    found = assessments(events)
    assert len(found) == 1, f"expected one assessment in {events!r:.300}"
    return found[0]


# --- scripted streaming ------------------------------------------------------------------------


async def test_it_opens_the_scripted_stream_with_the_elsa_authorization_header() -> None:
    async with FakeElsa(keys=("elsa-secret-1",)) as fake:
        events = await stream(session(fake, "elsa-secret-1"), talk(1.0))
    fake.assert_clean()
    assert fake.requests[0].path == SCRIPTED_WS and fake.auth == ["ELSA elsa-secret-1"]
    info = {"api_plan": "standard", "sentence": SENTENCE}
    assert fake.received[0][0] == {"type": "ELSA:start_stream", "data": {"stream_info": info}}
    assert the_assessment(events) and not errors(events)


async def test_it_sends_half_second_standalone_wav_files_then_end_stream() -> None:
    pcm = talk(1.2)
    async with FakeElsa() as fake:
        await stream(session(fake), pcm)
    fake.assert_clean()
    sent = [parse_wav(frame) for frame in frames(fake)]
    assert all(rate == RATE and channels == 1 for _, _, channels, rate in sent)
    assert [len(p) for p, *_ in sent] == [BLOCK, BLOCK, len(pcm) - 2 * BLOCK], "0.5 s files, then the rest"
    assert b"".join(p for p, *_ in sent) == pcm
    assert fake.received[0][-1] == END and fake.streams[0].end_stream


async def test_it_maps_the_result_to_words_and_phonemes() -> None:
    async with FakeElsa() as fake:
        events = await stream(session(fake), talk(1.0))
    assessment = the_assessment(events)
    utterance = fake.sent[0][-2]["data"]["utterance"][0]
    assert assessment.overall == utterance["nativeness_score"] and assessment.fluency == utterance["fluency_score"]
    assert assessment.completeness == 100.0 and assessment.expected_text == SENTENCE
    pizza = assessment.words[0]
    assert (pizza.text, pizza.start, pizza.end) == ("pizza", None, None), "ELSA's indices are characters, not times"
    assert [(p.symbol, p.ipa) for p in pizza.phonemes] == [("P", "p"), ("IH", "ɪ"), ("Z", "z"), ("AE", "æ")]  # noqa: RUF001
    assert pizza.decision == utterance["words"][0]["decision"]
    assert assessment.provider_raw["utterance"][0]["words"][0]["start_index"] == 0


async def test_it_keeps_decision_strings_it_does_not_know() -> None:
    async with FakeElsa(decisions=("spot-on!", "hmm", "nope ✗")) as fake:
        events = await stream(session(fake), talk(1.0))
    assessment = the_assessment(events)
    seen = {assessment.details["decision"]} | {w.decision for w in assessment.words}
    seen |= {p.decision for w in assessment.words for p in w.phonemes}
    assert seen <= {"spot-on!", "hmm", "nope ✗"} and len(seen) >= 2


async def test_it_turns_stopped_listening_into_an_endpoint_and_stops_sending() -> None:
    pcm = talk(1.0) + silence(1.0) + talk(3.0)
    async with FakeElsa(endpoint_silence=1.0) as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    kinds = [type(e).__name__ for e in events if type(e).__name__ != "KeyReport"]
    assert kinds == ["Endpoint", "Assessment"]
    assert len(frames(fake)) <= 4 + 2, "audio kept flowing after ELSA stopped listening"
    assert not fake.streams[0].end_stream, "the result came without it"
    assert not errors(events)


async def test_it_yields_partial_transcripts_only_when_partial_results_carry_text() -> None:
    async with FakeElsa(partial_every=2) as fake:
        with_text = await stream(session(fake), talk(2.0))
    async with FakeElsa(partial_every=2, partial_text=False) as fake:
        without = await stream(session(fake), talk(2.0))
    assert partials(with_text) == ["pizza party", "pizza party"] and partials(without) == []
    assert the_assessment(with_text) and the_assessment(without)


async def test_it_shows_warnings_as_notices() -> None:
    async with FakeElsa(warning="Audio level is low") as fake:
        events = await stream(session(fake), talk(1.0))
    assert [e.message for e in events if isinstance(e, Notice)] == ["ELSA: Audio level is low"]
    assert the_assessment(events)


async def test_it_resamples_48k_audio_into_16k_wav_files() -> None:
    pcm = resample(talk(2.0), RATE, 48000)
    async with FakeElsa() as fake:
        events = await stream(session(fake, sample_rate=48000), pcm, chunk=9600)
    fake.assert_clean()
    assert abs(fake.streams[0].seconds - 2.0) < 0.01 and the_assessment(events)


async def test_it_refuses_transcribe_mode_before_connecting() -> None:
    async with FakeElsa() as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, mode="transcribe").open()
    assert raised.value.code == "assess_only" and "cannot transcribe" in raised.value.message
    assert fake.requests == []


def test_it_refuses_an_unknown_api_plan() -> None:
    with pytest.raises(ProviderError) as raised:
        ElsaSession(SessionConfig(mode="assess"), keys("k"), "http://127.0.0.1:1", api_plan="gold")
    assert raised.value.code == "invalid_option"


@pytest.mark.parametrize("status", [401, 403])
async def test_it_fails_over_when_the_handshake_refuses_a_key(status: int) -> None:
    async with FakeElsa(keys=("good-key",), forbidden=("revoked-key",) if status == 403 else ()) as fake:
        events = await stream(session(fake, "revoked-key", "good-key"), talk(1.0))
    reports = key_reports(events)
    assert [r.ref for r in reports] == [1, 2] and "ELSA rejected the key" in reports[0].refused
    assert reports[1].refused == "" and fake.auth[1] == "ELSA good-key"
    assert the_assessment(events) and not errors(events)


async def test_it_ends_with_a_fatal_error_when_every_key_is_refused() -> None:
    async with FakeElsa(keys=("other",)) as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake, "a", "b").open()
    assert raised.value.code == "provider_auth_failed" and "No other ELSA key" in raised.value.message


async def test_it_fails_over_when_an_error_message_says_the_token_is_bad() -> None:
    async with FakeElsa(keys=("first", "second"), start_error="Invalid token", error_times=1) as fake:
        events = await stream(session(fake, "first", "second"), talk(1.0))
    assert [bool(r.refused) for r in key_reports(events)] == [True, False]
    assert the_assessment(events) and not errors(events)


async def test_it_ends_on_an_error_about_the_request() -> None:
    async with FakeElsa(start_error="Invalid sentence: too long") as fake:
        with pytest.raises(ProviderError) as raised:
            await session(fake).open()
    assert raised.value.code == "provider_rejected_request" and "too long" in raised.value.message
    assert fake.connections == 1


async def test_it_retries_a_server_error_and_replays_the_whole_utterance() -> None:
    pcm = talk(2.0)
    faults = Faults(error_after_chunks=3, error_type="Internal server error")
    async with FakeElsa(faults=faults, error_times=1) as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    assert fake.connections == 2 and bytes(fake.streams[1].pcm) == pcm
    assert the_assessment(events) and not errors(events)


async def test_it_reports_repeated_server_errors_with_our_code() -> None:
    async with FakeElsa(faults=Faults(error_after_chunks=1, error_type="Decoder crashed")) as fake:
        events = await stream(session(fake), talk(2.0))
    failure = errors(events)[-1]
    assert failure.fatal and failure.code == "provider_error" and "Decoder crashed" in failure.message
    assert not assessments(events)


async def test_it_reconnects_after_a_drop_and_replays_all_the_audio() -> None:
    pcm = talk(2.5)
    async with FakeElsa(faults=Faults(drop_after_chunks=3)) as fake:
        events = await stream(session(fake), pcm)
    fake.assert_clean()
    assert fake.connections == 2
    assert bytes(fake.streams[0].pcm) == pcm[: 3 * BLOCK]
    assert bytes(fake.streams[1].pcm) == pcm, "ELSA scores the whole utterance: all of it goes again"
    assert fake.received[1][0]["type"] == "ELSA:start_stream", "a new stream starts on the new socket"
    assert [r.refused for r in key_reports(events)] == ["", ""], "a drop must not count against the key"
    assert the_assessment(events).completeness == 100.0 and not errors(events)


async def test_it_asks_for_the_result_at_once_after_a_drop_that_followed_the_endpoint() -> None:
    async with FakeElsa(endpoint_after=1.0, drop_at_endpoint=True) as fake:
        events = await stream(session(fake), talk(3.0))
    assert fake.connections == 2 and frames(fake, 1)[:2] == frames(fake, 0)[:2]
    assert len(frames(fake, 1)) < 6, "audio after the endpoint (bar frames in flight) is not sent again"
    assert END in fake.received[1], "the utterance was over: end_stream follows the replay"
    assert sum(isinstance(e, Endpoint) for e in events) == 1 and the_assessment(events) and not errors(events)


# --- unscripted streaming ----------------------------------------------------------------------


async def test_it_streams_unscripted_with_a_typeless_config_and_an_inline_result() -> None:
    async with FakeElsa() as fake:
        events = await stream(session(fake, expected_text=""), talk(1.5))
    fake.assert_clean()
    assert fake.requests[0].path == UNSCRIPTED_WS
    assert fake.received[0][0] == {"api_plan": "standard", "return_json": True}
    assert fake.received[0][-1] == END
    assessment = the_assessment(events)
    assert assessment.transcript == "hello world this" and assessment.details["kind"] == "unscripted"
    assert assessment.details["stream_id"] == "fake-stream-0" and fake.http == [], "inline: no download"


async def test_it_takes_a_result_merged_into_the_success_message() -> None:
    async with FakeElsa(inline="self") as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert the_assessment(events).transcript == "hello world" and fake.http == []


async def test_it_downloads_the_result_link_with_the_key() -> None:
    async with FakeElsa(inline=None, keys=("k1",)) as fake:
        events = await stream(session(fake, "k1", expected_text=""), talk(1.0))
    assert the_assessment(events).transcript == "hello world"
    assert fake.http[0].path == "/fake/results/fake-stream-0" and fake.http[0].headers["authorization"] == "ELSA k1"


async def test_it_never_sends_the_key_to_a_result_link_elsewhere() -> None:
    async with FakeElsa(inline=None, link_host="localhost", link_auth=False) as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert the_assessment(events) and "authorization" not in fake.http[0].headers


async def test_it_retries_the_result_download() -> None:
    async with FakeElsa(inline=None, link_failures=(503,)) as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert the_assessment(events) and [r.status for r in fake.http] == [503, 200]


async def test_it_reports_a_result_link_that_leads_nowhere() -> None:
    async with FakeElsa(inline=None, link_failures=(404,)) as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert errors(events)[-1].code == "elsa_no_result" and not assessments(events)


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [("failed", "elsa_failed", "could not score"), ("bad_quality", "elsa_bad_quality", "audio quality")],
)
async def test_it_shows_why_elsa_failed(status: str, code: str, words: str) -> None:
    async with FakeElsa(final_status=status, reason="Speech is not English") as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    failure = errors(events)[-1]
    assert failure.code == code and failure.fatal
    assert words in failure.message and failure.message.endswith(": Speech is not English")
    assert fake.connections == 1, "ELSA's verdict is not retried"


async def test_it_handles_every_other_status_without_crashing() -> None:
    async with FakeElsa(statuses=("accepted", "paused", "mystery"), partial_error="too_short") as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert [e.message for e in events if isinstance(e, Notice)] == ["ELSA paused processing this stream."]
    details = the_assessment(events).details
    assert details["statuses"] == ["mystery"] and details["partial_error"] == "too_short"
    assert not errors(events)


async def test_it_ignores_a_ws_connect_on_the_unscripted_endpoint() -> None:
    async with FakeElsa(unscripted_ws_connect=True) as fake:
        events = await stream(session(fake, expected_text=""), talk(1.0))
    assert the_assessment(events) and not errors(events)


async def test_it_replays_the_whole_unscripted_attempt_after_a_drop() -> None:
    pcm = talk(2.0)
    async with FakeElsa(faults=Faults(drop_after_chunks=2)) as fake:
        events = await stream(session(fake, expected_text=""), pcm)
    assert fake.connections == 2 and bytes(fake.streams[1].pcm) == pcm and the_assessment(events)


# --- secrets -----------------------------------------------------------------------------------


async def test_the_secret_never_reaches_errors_or_logs(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeElsa(keys=("other",), rest_failures=(503,) * 3) as fake:
        with pytest.raises(ProviderError) as streaming:
            await session(fake, "elsa_live_topsecret").open()
        with pytest.raises(ProviderError) as rest:
            await score_file(
                wav(talk(0.5)), "a.wav", SENTENCE, keys("elsa_live_topsecret"), fake.http_url, retry=FAST_RETRY
            )
    assert "topsecret" not in streaming.value.message + rest.value.message
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
    assert "topsecret" not in " ".join(ours)
    assert "topsecret" not in json.dumps(fake.sent)


# --- REST --------------------------------------------------------------------------------------


def wav(pcm: bytes) -> bytes:
    return wav_header(RATE, len(pcm)) + pcm


async def test_it_scores_a_scripted_file_over_rest() -> None:
    audio = wav(talk(1.0))
    async with FakeElsa() as fake:
        events = await score_file(audio, "attempt.wav", SENTENCE, keys("test-key"), fake.http_url, api_plan="premium")
    [report, assessment] = events
    assert report.ref == 1 and report.refused == "" and assessment.words[0].text == "pizza"
    post = fake.http[0]
    assert (post.path, post.headers["authorization"]) == ("/api/v2/score_audio", "ELSA test-key")
    assert post.fields == {"sentence": SENTENCE, "api_plan": "premium"}
    assert post.files["audio_file"] == ("attempt.wav", "audio/wav", audio)


@pytest.mark.parametrize("style", ["result", "status", "link"])
async def test_it_scores_an_unscripted_file_over_rest(style: str) -> None:
    async with FakeElsa(rest_plus_style=style) as fake:
        events = await score_file(wav(talk(1.0)), "a.wav", "", keys("test-key"), fake.http_url)
    assert events[-1].transcript == "hello world"
    assert fake.http[0].path == "/api/v1/score_audio_plus"
    assert fake.http[0].fields == {"api_plan": "standard", "return_json": "true"}


async def test_it_fails_over_to_the_next_key_over_rest() -> None:
    async with FakeElsa(keys=("good",)) as fake:
        events = await score_file(wav(talk(0.5)), "a.wav", SENTENCE, keys("bad", "good"), fake.http_url)
    assert [(r.ref, bool(r.refused)) for r in events[:2]] == [(1, True), (2, False)]
    assert "(401)" in events[0].refused and isinstance(events[2], Assessment)


async def test_it_keeps_the_reports_when_every_key_is_refused_over_rest() -> None:
    async with FakeElsa(keys=("good",)) as fake:
        with pytest.raises(ScoringFailed) as raised:
            await score_file(wav(talk(0.5)), "a.wav", SENTENCE, keys("bad", "worse"), fake.http_url)
    assert raised.value.code == "provider_auth_failed" and [r.ref for r in raised.value.reports] == [1, 2]


async def test_it_retries_5xx_and_429_over_rest() -> None:
    async with FakeElsa(rest_failures=(503, 429)) as fake:
        events = await score_file(wav(talk(0.5)), "a.wav", SENTENCE, keys("test-key"), fake.http_url, retry=FAST_RETRY)
    assert [r.status for r in fake.http] == [503, 429, 200] and isinstance(events[-1], Assessment)


async def test_it_gives_up_after_bounded_retries_over_rest() -> None:
    async with FakeElsa(rest_failures=(502,) * 9) as fake:
        with pytest.raises(ProviderError) as raised:
            await score_file(wav(talk(0.5)), "a.wav", SENTENCE, keys("test-key"), fake.http_url, retry=FAST_RETRY)
    assert raised.value.code == "provider_unreachable" and len(fake.http) == FAST_RETRY.tries


@pytest.mark.parametrize(
    ("fake_options", "audio", "code", "words"),
    [
        ({"rest_status": 404}, None, "provider_not_found", "404"),
        ({}, b"ID3 not a wav", "provider_rejected_request", "not a WAV file"),
    ],
)
async def test_it_explains_what_elsa_refused_over_rest(fake_options, audio, code, words) -> None:
    async with FakeElsa(**fake_options) as fake:
        with pytest.raises(ProviderError) as raised:
            await score_file(audio or wav(talk(0.5)), "a.mp3", SENTENCE, keys("test-key"), fake.http_url)
    assert raised.value.code == code and words in raised.value.message
    assert fake.http[0].files.get("audio_file", ("", "audio/mpeg"))[1] == "audio/mpeg"


# --- registry ----------------------------------------------------------------------------------


def test_the_registry_starts_an_elsa_session_with_the_configured_plan(settings) -> None:
    settings.PROVIDER_OPTIONS = {**settings.PROVIDER_OPTIONS, "elsa": {"api_plan": "premium"}}
    created = registry.create_session("elsa", SessionConfig(mode="assess", expected_text="hi"), keys("k"))
    caps = registry.capabilities("elsa")
    assert isinstance(created, ElsaSession) and created.api_plan == "premium"
    assert caps.assess and caps.needs_key and not caps.manual_commit and caps.sample_rates == (16000,)


async def test_an_endpoint_is_one_event_and_later_audio_is_harmless() -> None:
    async with FakeElsa(endpoint_after=1.0) as fake:
        events = await stream(session(fake), talk(3.0))
    assert sum(isinstance(e, Endpoint) for e in events) == 1 and the_assessment(events) and not errors(events)
