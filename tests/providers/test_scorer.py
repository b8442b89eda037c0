"""The local pronunciation scorer on synthetic speech (flite voices) with known texts."""

# ruff: noqa: RUF001 -- IPA symbols and typographic apostrophes are the point here

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from speechsite.providers.base import Assessment, ProviderError
from speechsite.providers.local.scorer import Scorer

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
FOX = "the quick brown fox jumps over the lazy dog"


def pcm(name: str) -> bytes:
    with wave.open(str(AUDIO / f"{name}.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def text_of(name: str) -> str:
    for line in (AUDIO / "index.tsv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == name:
            return fields[2]
    raise KeyError(name)


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


@pytest.fixture(scope="module")
def fox(scorer: Scorer) -> Assessment:
    return scorer.assess(pcm("fox_slt"), FOX)


def all_scores(assessment: Assessment) -> list[float]:
    scores = [assessment.overall, assessment.accuracy, assessment.fluency, assessment.completeness]
    for word in assessment.words:
        scores.append(word.score)
        scores.extend(p.score for p in word.phonemes)
    return scores


def test_it_scores_a_correct_reading_high(fox: Assessment) -> None:
    assert fox.accuracy >= 70
    assert fox.overall >= 70
    assert fox.completeness == 100
    assert all(w.found for w in fox.words)
    assert sum(w.score for w in fox.words) / len(fox.words) >= 70


@pytest.mark.parametrize("name", ["birch_rms", "rice_slt", "juice_awb", "weather_kal"])
def test_it_scores_other_correct_readings_high(scorer: Scorer, name: str) -> None:
    assessment = scorer.assess(pcm(name), text_of(name))
    assert assessment.accuracy >= 65
    assert assessment.completeness == 100


def test_a_substituted_word_gets_the_lowest_word_score(scorer: Scorer, fox: Assessment) -> None:
    cat = scorer.assess(pcm("cat_slt"), FOX)  # the audio says "cat" where "fox" is expected
    scores = [w.score for w in cat.words]
    assert cat.words[3].text == "fox"
    assert cat.words[3].score == min(scores)
    assert cat.words[3].score < 60
    assert cat.words[3].score < fox.words[3].score - 20


def test_an_omitted_word_lowers_completeness_and_is_marked_not_found(scorer: Scorer, fox: Assessment) -> None:
    missing = scorer.assess(pcm("no_lazy_slt"), FOX)  # the audio leaves out "lazy"
    lazy = missing.words[7]
    assert lazy.text == "lazy"
    assert lazy.found is False
    assert missing.completeness < fox.completeness
    assert missing.completeness == pytest.approx(100 * 8 / 9, abs=0.1)
    assert [w.text for w in missing.words] == FOX.split()
    assert all(w.found for i, w in enumerate(missing.words) if i != 7)


def test_words_missing_at_the_end_are_not_found(scorer: Scorer) -> None:
    longer = scorer.assess(pcm("fox_slt"), FOX + " and then runs away")
    assert [w.found for w in longer.words[-4:]] == [False] * 4
    assert all(w.found for w in longer.words[:9])
    assert longer.completeness < 75


def test_the_wrong_sentence_scores_far_below_the_right_one(scorer: Scorer, fox: Assessment) -> None:
    wrong = scorer.assess(pcm("birch_rms"), FOX)
    assert wrong.accuracy < fox.accuracy - 20
    assert wrong.overall < fox.overall - 20


@pytest.mark.parametrize("name", ["silence", "noise"])
def test_silence_and_noise_are_no_speech(scorer: Scorer, name: str) -> None:
    with pytest.raises(ProviderError) as raised:
        scorer.assess(pcm(name), FOX)
    assert raised.value.code == "no_speech"
    assert raised.value.fatal is False
    assert "speech" in raised.value.message.lower()


def test_an_empty_recording_is_no_speech(scorer: Scorer) -> None:
    with pytest.raises(ProviderError) as raised:
        scorer.assess(b"", FOX)
    assert raised.value.code == "no_speech"


@pytest.mark.parametrize("text", ["", "   ", "?!", "... — ..."])
def test_text_without_words_is_nothing_to_assess(scorer: Scorer, text: str) -> None:
    with pytest.raises(ProviderError) as raised:
        scorer.assess(pcm("fox_slt"), text)
    assert raised.value.code == "nothing_to_assess"
    assert raised.value.fatal is False


def test_words_keep_the_typed_spelling_without_punctuation(scorer: Scorer) -> None:
    typed = "The QUICK, brown fox... jumps over the lazy dog!"
    assessment = scorer.assess(pcm("fox_slt"), typed)
    assert [w.text for w in assessment.words] == ["The", "QUICK", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    assert assessment.expected_text == typed
    assert assessment.accuracy >= 65


def test_unknown_words_get_a_generated_pronunciation_and_do_not_crash(scorer: Scorer) -> None:
    assessment = scorer.assess(pcm("fox_slt"), "the zorblax brown fox jumps over the lazy dog")
    assert [w.text for w in assessment.words][:2] == ["the", "zorblax"]
    assert assessment.words[1].phonemes
    assert all(p.symbol.isalpha() and p.symbol.isupper() for p in assessment.words[1].phonemes)


@pytest.mark.parametrize(
    "text",
    [
        "It's 42 o'clock, Mr. Smith's café!",
        "don't won't can't shouldn't've",
        "2024 mp3 x y z",
        " ".join([FOX] * 8),  # far longer than the audio
        "a",
    ],
)
def test_odd_text_does_not_crash(scorer: Scorer, text: str) -> None:
    assessment = scorer.assess(pcm("fox_slt"), text)
    assert len(assessment.words) == len(text.replace(",", " ").replace("!", " ").replace(".", " ").split())
    assert all(0 <= s <= 100 for s in all_scores(assessment) if s is not None)


def test_scores_are_0_to_100_with_one_decimal(fox: Assessment) -> None:
    for score in all_scores(fox):
        assert 0 <= score <= 100
        assert round(score, 1) == score


def test_times_are_ordered_and_within_the_recording(fox: Assessment) -> None:
    duration = len(pcm("fox_slt")) / 32000
    previous_end = 0.0
    for word in fox.words:
        assert previous_end <= word.start < word.end <= duration + 0.02
        assert word.phonemes[0].start == word.start
        assert word.phonemes[-1].end == word.end
        for phone in word.phonemes:
            assert phone.start < phone.end
        previous_end = word.end


def test_offset_is_added_to_all_times(scorer: Scorer, fox: Assessment) -> None:
    shifted = scorer.assess(pcm("fox_slt"), FOX, offset=10.0)
    for a, b in zip(fox.words, shifted.words, strict=True):
        assert b.start == pytest.approx(a.start + 10.0)
        assert b.end == pytest.approx(a.end + 10.0)
        assert b.phonemes[0].start == pytest.approx(a.phonemes[0].start + 10.0)
        assert b.score == a.score


def test_phonemes_are_arpabet_without_stress_with_ipa(fox: Assessment) -> None:
    quick = fox.words[1]
    assert [p.symbol for p in quick.phonemes] == ["K", "W", "IH", "K"]
    assert "".join(p.ipa for p in quick.phonemes) == "kwɪk"
    assert all(p.decision in ("good", "fair", "poor") for p in quick.phonemes)


def test_the_same_audio_gives_the_same_assessment(scorer: Scorer, fox: Assessment) -> None:
    scorer.assess(pcm("birch_rms"), text_of("birch_rms"))  # decoder state must not leak between calls
    assert scorer.assess(pcm("fox_slt"), FOX) == fox


def test_details_and_raw_features_are_json_and_modest(fox: Assessment) -> None:
    assert fox.details["speech_rate_wpm"] > 60
    assert fox.details["pause_seconds"] >= 0
    assert fox.details["articulation_rate"] > 3
    raw = json.dumps(fox.provider_raw)
    assert len(raw) < 20_000
    assert len(fox.provider_raw["phones"]) == sum(len(w.phonemes) for w in fox.words)
    json.dumps(fox.details)
