"""Scripted pronunciation assessment with pocketsphinx: forced alignment + GOP + fitted models.

The expected text is force-aligned to the audio; every phone gets goodness-of-pronunciation
features against a free phone loop (gop.py); models fitted on expert scores (speechocean762, see
scripts/train_scorer.py) turn them into phone, word and sentence scores on a 0-100 scale. The
models are plain numbers in scorer_params.json, evaluated with numpy (model.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechsite.providers.base import Assessment, PhonemeScore, ProviderError, WordScore
from speechsite.providers.local.alignment import FRAME_RATE, Alignment, AlignmentFailed, PhoneAligner
from speechsite.providers.local.gop import (
    PHONE_FEATURES,
    phone_features,
    sentence_features,
    timing,
    word_features,
)
from speechsite.providers.local.model import predict
from speechsite.providers.local.pronounce import ExpectedWord, Lexicon, expected_words, to_ipa
from speechsite.providers.local.speech import has_speech

PARAMS_PATH = Path(__file__).with_name("scorer_params.json")
SAMPLE_RATE = 16000


@functools.cache
def default_params() -> dict:
    return json.loads(PARAMS_PATH.read_text(encoding="utf-8"))


def decision(score: float) -> str:
    return "good" if score >= 80 else "fair" if score >= 60 else "poor"


@dataclass
class Scored:
    """Every level's predictions for one utterance, on the experts' scales (phone 0-2, others 0-10)."""

    alignment: Alignment
    phone_rows: np.ndarray
    keys: list[tuple[int, int]]
    phone_pred: np.ndarray
    word_rows: np.ndarray
    word_pred: np.ndarray
    found: list[bool]
    sentence_row: np.ndarray
    sentence: dict[str, float]


def score_alignment(alignment: Alignment, n_expected: int, params: dict) -> Scored:
    """Runs the fitted models over one alignment; shared by the runtime and the training script."""
    models = params["models"]
    phone_rows, keys = phone_features(alignment, params)
    phone_pred = predict(models["phone"], phone_rows) if len(phone_rows) else np.zeros(0)
    word_rows = word_features(alignment, phone_rows, keys, phone_pred)
    word_pred = predict(models["word"], word_rows) if len(word_rows) else np.zeros(0)
    found = [False] * n_expected
    cutoff = params.get("found_threshold", 1.0)
    for word, pred in zip(alignment.words, word_pred, strict=True):
        found[word.index] = bool(pred >= cutoff)
    found_frac = sum(found) / max(n_expected, 1)
    # Words the grammar skipped still count in the sentence, at the score such words got from experts.
    every_word = np.full(n_expected, float(params.get("skipped_word_score", 0.0)))
    for word, pred in zip(alignment.words, word_pred, strict=True):
        every_word[word.index] = pred
    row = sentence_features(alignment, phone_rows, phone_pred, every_word, found_frac, n_expected)
    sentence = {name: float(predict(models[name], row[None, :])[0]) for name in ("accuracy", "fluency", "total")}
    return Scored(alignment, phone_rows, keys, phone_pred, word_rows, word_pred, found, row, sentence)


class Scorer:
    """Holds pocketsphinx decoders; one per engine worker process; not thread-safe."""

    def __init__(self, params: dict | None = None) -> None:
        self.params = params or default_params()
        self.lexicon = Lexicon()
        self.aligner = PhoneAligner()

    def assess(self, pcm: bytes, expected_text: str, offset: float = 0.0) -> Assessment:
        words = expected_words(expected_text)
        if not words:
            raise ProviderError("nothing_to_assess", "The expected text has no words to assess.", fatal=False)
        pronunciations = [self.lexicon.phones(w.key) for w in words]
        scored = self.analyze(pcm, words, pronunciations)
        return self._assessment(scored, words, pronunciations, expected_text, offset)

    def analyze(
        self, pcm: bytes, words: list[ExpectedWord], pronunciations: list[tuple[str, ...]], use_variants: bool = True
    ) -> Scored:
        """Alignment and scores; raises ProviderError("no_speech") when there is nothing to score."""
        alignment = self.align(pcm, words, pronunciations, use_variants)
        scored = score_alignment(alignment, len(words), self.params)
        if not any(scored.found) and len(scored.phone_rows):
            agree = float(scored.phone_rows[:, PHONE_FEATURES.index("agree")].mean())
            if agree < self.params.get("no_speech_agree", 0.05):
                raise _no_speech()
        return scored

    def align(
        self, pcm: bytes, words: list[ExpectedWord], pronunciations: list[tuple[str, ...]], use_variants: bool = True
    ) -> Alignment:
        """The decoders' view of the audio (the training script caches this and fits on top of it)."""
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if not has_speech(pcm, SAMPLE_RATE):
            raise _no_speech()
        tokens = [self.aligner.token_for(w.key, p, use_variants) for w, p in zip(words, pronunciations, strict=True)]
        try:
            alignment = self.aligner.align(pcm, tokens, with_loop=self.params.get("phone_loop", True))
        except AlignmentFailed as error:
            raise _no_speech() from error
        if not alignment.words:
            raise _no_speech()
        return alignment

    def _assessment(
        self,
        scored: Scored,
        words: list[ExpectedWord],
        pronunciations: list[tuple[str, ...]],
        expected_text: str,
        offset: float,
    ) -> Assessment:
        aligned = {w.index: w for w in scored.alignment.words}
        display = self.params.get("display", {})
        phone_scores: dict[tuple[int, int], float] = {
            key: _scale(pred, 50.0, display.get("phone"))
            for key, pred in zip(scored.keys, scored.phone_pred, strict=True)
        }
        word_scores = {
            w.index: _scale(p, 10.0, display.get("word"))
            for w, p in zip(scored.alignment.words, scored.word_pred, strict=True)
        }
        results = []
        for index, (word, pronunciation) in enumerate(zip(words, pronunciations, strict=True)):
            found = scored.found[index]
            aligned_word = aligned.get(index)
            if aligned_word is None:
                skipped = _scale(self.params.get("skipped_word_score", 0.0), 10.0, display.get("word"))
                phonemes = tuple(PhonemeScore(p, 0.0, to_ipa([p]), decision="omitted") for p in pronunciation)
                results.append(WordScore(word.text, skipped, None, None, phonemes, "omitted", found=False))
                continue
            phonemes = tuple(
                PhonemeScore(
                    symbol=phone.name,
                    score=phone_scores[(index, position)],
                    ipa=to_ipa([phone.name]),
                    start=_seconds(phone.start, offset),
                    end=_seconds(phone.start + phone.frames, offset),
                    decision=decision(phone_scores[(index, position)]),
                )
                for position, phone in enumerate(aligned_word.phones)
            )
            score = word_scores[index]
            results.append(
                WordScore(
                    text=word.text,
                    score=score,
                    start=_seconds(aligned_word.start, offset),
                    end=_seconds(aligned_word.start + aligned_word.frames, offset),
                    phonemes=phonemes,
                    decision=decision(score) if found else "omitted",
                    found=found,
                )
            )
        completeness = round(100.0 * sum(scored.found) / len(words), 1)
        accuracy = _scale(scored.sentence["accuracy"], 10.0)
        fluency = _scale(scored.sentence["fluency"], 10.0)
        overall = _scale(scored.sentence["total"], 10.0)
        details = timing(scored.alignment)
        return Assessment(
            overall=overall,
            accuracy=accuracy,
            fluency=fluency,
            completeness=completeness,
            words=tuple(results),
            expected_text=expected_text,
            transcript=" ".join(w.text for w, found in zip(words, scored.found, strict=True) if found),
            details=details,
            provider_raw=_raw(scored),
        )


def _no_speech() -> ProviderError:
    message = "No speech was heard in the recording. Please read the sentence aloud."
    return ProviderError("no_speech", message, fatal=False)


def _scale(value: float, factor: float, stretch: list[float] | None = None) -> float:
    """To 0-100; `stretch` (slope, intercept) spreads regressed predictions over the page's bands."""
    scaled = value * factor
    if stretch:
        scaled = stretch[0] * scaled + stretch[1]
    return round(float(np.clip(scaled, 0.0, 100.0)), 1)


def _seconds(frame: int, offset: float) -> float:
    return round(offset + frame / FRAME_RATE, 3)


def _raw(scored: Scored) -> dict:
    """Per-phone GOP features and per-word predictions, rounded to keep the payload small."""
    col = {name: i for i, name in enumerate(PHONE_FEATURES)}
    phones = [
        [key[0], key[1], round(float(row[col["gop"]]), 2), round(float(row[col["agree"]]), 2),
         round(float(row[col["dur_z"]]), 2), round(float(pred), 3)]
        for key, row, pred in zip(scored.keys, scored.phone_rows, scored.phone_pred, strict=True)
    ]  # fmt: skip
    return {
        "phone_columns": ["word", "phone", "gop", "agree", "dur_z", "pred_0_2"],
        "phones": phones,
        "word_pred_0_10": [round(float(p), 3) for p in scored.word_pred],
        "sentence_0_10": {k: round(v, 3) for k, v in scored.sentence.items()},
    }
