"""Batch re-scoring: N distinct generated packages across worker processes, each scored once.

Run: .venv/bin/python -m bench.batch_bench [--packages 10000] [--workers 2] [--backend durable]

The corpus is `bench.corpus.variant(example, i)` for i < N, kept as the engine's Package JSON
(what a store holds). Each worker process (its own durable_rules) first builds its share of the
corpus, untimed; then all start together and, for each package, parse the JSON, evaluate and
render the report. Printed: packages/s over the wall-clock of that phase (all workers), per
core, the evaluation-only rate, and a digest of every report in index order (the same for
both backends: the batch is checked, not only timed). Not a test: docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import multiprocessing as mp
import os
import time
from multiprocessing.synchronize import Barrier
from typing import Any

from bench.corpus import example, variant_json
from bench.engine_bench import machine
from engine.backends import PythonBackend
from engine.backends.plan import Backend
from engine.evaluate import Evaluator, render_json
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

AS_OF = dt.date(2024, 8, 1)


def _backend(name: str) -> Backend:
    if name == "python":
        return PythonBackend()
    from engine.backends.durable_adapter import DurableBackend

    return DurableBackend()


def _worker(
    worker: int, workers: int, count: int, backend: str, start: Barrier, out: Any
) -> None:
    """Score packages worker, worker + workers, …; send (index, digest) and timings back."""
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    evaluator = Evaluator(_backend(backend))
    base = example()
    mine = list(range(worker, count, workers))
    corpus = [variant_json(base, i) for i in mine]
    for text in corpus[:20]:  # warm up: registration, the engine's per-process caches
        evaluator.evaluate(Package.model_validate_json(text), rubric, mode="bureau", as_of=AS_OF)
    start.wait()
    began = time.perf_counter()
    evaluating = 0.0
    digests = []
    for index, text in zip(mine, corpus, strict=True):
        package = Package.model_validate_json(text)
        t0 = time.perf_counter()
        report = evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF)
        evaluating += time.perf_counter() - t0
        digests.append((index, hashlib.sha256(render_json(report).encode()).hexdigest()))
    out.put((worker, began, time.perf_counter(), evaluating, digests))


def run(count: int, workers: int, backend: str) -> dict[str, Any]:
    """Every figure of the batch benchmark, as a dict."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(w, workers, count, backend, barrier, queue))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a worker failed (exit code {p.exitcode})")
    began = min(r[1] for r in results)
    ended = max(r[2] for r in results)
    digests = sorted(d for r in results for d in r[4])
    assert [i for i, _ in digests] == list(range(count)), "a package was lost"
    total = hashlib.sha256("".join(h for _, h in digests).encode()).hexdigest()
    wall = ended - began
    evaluating = sum(r[3] for r in results)
    return {
        "machine": machine(),
        "backend": backend,
        "packages": count,
        "workers": workers,
        "wall_s": wall,
        "packages_per_s": count / wall,
        "per_core_per_s": count / wall / workers,
        "evaluate_only_per_core_per_s": count / evaluating,
        "distinct_reports": len({h for _, h in digests}),
        "digest": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backend", choices=["durable", "python"], default="durable")
    args = parser.parse_args()
    r = run(args.packages, args.workers, args.backend)
    print(f"machine: {r['machine']}")
    print(
        f"{r['backend']}: {r['packages']} distinct packages (parse JSON + evaluate + render) in "
        f"{r['wall_s']:.2f} s with {r['workers']} worker processes: {r['packages_per_s']:.0f} "
        f"packages/s, {r['per_core_per_s']:.0f} per core; evaluation alone "
        f"{r['evaluate_only_per_core_per_s']:.0f} per core"
    )
    print(f"{r['distinct_reports']} distinct reports; digest of all reports {r['digest'][:16]}")


if __name__ == "__main__":
    main()
