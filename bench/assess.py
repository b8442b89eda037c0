"""Assessment latency: `stop` or the server's endpoint -> `assessment`, embedded scorer, 5 s sentences.

Runs a real daphne (tests/support/liveserver.py) and drives assess-mode sessions (provider
local) over loopback one at a time, audio paced in real time like a microphone
(bench/wsclient.py). The scorer runs once the audio has ended, so this is the wait a learner
has between finishing a sentence and seeing its scores. Two scenarios, each over every sentence
in bench/audio/assess for --rounds rounds (2 by default, which keeps the run near 4 minutes:
each session takes its audio's length in real time), after one warm-up session:
1. stop: the sentence, then `stop` right after its last chunk (the learner clicks stop);
   latency = `stop` sent -> `assessment` received;
2. endpoint: the sentence, then real-time silence until the server sends `endpoint`, then
   `stop` at once as the browser does; latency = `endpoint` received -> `assessment` received.
   Also measured: how long after the end of speech the endpoint came.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from array import array
from dataclasses import asdict, dataclass, field

from bench.fixtures import ACCURACY_AUDIO, RATE, Sentence, load_sentences, silence
from bench.live import progress, student_server, wait_for_quiet
from bench.procstat import CpuMeter
from bench.stats import fmt, summary_ms, table, verdict
from bench.wsclient import EVENT_TIMEOUT, Events, Pacer, Target, start

AUDIO = ACCURACY_AUDIO / "assess"
TARGET_P95_MS = 300
# The server ends an attempt after 2.5 s of silence whatever it heard; past this, no endpoint is a failure.
MAX_SILENCE_MS = 5000
LONG_PAUSE_S = 2.5  # EndpointRules.long_pause_ms: an endpoint this late means the sentence was not recognized
SPEECH_LEVEL = 300  # |sample| above this (about -40 dBFS) counts as speech when finding where it ends


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all sentences per scenario (default 2)")
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, help="wait up to this long for other CPU load to stop (s)"
    )


def speech_end_s(pcm: bytes) -> float:
    """Where the last sound in `pcm` ends (s): the sentences have a brief silent tail."""
    samples = array("h", pcm)  # 16-bit little-endian, as on every machine this runs on
    frame = RATE // 100  # 10 ms
    for end in range(len(samples), 0, -frame):
        if max(map(abs, samples[max(0, end - frame) : end])) > SPEECH_LEVEL:
            return end / RATE
    return 0.0


@dataclass
class AssessRun:
    """One sentence on its own socket, ended by `stop` (scenario stop) or by the endpoint."""

    name: str
    scenario: str  # "stop" or "endpoint"
    latency_s: float | None = None  # stop sent (or endpoint received) -> assessment received
    endpoint_after_speech_s: float | None = None  # end of speech captured -> endpoint received
    ended_after_assessment_s: float | None = None  # assessment -> session_ended
    audio_sent_s: float = 0.0
    overall: float | None = None  # the score, to see that the sentence was really scored
    completeness: float | None = None
    words: int = 0
    errors: list[dict] = field(default_factory=list)


async def assess_run(target: Target, sentence: Sentence, scenario: str) -> AssessRun:
    run = AssessRun(sentence.name, scenario)
    endpoint = asyncio.Event()

    def on_event(now: float, event: dict) -> None:
        if event.get("type") == "endpoint":
            endpoint.set()

    async with target.open() as ws:
        events = Events(ws, on_event)
        await start(ws, events, mode="assess", provider="local", expected_text=sentence.reference, sample_rate=RATE)
        pacer = Pacer(ws)
        if scenario == "stop":
            await pacer.send(sentence.pcm)
        else:
            # Silence follows the sentence until the endpoint arrives; streaming then stops at
            # once (cancelling the pacer mostly interrupts its sleep between chunks).
            streaming = asyncio.create_task(pacer.send(sentence.pcm + silence(MAX_SILENCE_MS)))
            heard = asyncio.create_task(endpoint.wait())
            await asyncio.wait({streaming, heard}, return_when=asyncio.FIRST_COMPLETED)
            for task in (streaming, heard):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        stop_at = time.perf_counter()
        run.audio_sent_s = round(pacer.sent, 3)
        await ws.send(json.dumps({"type": "stop"}))
        await events.close()
    endpoints = events.of("endpoint")
    if scenario == "endpoint":
        if endpoints:
            # A chunk goes out when its 100 ms have been captured, so speech ends at t0 + its end.
            run.endpoint_after_speech_s = endpoints[0][0] - (pacer.t0 + speech_end_s(sentence.pcm))
        else:
            run.errors.append({"type": "client", "code": "no_endpoint", "message": f"none in {pacer.sent:.1f} s"})
    assessments = [(t, e) for t, e in events.of("assessment") if t >= stop_at]
    if assessments:
        at, event = assessments[0]
        began = stop_at if scenario == "stop" else (endpoints[0][0] if endpoints else None)
        run.latency_s = None if began is None else at - began
        run.overall, run.completeness = event.get("overall"), event.get("completeness")
        run.words = len(event.get("words") or [])
        ended = events.of("session_ended")
        run.ended_after_assessment_s = ended[0][0] - at if ended else None
    else:
        run.errors.append({"type": "client", "code": "no_assessment", "message": "no assessment after stop"})
    run.errors += events.errors
    return run


async def one_run(target: Target, sentence: Sentence, scenario: str) -> AssessRun:
    try:
        timeout = sentence.seconds + MAX_SILENCE_MS / 1000 + 2 * EVENT_TIMEOUT
        return await asyncio.wait_for(assess_run(target, sentence, scenario), timeout)
    except Exception as exc:  # one broken run is a result, not the end of the benchmark
        run = AssessRun(sentence.name, scenario)
        run.errors.append({"type": "client", "code": type(exc).__name__, "message": str(exc)[:200]})
        return run


async def measure(target: Target, sentences: list[Sentence], rounds: int, pid: int) -> dict:
    # The first session after start-up spawns the engine workers (decoders, scorer); kept apart.
    warmup = await one_run(target, sentences[0], "stop")
    progress(f"warm-up session: stop -> assessment {fmt(_ms(warmup.latency_s))} ms")
    raw: dict[str, object] = {"warmup": warmup}
    for scenario in ("stop", "endpoint"):
        meter = CpuMeter(pid)
        meter.start()
        runs: list[AssessRun] = []
        for r in range(rounds):
            batch = [await one_run(target, s, scenario) for s in sentences]
            runs += batch
            latencies = [x.latency_s for x in batch if x.latency_s is not None]
            progress(
                f"{scenario} round {r + 1}/{rounds}: max {fmt(_ms(max(latencies, default=None)))} ms, "
                f"errors {sum(len(x.errors) for x in batch)}"
            )
        raw[scenario] = {"runs": runs, "cpu_pct": asdict(meter.stop())}
    return raw


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def summarize_scenario(runs: list[AssessRun], cpu: dict) -> dict:
    latency = summary_ms([r.latency_s for r in runs if r.latency_s is not None])
    errors = [e for r in runs for e in r.errors]
    scores = [r.overall for r in runs if r.overall is not None]
    result = {
        "latency": latency,
        "runs": len(runs),
        "error_count": len(errors),
        "errors": errors[:10],
        "overall_mean": round(sum(scores) / len(scores), 1) if scores else None,
        "words_min": min((r.words for r in runs if r.overall is not None), default=None),
        "ended_after_assessment": summary_ms(
            [r.ended_after_assessment_s for r in runs if r.ended_after_assessment_s is not None]
        ),
        "cpu_pct": cpu,
        "target_p95_ms": TARGET_P95_MS,
        # Every run must count: a missing assessment is a failure, not a sample left out.
        "pass": None if latency["p95_ms"] is None else latency["p95_ms"] <= TARGET_P95_MS and not errors,
        "raw": [asdict(r) for r in runs],
    }
    delays = [r.endpoint_after_speech_s for r in runs if r.endpoint_after_speech_s is not None]
    if delays:
        result["endpoint_after_speech"] = summary_ms(delays)
        late = [r.name for r in runs if (r.endpoint_after_speech_s or 0) > LONG_PAUSE_S]
        result["endpoint_by_long_pause"] = sorted(set(late))
        result["endpoint_by_long_pause_runs"] = len(late)
    return result


def run(args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    sentences = load_sentences(AUDIO)
    lengths = [s.seconds for s in sentences]
    progress(f"{len(sentences)} sentences, {min(lengths):.2f}-{max(lengths):.2f} s each")
    busy = wait_for_quiet(args.quiet_wait)
    with student_server("daphne-assess.log") as (server, target):
        raw = asyncio.run(measure(target, sentences, args.rounds, server.process.pid))
    return {
        "sentences": len(sentences),
        "audio_s": {
            "min": round(min(lengths), 2),
            "mean": round(sum(lengths) / len(lengths), 2),
            "max": round(max(lengths), 2),
        },
        "speech_s_mean": round(sum(speech_end_s(s.pcm) for s in sentences) / len(sentences), 2),
        "rounds": args.rounds,
        "warmup_ms": _ms(raw["warmup"].latency_s),
        "stop": summarize_scenario(raw["stop"]["runs"], raw["stop"]["cpu_pct"]),
        "endpoint": summarize_scenario(raw["endpoint"]["runs"], raw["endpoint"]["cpu_pct"]),
        "machine_busy_before_pct": busy,
        "runtime_s": round(time.perf_counter() - began, 1),
    }


def show(r: dict) -> str:
    audio = r["audio_s"]
    rows = []
    for key, label in (("stop", "stop sent -> assessment"), ("endpoint", "endpoint received -> assessment")):
        s, lat = r[key], r[key]["latency"]
        rows.append(
            [label, lat["n"], lat["p50_ms"], lat["p95_ms"], lat["max_ms"], s["error_count"], verdict(s["pass"])]
        )
    delay = r["endpoint"].get("endpoint_after_speech", summary_ms([]))
    cpu = {key: r[key]["cpu_pct"] for key in ("stop", "endpoint")}
    return "\n".join(
        [
            f"Assessment latency, embedded scorer: {r['sentences']} sentences of {audio['min']:.1f}-"
            f"{audio['max']:.1f} s audio (mean {audio['mean']:.2f} s, speech {r['speech_s_mean']:.2f} s), "
            f"{r['rounds']} rounds per scenario, one session at a time, real time",
            table(
                ["scenario", "n", "p50 ms", "p95 ms", "max ms", "errors", f"p95 <= {TARGET_P95_MS} ms"],
                rows,
            ),
            f"  endpoint came after the end of speech: p50 {fmt(delay['p50_ms'])} ms, p95 {fmt(delay['p95_ms'])} ms,"
            f" max {fmt(delay['max_ms'])} ms (n {delay['n']}; includes up to 100 ms of chunking)",
            f"  of which later than {LONG_PAUSE_S} s, i.e. by the long-pause rule (sentence not recognized as read): "
            f"{r['endpoint'].get('endpoint_by_long_pause_runs', 0)} runs"
            f" ({', '.join(r['endpoint'].get('endpoint_by_long_pause', [])) or 'none'})",
            f"  warm-up session (engine workers starting): {fmt(r['warmup_ms'])} ms, not counted; "
            f"mean overall score {fmt(r['stop']['overall_mean'])} / {fmt(r['endpoint']['overall_mean'])}",
            "  CPU (% of one core) stop / endpoint: server "
            f"{cpu['stop']['server']:.0f}% / {cpu['endpoint']['server']:.0f}%, other processes "
            f"{cpu['stop']['other']:.0f}% / {cpu['endpoint']['other']:.0f}% (machine busy before: "
            f"{r['machine_busy_before_pct']:.0f}%)",
            *(f"  error: {e}" for key in ("stop", "endpoint") for e in r[key]["errors"][:3]),
        ]
    )
