"""Fits the local pronunciation scorer on speechocean762 and writes its params JSON.

    .venv/bin/pip install -r requirements-train.txt
    .venv/bin/python scripts/train_scorer.py /work/shared/datasets/speechocean762-train \
        [--cache /tmp/scorer_cache] [--out speechsite/providers/local/scorer_params.json] [--processes 2]

Alignment runs through the runtime Scorer (with the dataset's canonical phones as pronunciations,
so expert phone labels match one to one) and is cached; features come from the same gop.py
functions the runtime uses. Models are stacked: phone -> word -> sentence, each level trained on
out-of-fold predictions of the level below. Cross-validation is grouped by speaker (GroupKFold)
and Pearson r is printed per level. Final models are refit on everything and exported as plain
JSON (linear weights or tree node arrays) for numpy-only inference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scorer_features import extract_all, load_cached

from speechsite.providers.local.gop import (
    PHONE_FEATURES,
    SENTENCE_FEATURES,
    WORD_FEATURES,
    phone_features,
    sentence_features,
    word_features,
)
from speechsite.providers.local.model import predict
from speechsite.providers.local.pronounce import strip_stress

FOLDS = 5
SENTENCE_TARGETS = ("accuracy", "fluency", "total")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 else float("nan")


def trees(rows: int) -> GradientBoostingRegressor:
    """Small, shallow boosting: enough to bend the GOP curves, small enough for a JSON file."""
    big = rows > 3000
    return GradientBoostingRegressor(
        n_estimators=150 if big else 100,
        max_depth=3 if big else 2,
        learning_rate=0.05,
        subsample=0.8,
        min_samples_leaf=40 if big else 15,
        random_state=0,
    )


def export_trees(model: GradientBoostingRegressor, names: tuple[str, ...], clip: tuple[float, float]) -> dict:
    out = []
    for (estimator,) in model.estimators_:
        tree = estimator.tree_
        out.append(
            {
                "feature": tree.feature.tolist(),
                "threshold": [round(float(t), 5) for t in tree.threshold],
                "left": tree.children_left.tolist(),
                "right": tree.children_right.tolist(),
                "value": [round(float(v), 5) for v in tree.value[:, 0, 0]],
                "depth": int(tree.max_depth) + 1,
            }
        )
    base = float(np.ravel(model.init_.constant_)[0])
    return {"kind": "trees", "features": list(names), "base": base, "rate": model.learning_rate, "trees": out,
            "clip": list(clip)}  # fmt: skip


def export_linear(model: Ridge, mean: np.ndarray, scale: np.ndarray, names: tuple[str, ...], clip) -> dict:
    return {"kind": "linear", "features": list(names), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": model.coef_.tolist(), "intercept": float(model.intercept_), "clip": list(clip)}  # fmt: skip


def fit_level(x, y, groups, names, clip, kind="blend"):
    """Out-of-fold predictions (GroupKFold by speaker) and the model refit on everything."""
    oof = np.zeros(len(y))
    for train, test in GroupKFold(FOLDS).split(x, y, groups):
        oof[test] = fit_model(x[train], y[train], names, clip, kind)[1](x[test])
    params, _ = fit_model(x, y, names, clip, kind)
    return oof, params


def fit_model(x, y, names, clip, kind):
    mean, scale = x.mean(0), x.std(0) + 1e-6
    ridge = Ridge(alpha=10.0).fit((x - mean) / scale, y)
    linear = export_linear(ridge, mean, scale, names, clip)
    if kind == "linear":
        return linear, lambda z: predict(linear, z)
    boosted = export_trees(trees(len(y)).fit(x, y), names, clip)
    if kind == "trees":
        return boosted, lambda z: predict(boosted, z)
    blend = {"kind": "blend", "weights": [0.3, 0.7], "parts": [linear, boosted], "clip": list(clip)}
    return blend, lambda z: predict(blend, z)


def phone_stats(data, records) -> dict:
    """Typical log durations and mean expert score per phone, from phones the experts marked correct."""
    durations: dict[str, list[float]] = {}
    scores: dict[str, list[float]] = {}
    for utt, item in data.items():
        words = records[utt]["words"]
        for aw in item["alignment"].words:
            labels = words[aw.index].get("phones_accuracy") or [None] * len(aw.phones)
            for phone, label in zip(aw.phones, labels, strict=False):
                if label is None:
                    continue
                scores.setdefault(phone.name, []).append(label)
                if label >= 1.9:
                    durations.setdefault(phone.name, []).append(np.log(max(phone.frames, 1)))
    return {
        "durations": {p: [round(float(np.mean(v)), 4), round(float(np.std(v) + 0.1), 4)] for p, v in durations.items()},
        "phone_priors": {p: round(float(np.mean(v)), 4) for p, v in scores.items()},
    }


def stretch(pred_0_100: np.ndarray, labels: np.ndarray, good: float, poor: float) -> list[float]:
    """A linear map of predictions to the page's 0-100 bands: correct items near 92, poor ones near 35.

    Regression pulls predictions toward the (high) mean; a linear map keeps Pearson r unchanged
    while making "poor" actually look poor on the page.
    """
    high, low = pred_0_100[labels >= good].mean(), pred_0_100[labels <= poor].mean()
    slope = (92.0 - 35.0) / max(high - low, 1e-3)
    return [round(float(slope), 4), round(float(92.0 - slope * high), 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/scorer_cache"))
    parser.add_argument("--out", type=Path, default=Path("speechsite/providers/local/scorer_params.json"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cached-only", action="store_true", help="fit on the utterances already in the cache")
    parser.add_argument("--without-loop", action="store_true", help="drop the allphone features (faster runtime)")
    args = parser.parse_args()

    records = json.loads((args.dataset / "scores.json").read_text(encoding="utf-8"))
    extracted = load_cached(args.cache) if args.cached_only else extract_all(args.dataset, args.cache, args.processes)
    data = {u: v for u, v in extracted.items() if v["alignment"] is not None and u in records}
    if args.without_loop:
        for item in data.values():
            item["alignment"].loop_labels, item["alignment"].loop_scores = np.zeros(0, dtype=object), np.zeros(0)
    print(f"{len(data)} of {len(records)} utterances aligned")
    for utt, item in data.items():  # canonical phones were forced, so the aligned phones must match them
        for aw in item["alignment"].words:
            expected = [strip_stress(p) for p in records[utt]["words"][aw.index]["phones"]]
            assert [p.name for p in aw.phones] == expected, (utt, aw.index)
    params: dict = {"version": 1, "phone_loop": not args.without_loop, **phone_stats(data, records), "models": {}}
    utts = sorted(data)
    speaker = {u: records[u]["speaker"] for u in utts}

    # Phone level.
    phone_x, phone_y, phone_g, phone_keys = [], [], [], []
    rows_by_utt = {}
    for utt in utts:
        rows, keys = phone_features(data[utt]["alignment"], params)
        rows_by_utt[utt] = (rows, keys)
        for row, (wi, pi) in zip(rows, keys, strict=True):
            label = (records[utt]["words"][wi].get("phones_accuracy") or [None] * 99)[pi]
            if label is not None:
                (
                    phone_x.append(row),
                    phone_y.append(label),
                    phone_g.append(speaker[utt]),
                    phone_keys.append((utt, wi, pi)),
                )
    phone_x, phone_y = np.asarray(phone_x), np.asarray(phone_y)
    phone_oof, params["models"]["phone"] = fit_level(phone_x, phone_y, np.asarray(phone_g), PHONE_FEATURES, (0, 2))
    print(f"phone accuracy   r = {pearson(phone_oof, phone_y):.3f}  (n={len(phone_y)})")
    params["display"] = {"phone": stretch(50 * phone_oof, phone_y, 2.0, 0.8)}

    # Word level, on out-of-fold phone predictions (phones without labels get a prediction from a refit).
    oof_by_key = dict(zip(phone_keys, phone_oof, strict=True))
    full_phone_model = params["models"]["phone"]
    word_x, word_y, word_g, word_keys = [], [], [], []
    phone_pred_by_utt = {}
    for utt in utts:
        rows, keys = rows_by_utt[utt]
        fallback = predict(full_phone_model, rows) if len(rows) else np.zeros(0)
        pred = np.asarray([oof_by_key.get((utt, w, p), f) for (w, p), f in zip(keys, fallback, strict=True)])
        phone_pred_by_utt[utt] = pred
        alignment = data[utt]["alignment"]
        for aw, row in zip(alignment.words, word_features(alignment, rows, keys, pred), strict=True):
            word_x.append(row), word_y.append(records[utt]["words"][aw.index]["accuracy"])
            word_g.append(speaker[utt]), word_keys.append((utt, aw.index))
    word_x, word_y = np.asarray(word_x), np.asarray(word_y, dtype=float)
    word_oof, params["models"]["word"] = fit_level(word_x, word_y, np.asarray(word_g), WORD_FEATURES, (0, 10))
    aligned_keys = set(word_keys)
    skipped = [w["accuracy"] for u in utts for i, w in enumerate(records[u]["words"]) if (u, i) not in aligned_keys]
    params["skipped_word_score"] = round(float(np.mean(skipped)), 3) if skipped else 3.0
    params["display"]["word"] = stretch(10 * word_oof, word_y, 10.0, 4.0)
    all_word_pred = np.concatenate([word_oof, np.full(len(skipped), params["skipped_word_score"])])
    all_word_y = np.concatenate([word_y, np.asarray(skipped, dtype=float)])
    print(f"word accuracy    r = {pearson(word_oof, word_y):.3f}  (aligned n={len(word_y)}); "
          f"with {len(skipped)} skipped words r = {pearson(all_word_pred, all_word_y):.3f}")  # fmt: skip

    # Sentence level.
    params["found_threshold"] = 0.0
    oof_word = dict(zip(word_keys, word_oof, strict=True))
    sent_x, sent_g, sent_y, found_fracs = [], [], {t: [] for t in (*SENTENCE_TARGETS, "completeness")}, []
    for utt in utts:
        alignment = data[utt]["alignment"]
        n = len(records[utt]["words"])
        every = np.full(n, params["skipped_word_score"])
        for aw in alignment.words:
            every[aw.index] = oof_word[(utt, aw.index)]
        found_frac = len(alignment.words) / n
        rows, _ = rows_by_utt[utt]
        sent_x.append(sentence_features(alignment, rows, phone_pred_by_utt[utt], every, found_frac, n))
        sent_g.append(speaker[utt])
        found_fracs.append(found_frac)
        for t in sent_y:
            sent_y[t].append(records[utt]["sentence"][t])
    sent_x, sent_g = np.asarray(sent_x), np.asarray(sent_g)
    for target in SENTENCE_TARGETS:
        y = np.asarray(sent_y[target], dtype=float)
        oof, params["models"][target] = fit_level(sent_x, y, sent_g, SENTENCE_FEATURES, (0, 10))
        print(f"sentence {target:<12} r = {pearson(oof, y):.3f}")
    completeness = np.asarray(sent_y["completeness"], dtype=float)
    print(f"sentence completeness r = {pearson(np.asarray(found_fracs), completeness):.3f} (found fraction)")

    args.out.write_text(json.dumps(params, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
