"""ELSA's result JSON (PROTOCOLS.md §4d) in our Assessment schema (speechsite/providers/elsa_results.py)."""

from __future__ import annotations

import copy

import pytest

from speechsite.providers.elsa_results import assessment_from, inline_result, number, status_error

PHONEME = {
    "text": "p", "trans": "p", "trans_arpabet": "P", "start_index": 0, "end_index": 0,
    "nativeness_score": 95.0, "decision": "correct", "feedback": [{"text": "..."}],
}  # fmt: skip
SCRIPTED = {
    "api_version": "2.1",
    "total_time": 3.2,
    "utterance": [
        {
            "initial_silence": True, "sentence": "pizza party", "sentence_id": 0, "total_time": 3.2,
            "has_speech": True, "attempt_type": "RELEVANT", "snr": 25.1, "decision": "opaque-utt",
            "nativeness_score": 82.5, "nativeness_score_partial": 80.0, "ipa": "pitsə parti",
            "intonation_score": 70.0, "fluency_score": 75, "speed_metrics": {"words_per_minute": 110},
            "pronunciation_rate_metrics": {"correct_words_ratio": 0.5},
            "words": [
                {"text": "pizza", "start_index": 0, "end_index": 4, "decision": "w-1", "nativeness_score": 90.0,
                 "phonemes": [PHONEME, {"text": "i", "trans": "i\u02d0", "trans_arpabet": "IY1",
                                        "nativeness_score": 60, "decision": "almost?"}]},
                {"text": "party", "start_index": 6, "end_index": 10, "decision": "w-2", "nativeness_score": 75.0,
                 "phonemes": []},
            ],
        }
    ],
}  # fmt: skip
UNSCRIPTED = {
    "recording_quality": "ok",
    "assessment_quality": "good",
    "transcript": "I like pizza",
    "speakers": [
        {
            "speaker_id": "0",
            "total_time": 42.1,
            "metrics": {
                "general_scores": {
                    "elsa": {"eps_score": 71.0, "eps_decision": "d-eps", "pronunciation_score": 74.0,
                             "pronunciation_decision": "d-pron", "intonation_score": 65.0, "fluency_score": 70.0,
                             "grammar_score": None, "vocabulary_score": None},
                    "cefr": {"overall_cefr": "B2", "pronunciation_cefr": "B2"},
                    "other_scores": {"ielts_score": None, "toefl_score": 90},
                },
                "other_metrics": {"fluency": {"pausing_score": 55, "words_per_minute": 120}},
            },
            "utterances": [{"utterance_id": 0, "text": "I like pizza", "result": {"nativeness_score": 70}}],
            "feedbacks": {"pronunciation": {"top_errors": [{"phoneme": "th", "errors": []}]}},
        }
    ],
}  # fmt: skip


def test_it_maps_scripted_scores() -> None:
    a = assessment_from(SCRIPTED, "pizza party")
    assert (a.overall, a.accuracy, a.fluency, a.completeness) == (82.5, 82.5, 75.0, 100.0)
    assert a.expected_text == "pizza party" and a.transcript == ""
    assert a.provider_raw == SCRIPTED


def test_it_maps_words_and_phonemes_without_inventing_times() -> None:
    pizza, party = assessment_from(SCRIPTED, "pizza party").words
    assert (pizza.text, pizza.score, pizza.start, pizza.end, pizza.decision) == ("pizza", 90.0, None, None, "w-1")
    assert [(p.symbol, p.ipa, p.score, p.decision) for p in pizza.phonemes] == [
        ("P", "p", 95.0, "correct"),
        ("IY", "i\u02d0", 60.0, "almost?"),
    ]
    assert pizza.phonemes[0].start is None and party.phonemes == ()


def test_it_keeps_scripted_details() -> None:
    details = assessment_from(SCRIPTED, "pizza party").details
    assert details["kind"] == "scripted" and details["decision"] == "opaque-utt"
    assert details["intonation"] == 70.0 and details["attempt_type"] == "RELEVANT"
    assert details["speed_metrics"] == {"words_per_minute": 110}
    assert details["pronunciation_rate_metrics"] == {"correct_words_ratio": 0.5}
    assert details["snr"] == 25.1 and details["api_version"] == "2.1" and details["initial_silence"] is True


def test_it_prefers_the_v3_pronunciation_score_for_overall() -> None:
    v3 = copy.deepcopy(SCRIPTED)
    v3["utterance"][0] |= {"pronunciation_score": 88.0, "recording_quality": "good"}
    a = assessment_from(v3, "pizza party")
    assert (a.overall, a.accuracy) == (88.0, 82.5) and a.details["recording_quality"] == "good"
    del v3["utterance"][0]["nativeness_score"]
    assert assessment_from(v3, "pizza party").accuracy == 88.0


def test_an_unspoken_attempt_is_zero_complete() -> None:
    unspoken = copy.deepcopy(SCRIPTED)
    unspoken["utterance"][0]["attempt_type"] = "UNSPOKEN"
    a = assessment_from(unspoken, "pizza party")
    assert a.completeness == 0.0 and not any(w.found for w in a.words)


def test_it_counts_unscored_words_as_not_heard() -> None:
    partial = copy.deepcopy(SCRIPTED)
    partial["utterance"][0]["words"][1]["nativeness_score"] = None
    a = assessment_from(partial, "pizza party")
    assert a.completeness == 50.0 and [w.found for w in a.words] == [True, False]


def test_it_survives_nulls_and_missing_fields() -> None:
    sparse = {"utterance": [{"words": [{"text": "hi", "phonemes": [{"text": "h", "decision": None}]}, None]}]}
    a = assessment_from(sparse, "hi")
    assert (a.overall, a.accuracy, a.fluency) == (None, None, None)
    assert a.words[0].phonemes[0].symbol == "HH" and a.words[0].decision == ""
    nothing = assessment_from({"utterance": None}, "hi")
    assert nothing.words == () and nothing.completeness is None and nothing.expected_text == "hi"
    assert assessment_from({"utterance": []}, "hi").details == {"kind": "scripted"}


def test_it_ignores_unknown_keys_and_keeps_them_raw() -> None:
    extended = copy.deepcopy(SCRIPTED)
    extended["brand_new"] = {"x": 1}
    extended["utterance"][0]["stress"] = [{"mystery": True}]
    a = assessment_from(extended, "pizza party")
    assert a.overall == 82.5 and a.provider_raw["brand_new"] == {"x": 1}


def test_it_maps_an_unscripted_result() -> None:
    a = assessment_from(UNSCRIPTED)
    assert (a.overall, a.accuracy, a.fluency) == (71.0, 74.0, 70.0)
    assert a.transcript == "I like pizza" and a.completeness is None and a.words == ()
    d = a.details
    assert d["kind"] == "unscripted" and d["cefr"] == {"overall_cefr": "B2", "pronunciation_cefr": "B2"}
    assert d["decisions"] == {"eps_decision": "d-eps", "pronunciation_decision": "d-pron"}
    assert "grammar_score" not in d["scores"], "null scores (too little audio) are left out"
    assert d["other_scores"] == {"toefl_score": 90} and d["intonation"] == 65.0
    assert d["speed_metrics"] == {"pausing_score": 55, "words_per_minute": 120}
    assert d["recording_quality"] == "ok" and d["assessment_quality"] == "good"
    assert d["top_errors"] == [{"phoneme": "th", "errors": []}] and d["transcript"] == "I like pizza"


def test_it_survives_an_empty_unscripted_result() -> None:
    a = assessment_from({"transcript": None, "speakers": [None]})
    assert (a.overall, a.transcript, a.details) == (None, "", {"kind": "unscripted"})


def test_extra_details_join_and_partial_error_is_kept() -> None:
    a = assessment_from(UNSCRIPTED, "", {"partial_error": "too_short", "statuses": [], "stream_id": None})
    assert a.details["partial_error"] == "too_short" and "statuses" not in a.details


@pytest.mark.parametrize(("value", "expected"), [(5, 5.0), ("7.5", 7.5), (True, None), ("n/a", None), (None, None)])
def test_scores_must_be_numbers(value, expected) -> None:
    assert number(value) == expected


def test_a_status_message_may_carry_its_result_inline() -> None:
    assert inline_result({"status": "success", "result": UNSCRIPTED}) is UNSCRIPTED
    merged = {"status": "success", **UNSCRIPTED}
    assert inline_result(merged) is merged
    assert inline_result({"status": "success", "result_link": "x", "result": {}}) is None


@pytest.mark.parametrize(
    ("message", "code", "text"),
    [
        ({"status": "failed", "reason": "No speech"}, "elsa_failed", "ELSA could not score the recording: No speech"),
        ({"status": "bad_quality"}, "elsa_bad_quality", "because of its audio quality."),
    ],
)
def test_failures_keep_elsas_reason(message, code, text) -> None:
    error = status_error(message)
    assert error.code == code and error.message.endswith(text)
