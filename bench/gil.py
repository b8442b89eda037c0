"""Does pocketsphinx release the GIL? The same decoding work in 1 thread, 2 threads, 2 processes.

If two threads took as long as one thread doing all the work, decoding holds the GIL and
threads cannot use the second core; that is why the engine decodes in worker processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time

from bench.fixtures import load_sentences
from bench.stats import table
from speechsite.providers.local.recognizer import new_decoder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=2, help="passes over the fixture sentences per worker")


def decode_all(repeat: int) -> None:
    decoder = new_decoder()
    sentences = load_sentences()
    for _ in range(repeat):
        for sentence in sentences:
            decoder.start_utt()
            decoder.process_raw(sentence.pcm, full_utt=True)
            decoder.end_utt()


def timed(start_workers) -> float:
    began = time.perf_counter()
    workers = start_workers()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def run(args: argparse.Namespace) -> dict:
    decode_all(1)  # load the model files into the page cache first
    one = timed(lambda: _started([threading.Thread(target=decode_all, args=(args.repeat * 2,))]))
    threads = timed(lambda: _started([threading.Thread(target=decode_all, args=(args.repeat,)) for _ in range(2)]))
    context = multiprocessing.get_context("spawn")
    processes = timed(lambda: _started([context.Process(target=decode_all, args=(args.repeat,)) for _ in range(2)]))
    return {
        "one_thread_s": round(one, 2),
        "two_threads_s": round(threads, 2),
        "two_processes_s": round(processes, 2),
        "threads_speedup": round(one / threads, 2),
        "processes_speedup": round(one / processes, 2),
        "releases_gil": one / threads > 1.3,
    }


def _started(workers: list) -> list:
    for worker in workers:
        worker.start()
    return workers


def show(result: dict) -> str:
    rows = [
        ["1 thread, all the work", result["one_thread_s"], 1.0],
        ["2 threads, half each", result["two_threads_s"], result["threads_speedup"]],
        ["2 processes, half each (incl. start-up)", result["two_processes_s"], result["processes_speedup"]],
    ]
    verdict = "releases" if result["releases_gil"] else "does NOT release"
    return table(["same decoding work", "seconds", "speed-up"], rows) + f"\n  pocketsphinx {verdict} the GIL"
