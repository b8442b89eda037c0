"""Turns the live benchmark's raw runs into the result dict (JSON) and the printed tables."""

from __future__ import annotations

import argparse

from bench.fixtures import Sentence
from bench.stats import fmt, summary_ms, table, verdict
from bench.wer import normalize, wer_percent
from bench.wsclient import LoadStream, StopRun

STOP_P95_TARGET_MS = 150
PARTIAL_MAX_TARGET_MS = 300
CONCURRENCY_TARGET = 12
WER_DIFF_TARGET = 1.0
STEP_COLUMNS = ("N", "commits", "p50 ms", "p95 ms", "max ms", "2nd half p95", "missing", "errors")
STEP_COLUMNS += ("server CPU (daphne)", "bench CPU", "other CPU", "result")


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def concurrency_step(n: int, streams: list[LoadStream], max_lag: float, seconds: float) -> dict:
    lags = [lag for s in streams for lag in s.lags_s]
    # Lag of commits in the second half of each stream: the steady state, after the start-up burst.
    late = [lag for s in streams for lag, at in zip(s.lags_s, s.lag_at_s, strict=True) if at >= seconds / 2]
    failures = [s.failure for s in streams if s.failure]
    errors = [e for s in streams for e in s.errors]
    missing = sum(s.missing for s in streams)
    lag = summary_ms(lags)
    ok = not failures and not errors and not missing and bool(lags) and lag["p95_ms"] <= max_lag * 1000
    return {
        "n": n,
        "lag": lag,
        "lag_second_half": summary_ms(late),
        "lags_ms_per_stream": [[ms(x) for x in s.lags_s] for s in streams],
        "commits": sum(s.commits for s in streams),
        "missing": missing,
        "unmatched": sum(s.unmatched for s in streams),
        "errors": errors[:10],
        "error_count": len(errors),
        "failures": failures[:10],
        "audio_s": round(sum(s.audio_s for s in streams), 1),
        "pass": ok,
    }


def summarize(sentences: list[Sentence], stop: dict, steps: list[dict], args: argparse.Namespace) -> dict:
    runs: list[list[StopRun]] = stop["runs"]
    flat = [r for round_ in runs for r in round_]
    latencies = [r.stop_latency_s for r in flat if r.stop_latency_s is not None]
    intervals = [i for r in flat for i in r.partial_intervals_s]
    audio_intervals = [i for r in flat for i in r.partial_audio_intervals_s]
    # Where in the stream the long gaps end (audio seconds sent): shows whether they cluster.
    gap_ends = sorted(
        r.partial_audio_at_s[i + 1]
        for r in flat
        for i, gap in enumerate(r.partial_audio_intervals_s)
        if gap * 1000 > PARTIAL_MAX_TARGET_MS + 1
    )
    stop_summary = summary_ms(latencies)
    partial_summary = summary_ms(intervals)
    partial_audio = summary_ms(audio_intervals)
    passing = [s["n"] for s in steps if s["pass"]]
    per_sentence = []
    for i, s in enumerate(sentences):
        mine = [round_[i] for round_ in runs]
        per_sentence.append(
            {
                "name": s.name,
                "seconds": round(s.seconds, 3),
                "socket": [normalize(r.text) for r in mine],
                "stop_latency_ms": [ms(r.stop_latency_s) for r in mine],
            }
        )
    return {
        "settings": {k: v for k, v in vars(args).items() if k not in {"json", "name"}},
        "stop_latency": {
            **stop_summary,
            "runs": len(flat),
            "without_commit_after_stop": sum(r.stop_latency_s is None for r in flat),
            "commits_before_stop": sum(r.commits_before_stop for r in flat),
            "errors": [e for r in flat for e in r.errors][:10],
            "session_ended_after_stop": summary_ms([r.ended_after_stop_s for r in flat if r.ended_after_stop_s]),
            "warmup_ms": ms(stop["warmup"].stop_latency_s),
            "cpu_pct": stop["cpu_pct"],
            "target_p95_ms": STOP_P95_TARGET_MS,
            "pass": stop_summary["p95_ms"] is not None
            and stop_summary["p95_ms"] <= STOP_P95_TARGET_MS
            and len(latencies) == len(flat),
        },
        "partial_interval": {
            **partial_summary,
            # The target is per audio: the audio sent between consecutive partials (100 ms steps),
            # which is immune to a few ms of scheduling jitter in the wall-clock intervals.
            "audio": partial_audio,
            "over_target": len(gap_ends),
            "over_target_end_at_s": gap_ends,
            "target_max_ms": PARTIAL_MAX_TARGET_MS,
            "pass": partial_audio["max_ms"] is not None and partial_audio["max_ms"] <= PARTIAL_MAX_TARGET_MS,
        },
        "concurrency": {
            "steps": steps,
            "max_lag_s": args.max_lag,
            "max_passing_n": max(passing) if passing else 0,
            "target_n": CONCURRENCY_TARGET,
            "pass": bool(passing) and max(passing) >= CONCURRENCY_TARGET,
        },
        "sentences": per_sentence,
    }


def accuracy(sentences: list[Sentence], runs: list[StopRun], offline: dict[str, list[str]]) -> dict:
    """Socket WER against both offline baselines, with every sentence where they differ."""
    refs = [s.reference for s in sentences]
    socket = [normalize(r.text) for r in runs]
    socket_wer = wer_percent(refs, socket)
    offline_wer = {name: wer_percent(refs, hyps) for name, hyps in offline.items()}
    diff = round(socket_wer - offline_wer["default"], 2)
    return {
        "words": sum(len(r.split()) for r in refs),
        "sentences": len(refs),
        "socket_pct": socket_wer,
        "offline_default_pct": offline_wer["default"],
        "offline_engine_pct": offline_wer["engine"],
        "diff_points": diff,
        "diff_engine_points": round(socket_wer - offline_wer["engine"], 2),
        "errors": [e for r in runs for e in r.errors][:10],
        "target_diff_points": WER_DIFF_TARGET,
        "pass": diff <= WER_DIFF_TARGET,
        "pass_same_settings": socket_wer - offline_wer["engine"] <= WER_DIFF_TARGET,
        "differing": [
            {"name": s.name, "reference": s.reference, "socket": h, "offline_default": d, "offline_engine": e}
            for s, h, d, e in zip(sentences, socket, offline["default"], offline["engine"], strict=True)
            if h != e
        ],
    }


def _slowest(sentences: list[dict], count: int = 3) -> list[dict]:
    rows = []
    for x in sentences:
        values = sorted(v for v in x["stop_latency_ms"] if v is not None)
        rows.append({"name": x["name"], "median_ms": values[len(values) // 2] if values else None})
    return sorted(rows, key=lambda x: -(x["median_ms"] or 0))[:count]


def _summary_row(label: str, summary: dict, target: str = "", ok: bool | None = None) -> list[object]:
    row = [label, summary["n"], summary["p50_ms"], summary["p95_ms"], summary["max_ms"], target]
    return [*row, verdict(ok) if target else ""]


def _step_row(step: dict) -> list[object]:
    lag, cpu = step["lag"], step["cpu_pct"]
    errors = step["error_count"] + len(step["failures"])
    cpus = [f"{cpu['server']:.0f}% ({cpu['daphne']:.0f}%)", *(f"{cpu[k]:.0f}%" for k in ("client", "other"))]
    late = step["lag_second_half"]["p95_ms"]
    row = [step["n"], step["commits"], lag["p50_ms"], lag["p95_ms"], lag["max_ms"], late, step["missing"], errors]
    return [*row, *cpus, verdict(step["pass"])]


def render(r: dict) -> str:
    st, pa, co, we, s = r["stop_latency"], r["partial_interval"], r["concurrency"], r["wer"], r["settings"]
    latency_cols = ["metric", "n", "p50 ms", "p95 ms", "max ms", "target", "result"]
    cpu = st["cpu_pct"]
    out = [
        f"1. Stop latency: `stop` -> committed_transcript; {st['runs']} runs = {s['rounds']} rounds x "
        f"{st['runs'] // max(1, s['rounds'])} sentences, one stream at a time, real time + 200 ms silence",
        table(
            latency_cols,
            [
                _summary_row("stop -> committed", st, f"p95 <= {st['target_p95_ms']}", st["pass"]),
                _summary_row("stop -> session_ended", st["session_ended_after_stop"]),
            ],
        ),
        f"  warm-up (first session, engine workers starting): {fmt(st['warmup_ms'])} ms, not counted; "
        f"runs without a commit after stop: {st['without_commit_after_stop']}; errors: {len(st['errors'])}",
        "  slowest sentences (median over rounds): "
        + ", ".join(f"{x['name']} {fmt(x['median_ms'])} ms" for x in _slowest(r["sentences"])),
        f"  CPU during this phase: server {cpu['server']:.0f}% (daphne itself {cpu['daphne']:.0f}%), "
        f"bench {cpu['client']:.0f}%, other processes {cpu['other']:.0f}%",
        "",
        "2. Partial interval: between consecutive partial_transcript events while audio is sent (part 1 runs)",
        table(
            latency_cols,
            [
                _summary_row("wall clock", pa),
                _summary_row("audio sent in between", pa["audio"], f"max <= {pa['target_max_ms']}", pa["pass"]),
            ],
        ),
        f"  intervals with more than {pa['target_max_ms']} ms of audio: {pa['over_target']} of {pa['audio']['n']}"
        + (
            f"; they end {min(pa['over_target_end_at_s']):.1f}-{max(pa['over_target_end_at_s']):.1f} s into the stream"
            if pa["over_target"]
            else ""
        ),
        "",
        f"3. Concurrency: N manual-commit streams, {s['seconds']:.0f} s of sentences each, starts spread over "
        f"{s['stagger']} s; lag = commit sent -> committed_transcript; pass = p95 <= {co['max_lag_s'] * 1000:.0f} ms, "
        "no errors; 2nd half = commits after the first half of each stream (steady state)",
        table(
            STEP_COLUMNS,
            [_step_row(step) for step in co["steps"]],
        ),
        f"  largest passing N: {co['max_passing_n']}  (target >= {co['target_n']})  {verdict(co['pass'])}"
        "   [sweep stops at the first failure; CPU in % of one core; server = daphne + its engine workers]",
        "",
        f"4. Word error rate over {we['sentences']} sentences ({we['words']} words), one session each",
        table(
            ["decoder", "WER %", "socket minus this"],
            [
                ["socket /ws/speech/", we["socket_pct"], ""],
                ["pocketsphinx offline, default settings", we["offline_default_pct"], fmt(we["diff_points"])],
                ["pocketsphinx offline, engine's settings", we["offline_engine_pct"], fmt(we["diff_engine_points"])],
            ],
        ),
        f"  vs default settings: {fmt(we['diff_points'])} points (target <= {we['target_diff_points']})"
        f"  {verdict(we['pass'])};  vs the engine's settings (no fwdflat pass): "
        f"{fmt(we['diff_engine_points'])}  {verdict(we['pass_same_settings'])}",
    ]
    for x in we["differing"]:
        out.append(f"    {x['name']}: offline {x['offline_engine']!r}; socket {x['socket']!r}")
    busy = [cpu["other"], *(step["cpu_pct"]["other"] for step in co["steps"])]
    if max(busy) > 25:
        out.append(
            f"\nWARNING: other processes used up to {max(busy):.0f}% of one core during the measurements; "
            "the timings above are pessimistic. Re-run on an idle machine."
        )
    return "\n".join(out)
