"""Goodness-of-pronunciation features at phone, word and sentence level.

A phone's GOP is its forced-alignment score per frame minus the free phone loop's score over the
same frames: near 0 when the expected phone is also what a free recognizer hears, strongly
negative when something else was said. The features feed the fitted models in model.py; the
same functions run at training time (scripts/train_scorer.py) and at run time.
"""

from __future__ import annotations

import numpy as np

from speechsite.providers.local.alignment import FRAME_RATE, Alignment

VOWELS = frozenset(["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"])

PHONE_FEATURES = (
    "gop", "align_pf", "loop_pf", "agree", "log_frames", "dur_z", "phone_prior", "is_vowel",
    "word_gop_mean", "word_gop_min", "utt_gop_mean", "utt_agree_mean", "word_initial", "word_final",
    "word_phones", "gop_prev", "gop_next", "loop_silent", "loop_same_class", "align_rel",
)  # fmt: skip

WORD_FEATURES = (
    "gop_mean", "gop_min", "gop_max", "align_pf", "agree_mean", "agree_min", "log_frames_per_phone",
    "dur_z_abs", "dur_z_mean", "phone_pred_mean", "phone_pred_min", "utt_gop_mean", "utt_phone_pred_mean",
    "n_phones", "frac_bad_phones", "loop_pf", "word_score_pf", "prior_mean",
)  # fmt: skip

SENTENCE_FEATURES = (
    "word_pred_mean", "word_pred_min", "word_pred_p25", "phone_pred_mean", "gop_mean", "gop_p10", "agree_mean",
    "frac_words_poor", "found_frac", "phones_per_second", "articulation_rate", "pause_count", "pause_seconds",
    "long_pauses", "lead_seconds", "dur_z_abs", "n_words", "speech_frac", "log_duration",
)  # fmt: skip


def phone_features(alignment: Alignment, params: dict) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One row per aligned phone, and (word position, phone position) for each row."""
    duration_stats = params.get("durations", {})
    priors = params.get("phone_priors", {})
    raw = []
    for word in alignment.words:
        for position, phone in enumerate(word.phones):
            frames = max(phone.frames, 1)
            span = slice(phone.start, phone.start + frames)
            loop_scores = alignment.loop_scores[span]
            loop_pf = float(loop_scores.mean()) if len(loop_scores) else 0.0
            align_pf = phone.score / frames
            labels = alignment.loop_labels[span]
            agree = float(np.mean(labels == phone.name)) if len(labels) else 0.0
            # The loop hearing silence or noise here suggests a deleted phone; the wrong class, a bad one.
            silent = float(np.mean([not str(x).isalpha() or x == "SIL" for x in labels])) if len(labels) else 0.0
            same_class = (
                float(np.mean([(x in VOWELS) == (phone.name in VOWELS) for x in labels])) if len(labels) else 0.0
            )
            mu, sd = duration_stats.get(phone.name, (2.0, 0.5))
            raw.append(
                (word.index, position, align_pf - loop_pf, align_pf, loop_pf, agree, np.log(frames),
                 (np.log(frames) - mu) / sd, priors.get(phone.name, 0.0), float(phone.name in VOWELS), silent,
                 same_class)
            )  # fmt: skip
    if not raw:
        return np.zeros((0, len(PHONE_FEATURES))), []
    table = np.asarray(raw, dtype=float)
    gop = table[:, 2]
    utt_gop = float(gop.mean())
    utt_agree = float(table[:, 5].mean())
    utt_align = float(table[:, 3].mean())
    rows = []
    for i, (word_index, position, *values) in enumerate(raw):
        *values, silent, same_class = values
        in_word = table[:, 0] == word_index
        word_gop = gop[in_word]
        n_phones = int(in_word.sum())
        same_prev = i > 0 and raw[i - 1][0] == word_index
        same_next = i + 1 < len(raw) and raw[i + 1][0] == word_index
        rows.append(
            [*values, word_gop.mean(), word_gop.min(), utt_gop, utt_agree, float(position == 0),
             float(position == n_phones - 1), n_phones, gop[i - 1] if same_prev else gop[i],
             gop[i + 1] if same_next else gop[i], silent, same_class, values[1] - utt_align]
        )  # fmt: skip
    keys = [(int(w), int(p)) for w, p, *_ in raw]
    return np.asarray(rows, dtype=float), keys


def word_features(
    alignment: Alignment, phone_rows: np.ndarray, keys: list[tuple[int, int]], phone_pred: np.ndarray
) -> np.ndarray:
    """One row per aligned word (in alignment.words order); phone_pred on the 0-2 expert scale."""
    col = {name: i for i, name in enumerate(PHONE_FEATURES)}
    word_of = np.asarray([k[0] for k in keys]) if keys else np.zeros(0, dtype=int)
    utt_gop = float(phone_rows[:, col["gop"]].mean()) if len(phone_rows) else 0.0
    utt_pred = float(phone_pred.mean()) if len(phone_pred) else 0.0
    rows = []
    for word in alignment.words:
        mine = word_of == word.index
        p = phone_rows[mine]
        pred = phone_pred[mine]
        if not len(p):
            rows.append([0.0] * len(WORD_FEATURES))
            continue
        gop = p[:, col["gop"]]
        frames = max(word.frames, 1)
        rows.append(
            [gop.mean(), gop.min(), gop.max(), p[:, col["align_pf"]].mean(), p[:, col["agree"]].mean(),
             p[:, col["agree"]].min(), np.log(frames / len(p)), np.abs(p[:, col["dur_z"]]).mean(),
             p[:, col["dur_z"]].mean(), pred.mean(), pred.min(), utt_gop, utt_pred, len(p),
             float(np.mean(pred < 1.0)), p[:, col["loop_pf"]].mean(), word.score / frames,
             p[:, col["phone_prior"]].mean()]
        )  # fmt: skip
    return np.asarray(rows, dtype=float).reshape(len(rows), len(WORD_FEATURES))


def timing(alignment: Alignment) -> dict:
    """Speech rate and pauses, in seconds and words/phones per minute/second."""
    words = alignment.words
    if not words:
        return {"speech_seconds": 0.0, "pause_seconds": 0.0, "pause_count": 0, "long_pauses": 0, "lead_seconds": 0.0}
    first, last = words[0].start, words[-1].start + words[-1].frames
    span = max(last - first, 1) / FRAME_RATE
    pauses = [frames / FRAME_RATE for _, frames in alignment.pauses if frames >= 15]
    pause_seconds = float(sum(pauses))
    n_phones = sum(len(w.phones) for w in words)
    speaking = max(span - pause_seconds, 0.1)
    return {
        "speech_seconds": round(span, 3),
        "pause_seconds": round(pause_seconds, 3),
        "pause_count": len(pauses),
        "long_pauses": sum(1 for p in pauses if p >= 0.5),
        "lead_seconds": round(first / FRAME_RATE, 3),
        "speech_rate_wpm": round(60.0 * len(words) / span, 1),
        "articulation_rate": round(n_phones / speaking, 2),  # phones per second, pauses excluded
        "phones_per_second": round(n_phones / span, 2),
    }


def sentence_features(
    alignment: Alignment,
    phone_rows: np.ndarray,
    phone_pred: np.ndarray,
    word_pred: np.ndarray,
    found_frac: float,
    n_expected: int,
) -> np.ndarray:
    col = {name: i for i, name in enumerate(PHONE_FEATURES)}
    stats = timing(alignment)
    gop = phone_rows[:, col["gop"]] if len(phone_rows) else np.zeros(1)
    agree = phone_rows[:, col["agree"]] if len(phone_rows) else np.zeros(1)
    dur_z = phone_rows[:, col["dur_z"]] if len(phone_rows) else np.zeros(1)
    words = word_pred if len(word_pred) else np.zeros(1)
    phones = phone_pred if len(phone_pred) else np.zeros(1)
    duration = max(alignment.n_frames, 1) / FRAME_RATE
    return np.asarray(
        [words.mean(), words.min(), np.percentile(words, 25), phones.mean(), gop.mean(), np.percentile(gop, 10),
         agree.mean(), float(np.mean(words < 6.0)), found_frac, stats.get("phones_per_second", 0.0),
         stats.get("articulation_rate", 0.0), stats["pause_count"], stats["pause_seconds"], stats["long_pauses"],
         stats["lead_seconds"], np.abs(dur_z).mean(), n_expected, stats["speech_seconds"] / duration,
         np.log(duration)],
        dtype=float,
    )  # fmt: skip
