"""Numpy-only inference for the scorer's fitted models, read from a small JSON params file.

Two kinds, both exported by scripts/train_scorer.py: "linear" (standardized inputs, weights) and
"trees" (a gradient-boosted ensemble of regression trees, as flat node arrays).
"""

from __future__ import annotations

import numpy as np


def predict(model: dict, features: np.ndarray) -> np.ndarray:
    """Predictions for rows of `features` (columns in the model's feature order)."""
    x = np.atleast_2d(np.asarray(features, dtype=float))
    x = np.where(np.isfinite(x), x, 0.0)
    kind = model["kind"]
    if kind == "linear":
        mean, scale = np.asarray(model["mean"]), np.asarray(model["scale"])
        out = ((x - mean) / scale) @ np.asarray(model["coef"]) + model["intercept"]
    elif kind == "trees":
        out = np.full(len(x), float(model["base"]))
        for tree in model["trees"]:
            out += model["rate"] * _tree_values(tree, x)
    elif kind == "blend":
        out = sum(weight * predict(part, x) for weight, part in zip(model["weights"], model["parts"], strict=True))
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    low, high = model.get("clip", (-np.inf, np.inf))
    return np.clip(out, low, high)


def _tree_values(tree: dict, x: np.ndarray) -> np.ndarray:
    feature = np.asarray(tree["feature"])
    threshold = np.asarray(tree["threshold"])
    left, right = np.asarray(tree["left"]), np.asarray(tree["right"])
    value = np.asarray(tree["value"])
    node = np.zeros(len(x), dtype=int)
    rows = np.arange(len(x))
    for _ in range(int(tree.get("depth", 16))):
        inner = left[node] >= 0
        if not inner.any():
            break
        goes_left = x[rows, np.maximum(feature[node], 0)] <= threshold[node]
        node = np.where(inner, np.where(goes_left, left[node], right[node]), node)
    return value[node]
