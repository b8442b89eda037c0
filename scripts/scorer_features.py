"""Runs the runtime Scorer's alignment over speechocean762 and caches the results (one pickle per utterance).

Used by scripts/train_scorer.py; the cache lives outside the repository (default /tmp/scorer_cache)
so re-fitting does not decode audio again.
"""

from __future__ import annotations

import json
import pickle
import random
import sys
from multiprocessing import Pool
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from speechsite.providers.base import ProviderError
from speechsite.providers.local.pronounce import expected_words, strip_stress
from speechsite.providers.local.scorer import Scorer

_scorer: Scorer | None = None


def read_flac(path: Path) -> bytes:
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.int16).tobytes()


def extract_one(job: tuple[str, dict, str, str]) -> tuple[str, str]:
    """Aligns one utterance with the dataset's canonical phones, so labels match phone for phone."""
    global _scorer
    utt, record, dataset, cache = job
    target = Path(cache) / f"{utt}.pkl"
    if target.exists():
        return utt, "cached"
    if _scorer is None:
        _scorer = Scorer()
    pcm = read_flac(Path(dataset) / "audio" / f"{utt}.flac")
    words = expected_words(record["text"])
    pronunciations = [tuple(strip_stress(p) for p in w["phones"]) for w in record["words"]]
    if len(words) != len(pronunciations):
        return utt, "word count mismatch"
    try:
        alignment = _scorer.align(pcm, words, pronunciations, use_variants=False)
        status = "ok"
    except ProviderError as error:
        alignment, status = None, error.code
    payload = {"alignment": alignment, "status": status, "seconds": len(pcm) / 32000}
    target.write_bytes(pickle.dumps(payload))
    return utt, status


def load_cached(cache: Path) -> dict[str, dict]:
    loaded = {}
    for path in sorted(cache.glob("*.pkl")):
        try:
            loaded[path.stem] = pickle.loads(path.read_bytes())
        except (EOFError, pickle.UnpicklingError):  # cut short by an interrupted run
            path.unlink()
    return loaded


def extract_all(dataset: Path, cache: Path, processes: int = 2) -> dict[str, dict]:
    records = json.loads((dataset / "scores.json").read_text(encoding="utf-8"))
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(utt, rec, str(dataset), str(cache)) for utt, rec in sorted(records.items())]
    random.Random(0).shuffle(jobs)  # an interrupted run still leaves a cache spread over all speakers
    with Pool(processes) as pool:
        for done, (utt, status) in enumerate(pool.imap_unordered(extract_one, jobs, chunksize=8), 1):
            if status not in ("ok", "cached"):
                print(f"  {utt}: {status}", file=sys.stderr)
            if done % 100 == 0:
                print(f"  extracted {done}/{len(jobs)}", file=sys.stderr)
    return load_cached(cache)
