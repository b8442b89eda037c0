"""CPU time from /proc (psutil is not installed): the server's process tree and the whole machine.

The server is daphne plus its engine worker processes (spawned children), so we sum utime +
stime over the daphne pid and all its descendants. Whole-machine busy time shows when
something else (another test run, a build) competes for the cores during a measurement.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu_seconds(root: int) -> tuple[float, float]:
    """CPU seconds of `root` itself and of all its descendants (gone processes are missed)."""
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = info
    total, frontier, seen = 0.0, [root], set[int]()
    while frontier:  # bounded: each pid is visited once
        pid = frontier.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        frontier.extend(child for child, (ppid, _) in stats.items() if ppid == pid)
    own = stats[root][1] if root in stats else 0.0
    return own, total - own


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle (summed over all cores) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS  # minus idle and iowait


def machine_busy_pct(seconds: float = 1.0) -> float:
    """Busy share of the whole machine over the next `seconds`, in % of one core."""
    before, start = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return round(100 * (machine_busy_seconds() - before) / (time.monotonic() - start), 1)


@dataclass
class CpuUse:
    """Average CPU use over an interval, each in % of one core (200% = both cores of two)."""

    server: float  # daphne and its engine workers
    daphne: float  # of which the daphne process itself
    client: float  # this benchmark process
    other: float  # everything else on the machine


class CpuMeter:
    def __init__(self, root: int) -> None:
        self.root = root
        self._start = (0.0, 0.0, 0.0, 0.0, 0.0)

    def start(self) -> None:
        own, children = tree_cpu_seconds(self.root)
        self._start = (own, children, time.process_time(), machine_busy_seconds(), time.monotonic())

    def stop(self) -> CpuUse:
        own0, children0, client0, machine0, wall0 = self._start
        wall = max(1e-6, time.monotonic() - wall0)
        own, children = tree_cpu_seconds(self.root)
        daphne, server = own - own0, own + children - own0 - children0
        client = time.process_time() - client0
        other = max(0.0, machine_busy_seconds() - machine0 - server - client)
        return CpuUse(*(round(100 * x / wall, 1) for x in (server, daphne, client, other)))
