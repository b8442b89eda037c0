"""What the numbers were measured on: they mean little without the machine next to them."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{out}{'+dirty' if dirty else ''}"


def describe() -> dict[str, object]:
    mem_kib = _first("/proc/meminfo", "MemTotal")
    mem_gib = round(int(mem_kib.split()[0]) / 2**20, 1) if mem_kib else None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": usable,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "git_commit": _git_commit(),
    }


def banner(info: dict[str, object]) -> str:
    return (
        f"machine: {info['cpu_model']}, {info['cpu_cores']} cores ({info['cpu_cores_usable']} usable), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, load {info['loadavg_1m']}\n"
        f"date:    {info['date']}   app commit: {info['git_commit']}"
    )
