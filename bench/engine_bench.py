"""In-process benchmark: time to score the example package (already parsed), per backend.

Run: .venv/bin/python bench/engine_bench.py [--rounds N]
Prints median and p99 per backend and their ratio. Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT


def _times(evaluator: Evaluator, rounds: int) -> list[float]:
    package = load_package(REPO_ROOT / "examples" / "yueyang-kjj-2023" / "dossier.toml")
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    as_of = dt.date(2024, 6, 28)
    for _ in range(50):  # warm up: registration, caches
        evaluator.evaluate(package, rubric, mode="bureau", as_of=as_of)
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        evaluator.evaluate(package, rubric, mode="bureau", as_of=as_of)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    results = {}
    for name, backend in (("durable", DurableBackend()), ("python", PythonBackend())):
        times = sorted(_times(Evaluator(backend), rounds))
        median = statistics.median(times) * 1000
        p99 = times[int(len(times) * 0.99) - 1] * 1000
        results[name] = median
        print(f"{name:8s} median {median:.3f} ms  p99 {p99:.3f} ms  ({rounds} rounds)")
    print(f"ratio durable/python (median): {results['durable'] / results['python']:.2f}x")


if __name__ == "__main__":
    main()
