"""Memory: RSS over many evaluations in one process, each on a package object never seen before.

Run: .venv/bin/python -m bench.memory_bench [--evaluations 100000] [--backend durable]

Every evaluation scores a fresh Package, validated from the JSON of one of 500 generated
variations (as a service does with each request), then renders the report: anything the
engine keeps per package would show as growth. Printed: RSS after a warm-up of 2,000
evaluations, every 10 % of the run, the growth, and the durable_rules sessions (open now,
most ever open at once: the limit that breaks a ruleset is 1,024 live sessions).
Not a test: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import resource
import time
from pathlib import Path
from typing import Any

from bench.corpus import example, variant_json
from bench.engine_bench import machine
from engine.backends import PythonBackend
from engine.backends.plan import Backend
from engine.evaluate import Evaluator, render_json
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

WARM_UP = 2000
AS_OF = dt.date(2024, 8, 1)


def rss_mb() -> float:
    """Current resident set size, from /proc (ru_maxrss is only the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(count: int, backend_name: str) -> dict[str, Any]:
    """Every figure of the memory benchmark, as a dict."""
    backend: Backend
    if backend_name == "durable":
        from engine.backends.durable_adapter import DurableBackend

        backend = DurableBackend()
    else:
        backend = PythonBackend()
    evaluator = Evaluator(backend)
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    base = example()
    corpus = [variant_json(base, i) for i in range(500)]
    del base

    def one(i: int) -> None:
        package = Package.model_validate_json(corpus[i % len(corpus)])
        render_json(evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF))

    for i in range(WARM_UP):
        one(i)
    gc.collect()
    start_rss, start = rss_mb(), time.perf_counter()
    print(f"after {WARM_UP} warm-up evaluations: RSS {start_rss:.1f} MB", flush=True)
    points = []
    step = max(1, count // 10)
    for i in range(1, count + 1):
        one(WARM_UP + i)
        if i % step == 0:
            rss = rss_mb()
            points.append((i, rss))
            print(f"{i:>7} evaluations: RSS {rss:.1f} MB ({time.perf_counter() - start:.0f} s)", flush=True)
    gc.collect()
    end_rss = rss_mb()
    sessions = {
        "open": getattr(backend, "open_sessions", None),
        "peak": getattr(backend, "peak_sessions", None),
    }
    # Past the live-session limit once more: a leaked session would have broken the ruleset.
    for i in range(1100):
        one(i)
    return {
        "machine": machine(),
        "backend": backend_name,
        "evaluations": count,
        "seconds": time.perf_counter() - start,
        "rss_after_warm_up_mb": start_rss,
        "rss_end_mb": end_rss,
        "growth_mb": end_rss - start_rss,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "points": points,
        "sessions": sessions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--backend", choices=["durable", "python"], default="durable")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    r = run(args.evaluations, args.backend)
    print(
        f"growth over {r['evaluations']} evaluations: {r['growth_mb']:+.1f} MB "
        f"(RSS {r['rss_after_warm_up_mb']:.1f} -> {r['rss_end_mb']:.1f} MB, peak {r['max_rss_mb']:.1f} MB) "
        f"in {r['seconds']:.0f} s; durable_rules sessions open {r['sessions']['open']}, "
        f"most at once {r['sessions']['peak']} (limit 1,024)"
    )
    if args.json:
        args.json.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
