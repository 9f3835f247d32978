"""In-process figures of one source tree, for `bench.compare` (which runs it on two trees).

Run by `bench.compare` as `<tree>/.venv/bin/python bench/probe.py <what> …` with the tree as
working directory and first on `sys.path`, so it measures that tree's engine. It uses only
functions that exist on both trees (engine.dossier, engine.evaluate, engine.rubric), and
prints one JSON object on stdout.

- `inproc`: the example's manifest and package.txt text → `assemble` (the text importer) →
  `Evaluator.evaluate` (durable_rules) → `render_json`, per round. `cold` empties every
  functools cache of the engine before each round (untimed), so nothing is known of the
  package: the cost of one never seen before. Times are CPU time of this thread
  (`time.thread_time`), so another process on the machine does not inflate them.
- `batch`: the same on distinct texts (a line added at the end of each),
  caches kept warm, as a batch of a season's packages runs: packages per CPU second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

from engine.backends.durable_adapter import DurableBackend
from engine.dossier import assemble, parse_manifest
from engine.evaluate import Evaluator, render_json
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
RUBRIC = BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml"
AS_OF = dt.date(2024, 6, 28)


def clear_engine_caches() -> int:
    """Empty every functools cache in the engine's modules; how many there were."""
    count = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("engine") or module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
                count += 1
    return count


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def _p99_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, round(0.99 * len(ordered)) - 1)] * 1000, 3)


def _variant(text: str, i: int) -> str:
    """The package text with a line added at its end, so each round's text is distinct."""
    return text + f"\n附注：第{i}份。\n"


def inproc(rounds: int, cold: bool) -> dict[str, Any]:
    """Import + evaluate + render of the example, CPU ms per phase (median, p99)."""
    manifest: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    names = manifest.get("documents", [])
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    dossier = parse_manifest(manifest, file="dossier.toml")
    rubric = load_rubric(RUBRIC, [BUNDLED_RULES])
    evaluator = Evaluator(DurableBackend())
    phases: dict[str, list[float]] = {"import": [], "evaluate": [], "render": [], "total": []}
    for i in range(rounds + 20):
        if cold:
            clear_engine_caches()
        docs: list[tuple[str, bytes | str]] = [(n, text) for n in names]
        t0 = time.thread_time()
        package = assemble(dossier, docs)
        t1 = time.thread_time()
        report = evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF)
        t2 = time.thread_time()
        render_json(report)
        t3 = time.thread_time()
        if i >= 20:  # warm-up rounds are not counted
            phases["import"].append(t1 - t0)
            phases["evaluate"].append(t2 - t1)
            phases["render"].append(t3 - t2)
            phases["total"].append(t3 - t0)
    return {
        "cold": cold,
        "rounds": rounds,
        **{f"{k}_median_ms": _median_ms(v) for k, v in phases.items()},
        **{f"{k}_p99_ms": _p99_ms(v) for k, v in phases.items()},
    }


def batch(count: int) -> dict[str, Any]:
    """`count` distinct packages read, scored and rendered in this one thread: per CPU second."""
    manifest: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    names = manifest.get("documents", [])
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    dossier = parse_manifest(manifest, file="dossier.toml")
    rubric = load_rubric(RUBRIC, [BUNDLED_RULES])
    evaluator = Evaluator(DurableBackend())
    texts = [_variant(text, i) for i in range(count)]
    gc.collect()
    start_cpu, start_wall = time.thread_time(), time.perf_counter()
    for body in texts:
        package = assemble(dossier, [(n, body) for n in names])
        render_json(evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF))
    cpu, wall = time.thread_time() - start_cpu, time.perf_counter() - start_wall
    return {
        "packages": count,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "packages_per_cpu_s": round(count / cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["inproc", "batch"])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    out = inproc(args.rounds, args.cold) if args.what == "inproc" else batch(args.rounds)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
