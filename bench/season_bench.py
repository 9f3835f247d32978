"""The season from the command line: `jixiao score FOLDER --jobs N --summary …` over generated dossiers.

Run: .venv/bin/python -m bench.season_bench [--count 200] [--broken 5] [--jobs 1 2]

Writes `bench.dossiers.generate(count, broken)` to a temporary folder, then for each --jobs value
runs the real command (`python -m engine.cli score FOLDER --jobs N --summary results.csv`, plus
.xlsx) as a child process and prints: wall-clock seconds, packages per second (import of the
documents + evaluation + report, everything a user waits for, process start included), the
CPU seconds the command used over its wall-clock (≈ cores kept busy), the failures it listed,
and whether every summary is byte-identical to the first run's. Not a test: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.dossiers import generate
from bench.engine_bench import machine

RUBRIC = "yueyang-fujian5@2024.2"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Run:
    """The figures of one run."""

    wall: float
    cpu: float
    exit: int
    failures: list[str]


def run(folder: Path, jobs: int, out: Path) -> Run:
    """One run of the command; its figures."""
    command = [
        sys.executable, "-m", "engine.cli", "score", str(folder), "--rubric", RUBRIC,
        "--jobs", str(jobs), "--summary", str(out / f"results-{jobs}.csv"),
    ]  # fmt: skip
    cpu, began = _cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall, used = time.perf_counter() - began, _cpu() - cpu
    failures = [line for line in done.stdout.splitlines() if line.startswith("失败")]
    return Run(wall, used, done.returncode, failures)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--broken", type=int, default=5)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "season", Path(tmp) / "out"
        out.mkdir()
        generate(folder, args.count, args.broken)
        first: bytes | None = None
        for jobs in args.jobs:
            r = run(folder, jobs, out)
            summary = (out / f"results-{jobs}.csv").read_bytes()
            first = summary if first is None else first
            wall, cpu = r.wall, r.cpu
            print(
                f"--jobs {jobs}: {args.count} dossiers in {wall:.1f} s = "
                f"{args.count / wall:.1f} packages/s; CPU {cpu:.1f} s = {cpu / wall:.2f} cores busy; "
                f"exit {r.exit}; {len(r.failures)} failures listed; "
                f"summary identical to the first run: {summary == first}"
            )
            for line in r.failures:
                print(f"    {line}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
