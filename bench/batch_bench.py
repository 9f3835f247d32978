"""Batch re-scoring: N generated packages across worker processes, each with its own durable_rules.

Run: .venv/bin/python bench/batch_bench.py [--packages 10000] [--workers 2] [--backend durable]
Prints packages/s overall and per worker process. Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import time

from bench.corpus import variants
from engine.backends import PythonBackend
from engine.evaluate import Evaluator
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

_STATE: dict[str, object] = {}


def _init(backend: str, count: int) -> None:
    from engine.backends.durable_adapter import DurableBackend

    _STATE["evaluator"] = Evaluator(DurableBackend() if backend == "durable" else PythonBackend())
    _STATE["rubric"] = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    _STATE["packages"] = variants(min(count, 500), seed=os.getpid() % 7)


def _score(index: int) -> str:
    evaluator: Evaluator = _STATE["evaluator"]  # type: ignore[assignment]
    packages = _STATE["packages"]
    package = packages[index % len(packages)]  # type: ignore[arg-type,index]
    report = evaluator.evaluate(package, _STATE["rubric"], mode="bureau", as_of=dt.date(2024, 8, 1))  # type: ignore[arg-type]
    return str(report["total"]["score"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backend", choices=["durable", "python"], default="durable")
    args = parser.parse_args()
    with mp.get_context("fork").Pool(args.workers, initializer=_init, initargs=(args.backend, args.packages)) as pool:
        pool.map(_score, range(args.workers * 20))  # warm up every worker
        start = time.perf_counter()
        scores = pool.map(_score, range(args.packages), chunksize=64)
        elapsed = time.perf_counter() - start
    rate = len(scores) / elapsed
    print(f"{args.backend}: {len(scores)} packages in {elapsed:.2f} s with {args.workers} workers: "
          f"{rate:.0f} packages/s ({rate / args.workers:.0f} per worker process)")


if __name__ == "__main__":
    main()
