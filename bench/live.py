"""Live transcription: latency, partial cadence, concurrency and accuracy of /ws/speech/.

Runs a real daphne (tests/support/liveserver.py) with the embedded engine and drives it over
loopback like browsers would. Phases, each bounded:
1. stop latency + partial intervals: sentences one at a time in real time (VAD commit strategy,
   the default), 200 ms of silence, then `stop`;
2. concurrency: N manual-commit streams at once, sweeping N up until p95 commit lag > 0.5 s;
3. word error rate: 42 sentences through the socket one at a time (at ACCURACY_SPEED times real
   time: the engine's output does not depend on pacing) vs pocketsphinx decoding each file
   offline, with its default settings and with the engine's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from bench import live_report
from bench.fixtures import Sentence, load_accuracy_sentences, load_sentences
from bench.procstat import CpuMeter, machine_busy_pct
from bench.wer import offline_hypotheses
from bench.wsclient import LoadStream, StopRun, Target, load_stream, stop_run
from tests.support.liveserver import LiveServer, live_server

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_STEPS = (4, 8, 10, 12, 14, 16, 20, 24)
ACCURACY_SPEED = 4.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="stop-latency rounds over all sentences (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per concurrent stream (default 20)")
    parser.add_argument(
        "--steps", default=",".join(map(str, DEFAULT_STEPS)), help="concurrency levels to try, ascending"
    )
    parser.add_argument("--stagger", type=float, default=1.0, help="spread of stream starts in seconds (default 1)")
    parser.add_argument("--pause", type=float, default=3.0, help="idle seconds between concurrency steps")
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, help="wait up to this long for other CPU load to stop (s)"
    )
    parser.add_argument("--max-lag", type=float, default=0.5, help="p95 commit lag a concurrency step may have (s)")


@contextlib.contextmanager
def student_server(log_name: str) -> Iterator[tuple[LiveServer, Target]]:
    """A real daphne with the embedded engine, and a target signed in as the demo student."""
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="speechsite-bench-") as tmp:
        workdir = Path(tmp)
        try:
            with live_server(workdir) as server:
                progress(f"server up at {server.url} (pid {server.process.pid})")
                server.lift_quota("student")  # one demo learner stands in for hundreds
                yield server, Target(server.ws_url, server.url, server.session_for("student"))
        finally:
            # Keep the server log next to the results: it explains errors seen by the clients.
            if (workdir / "daphne.log").exists():
                shutil.copy(workdir / "daphne.log", RESULTS / log_name)


def wait_for_quiet(limit: float, busy_pct: float = 30.0) -> float:
    """Wait (at most `limit` s) until the machine is nearly idle: other load skews every timing."""
    deadline = time.monotonic() + limit
    busy = machine_busy_pct()
    while busy > busy_pct and time.monotonic() < deadline:
        progress(f"machine busy ({busy:.0f}% of one core used by other processes); waiting")
        busy = machine_busy_pct(2.0)
    return busy


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _one_stop_run(target: Target, sentence: Sentence, speed: float = 1.0) -> StopRun:
    try:
        return await asyncio.wait_for(stop_run(target, sentence, speed=speed), sentence.seconds + 30)
    except Exception as exc:  # one broken run is a result, not the end of the benchmark
        run = StopRun(sentence.name)
        run.errors.append({"type": "client", "code": type(exc).__name__, "message": str(exc)[:200]})
        return run


async def measure_stop_latency(target: Target, sentences: list[Sentence], rounds: int) -> dict:
    # The first session after start-up spawns the engine workers; measured, but kept apart.
    warmup = await _one_stop_run(target, sentences[0])
    progress(f"warm-up session: stop latency {live_report.ms(warmup.stop_latency_s)} ms")
    runs: list[list[StopRun]] = []
    for r in range(rounds):
        runs.append([await _one_stop_run(target, s) for s in sentences])
        latencies = [x.stop_latency_s for x in runs[-1] if x.stop_latency_s is not None]
        progress(f"stop latency round {r + 1}/{rounds}: max {live_report.ms(max(latencies, default=None))} ms")
    return {"warmup": warmup, "runs": runs}


async def measure_concurrency(target: Target, sentences: list[Sentence], args: argparse.Namespace, pid: int) -> list:
    steps = sorted({int(n) for n in args.steps.split(",") if n.strip()})
    results = []
    for index, n in enumerate(steps):
        if index:
            await asyncio.sleep(args.pause)  # let the engine queues drain and the machine settle
        rng = random.Random(n)  # reproducible staggering and sentence order
        meter = CpuMeter(pid)
        meter.start()
        began = time.perf_counter()
        coros = [
            load_stream(
                target,
                sentences,
                seconds=args.seconds,
                delay=rng.uniform(0, args.stagger),
                first=rng.randrange(len(sentences)),
            )
            for _ in range(n)
        ]
        try:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*coros, return_exceptions=True), args.seconds + args.stagger + 60
            )
        except TimeoutError:
            outcomes = [TimeoutError("step timed out")]
        streams = [
            o if isinstance(o, LoadStream) else LoadStream(failure=f"{type(o).__name__}: {o}"[:200]) for o in outcomes
        ]
        wall = time.perf_counter() - began
        step = live_report.concurrency_step(n, streams, args.max_lag, args.seconds)
        step["cpu_pct"] = asdict(meter.stop())
        step["wall_s"] = round(wall, 1)
        results.append(step)
        progress(
            f"concurrency N={n}: lag p95 {step['lag']['p95_ms']} ms, server CPU {step['cpu_pct']['server']}%"
            f" -> {'pass' if step['pass'] else 'FAIL'}"
        )
        if not step["pass"]:
            break
    return results


async def measure_accuracy(target: Target, sentences: list[Sentence]) -> list[StopRun]:
    runs = [await _one_stop_run(target, s, ACCURACY_SPEED) for s in sentences]
    progress(f"accuracy: {len(runs)} sentences through the socket")
    return runs


async def measure(
    target: Target, sentences: list[Sentence], accuracy: list[Sentence], args: argparse.Namespace, pid: int
) -> dict:
    meter = CpuMeter(pid)
    meter.start()
    stop = await measure_stop_latency(target, sentences, args.rounds)
    stop["cpu_pct"] = asdict(meter.stop())
    concurrency = await measure_concurrency(target, sentences, args, pid)
    return {"stop": stop, "concurrency": concurrency, "accuracy": await measure_accuracy(target, accuracy)}


def run(args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    sentences = load_sentences()
    accuracy = load_accuracy_sentences()
    audio = sum(s.seconds for s in accuracy)
    progress(f"{len(accuracy)} sentences, {audio:.1f} s of audio; decoding them offline")
    load = wait_for_quiet(args.quiet_wait)
    # Offline decoding first, while nothing else is running, so it cannot disturb the timings.
    offline = offline_hypotheses(accuracy)
    with student_server("daphne-live.log") as (server, target):
        raw = asyncio.run(measure(target, sentences, accuracy, args, server.process.pid))
    result = live_report.summarize(sentences, raw["stop"], raw["concurrency"], args)
    result["wer"] = live_report.accuracy(accuracy, raw["accuracy"], offline)
    result["machine_busy_before_pct"] = load
    result["runtime_s"] = round(time.perf_counter() - began, 1)
    result["raw_stop_runs"] = [[asdict(r) for r in round_] for round_ in raw["stop"]["runs"]]
    return result


def show(result: dict) -> str:
    return live_report.render(result)
