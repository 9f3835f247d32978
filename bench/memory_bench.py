"""Memory: RSS over many evaluations in one process (durable_rules sessions are created and deleted).

Run: .venv/bin/python bench/memory_bench.py [--evaluations 100000]
Prints RSS after warm-up and every 10 % of the run, and the growth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

from bench.corpus import variants
from engine.backends.durable_adapter import DurableBackend
from engine.evaluate import Evaluator
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES


def rss_mb() -> float:
    """Current resident set size, from /proc (ru_maxrss is only the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evaluations", type=int, default=100_000)
    count = parser.parse_args().evaluations
    backend = DurableBackend()
    evaluator = Evaluator(backend)
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    packages = variants(200)
    as_of = dt.date(2024, 8, 1)
    for package in packages:  # warm up: caches filled, ruleset registered
        evaluator.evaluate(package, rubric, mode="bureau", as_of=as_of)
    start_rss, start = rss_mb(), time.perf_counter()
    print(f"after warm-up: RSS {start_rss:.1f} MB")
    step = max(1, count // 10)
    for i in range(1, count + 1):
        evaluator.evaluate(packages[i % len(packages)], rubric, mode="bureau", as_of=as_of)
        if i % step == 0:
            print(f"{i:>7} evaluations: RSS {rss_mb():.1f} MB ({time.perf_counter() - start:.0f} s)")
    print(f"growth over {count} evaluations: {rss_mb() - start_rss:+.1f} MB; live rulesets: {backend.live_rulesets()}")


if __name__ == "__main__":
    main()
