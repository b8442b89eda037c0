"""Benchmarks for speechsite, run with `make bench` (= `python -m bench`).

Each benchmark is a module with `add_arguments(parser)` and `run(args) -> dict`, registered in
`bench.__main__.BENCHMARKS`; `python -m bench` runs them all, `python -m bench NAME` one.
Results are printed as tables and written to bench/results/latest.json (git-ignored).
"""

from __future__ import annotations
