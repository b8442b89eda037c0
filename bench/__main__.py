"""`python -m bench [NAME] [options]`: run every benchmark, or one by name; see bench/__init__.py."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import ModuleType

from bench import assess, gil, live, machine, relay_bench

# name -> module with add_arguments(parser), run(args) -> dict and show(result) -> str
BENCHMARKS: dict[str, ModuleType] = {"assess": assess, "gil": gil, "live": live, "relay": relay_bench}
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> tuple[Path, list[tuple[str, argparse.Namespace]]]:
    parser = argparse.ArgumentParser(prog="python -m bench", description="speechsite benchmarks")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    common = argparse.ArgumentParser(add_help=False)  # lets --json also follow the benchmark's name
    common.add_argument("--json", type=Path, default=argparse.SUPPRESS, help="where to write the results")
    sub = parser.add_subparsers(dest="name", metavar="{" + ",".join(BENCHMARKS) + "}")
    subparsers = {}
    for name, module in BENCHMARKS.items():
        subparsers[name] = sub.add_parser(name, parents=[common], help=(module.__doc__ or "").splitlines()[0])
        module.add_arguments(subparsers[name])
    args = parser.parse_args(argv)
    if args.name:
        return args.json, [(args.name, args)]
    # No name: every benchmark with its defaults.
    return args.json, [(name, subparsers[name].parse_args([])) for name in BENCHMARKS]


def save(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    json_path, chosen = parse(sys.argv[1:] if argv is None else argv)
    info = machine.describe()
    print(machine.banner(info), flush=True)
    began = time.perf_counter()
    report: dict[str, object] = {"machine": info, "benchmarks": {}}
    for name, args in chosen:
        print(f"\n== {name} ==", flush=True)
        report["benchmarks"][name] = result = BENCHMARKS[name].run(args)
        report["runtime_s"] = round(time.perf_counter() - began, 1)
        save(report, json_path)  # before printing, so a display bug cannot lose a long run
        print(BENCHMARKS[name].show(result), flush=True)
    print(f"\ntotal runtime {report['runtime_s']} s; results written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
