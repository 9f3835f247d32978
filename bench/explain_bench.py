"""What explain costs: the example package scored with explain off, off again, and on.

Run: .venv/bin/python -m bench.explain_bench [--rounds 1000] [--backend durable]

Explain is computed after matching, only in `Evaluator.explain`; `Evaluator.evaluate` (off)
only passes `None` where explain passes a list. Three series are timed in alternating blocks
of 25 rounds, so a noisy neighbour slows all alike: `off A` and `off B` (the same call twice:
their difference is the noise of this machine), and `on` (`explain`). Printed: the median and
p90 of each, in ms. Not a test: docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable

from bench.corpus import example
from bench.engine_bench import machine
from engine.backends import PythonBackend
from engine.backends.plan import Backend
from engine.evaluate import Evaluator
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

AS_OF = dt.date(2024, 6, 28)
BLOCK = 25


def _backend(name: str) -> Backend:
    if name == "python":
        return PythonBackend()
    from engine.backends.durable_adapter import DurableBackend

    return DurableBackend()


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--backend", choices=["durable", "python"], default="durable")
    args = parser.parse_args()
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    package = example()
    evaluator = Evaluator(_backend(args.backend))

    def off() -> object:
        return evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF)

    def on() -> object:
        return evaluator.explain(package, rubric, mode="bureau", as_of=AS_OF)

    series: dict[str, tuple[Callable[[], object], list[float]]] = {
        "off A": (off, []),
        "off B": (off, []),
        "on": (on, []),
    }
    for fn, _ in series.values():  # warm up
        for _ in range(BLOCK):
            fn()
    for _ in range(max(1, args.rounds // BLOCK)):
        for fn, times in series.values():
            for _ in range(BLOCK):
                began = time.perf_counter()
                fn()
                times.append((time.perf_counter() - began) * 1000)
    print(f"machine: {machine()}; backend {args.backend}; {len(series['on'][1])} rounds each")
    for name, (_, times) in series.items():
        ordered = sorted(times)
        p90 = ordered[int(len(ordered) * 0.9)]
        print(f"{name:6s} median {statistics.median(times):.3f} ms  p90 {p90:.3f} ms")


if __name__ == "__main__":
    main()
