"""In-process benchmark: time to score the example package (already parsed), per backend.

Run: .venv/bin/python -m bench.engine_bench [--rounds 3000] [--json FILE]

Both backends are timed in the same run, in alternating blocks of 50 rounds, so that a noisy
neighbour on the machine slows both alike. For each backend it prints the median and p99 of:

- `evaluate`: Evaluator.evaluate on the same, already parsed Package object (measures, fact
  validation, rule matching and report assembly: the "whole evaluation");
- `+render`: the same plus render_json (the JSON text the service stores and returns);
- `fresh`: evaluate on a fresh copy of the package each round (Package.model_validate_json of
  its JSON, untimed), so that nothing cached on the package's own objects (rendered locations,
  the package digest) is warm;
- `cold`: a fresh copy and, before it (untimed), every text-keyed cache of the measures
  emptied (normalised texts, parsed cells): the cost of a package never seen before;

then the median time per phase (validation, measures, matching, report) from the evaluator's
phase hook, and the durable/python ratios. Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.backends.plan import Backend
from engine.dossier import load_package
from engine.evaluate import Evaluator, render_json
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023" / "dossier.toml"
RUBRIC = BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml"
AS_OF = dt.date(2024, 6, 28)
PHASES = ("validation", "measures", "matching", "report")
KINDS = ("evaluate", "+render", "fresh", "cold")
BLOCK = 50


def machine() -> str:
    """CPU model, cores and Python: the line every figure in docs/performance.md carries."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def quantile(times: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `times`, in milliseconds."""
    ordered = sorted(times)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))
    return ordered[rank] * 1000


def _timed(fn: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def clear_text_caches() -> None:
    """Empty the measures' caches keyed by text (they make a re-scored package cheaper)."""
    from engine.measures import arithmetic, quantity, text

    text.norm.cache_clear()
    quantity._PARSED.clear()
    normalized = getattr(arithmetic, "_normalized", None)  # absent before the speed work
    if normalized is not None:
        normalized.cache_clear()


def _hooked(backend: Backend, sink: dict[str, list[float]]) -> Evaluator | None:
    """An evaluator reporting its phases into `sink` (None where the engine has no hook)."""
    try:
        # The engine before the phase hook (for before/after runs) has no on_phase.
        return Evaluator(backend, on_phase=lambda phase, s: sink[phase].append(s))  # type: ignore[call-arg, unused-ignore]
    except TypeError:
        return None


def run(rounds: int, only: str | None = None) -> dict[str, Any]:
    """Every figure of the in-process benchmark, as a dict (`only`: one backend, no ratio)."""
    package = load_package(EXAMPLE)
    rubric = load_rubric(RUBRIC, [BUNDLED_RULES])
    package_json = package.model_dump_json()
    backends: dict[str, Backend] = {"durable": DurableBackend(), "python": PythonBackend()}
    if only is not None:
        backends = {only: backends[only]}
    phases: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in backends}
    plain = {n: Evaluator(b) for n, b in backends.items()}
    hooked = {n: _hooked(b, phases[n]) for n, b in backends.items()}
    reports = {
        n: render_json(e.evaluate(package, rubric, mode="bureau", as_of=AS_OF))
        for n, e in plain.items()
    }
    assert len(set(reports.values())) == 1, "the backends disagree"
    for _ in range(100):  # warm up: registration, caches
        for e in plain.values():
            e.evaluate(package, rubric, mode="bureau", as_of=AS_OF)
    times: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in backends}
    gc.collect()
    # Blocks of BLOCK rounds of one kind with one backend, cycling through backends and kinds:
    # over the run both backends meet the same noise, and within a block the CPU caches hold
    # one backend's working set, as in a process that runs only one.
    for _ in range(max(1, rounds // BLOCK)):
        for name, evaluator in plain.items():

            def score(p: Package, e: Evaluator = evaluator) -> dict[str, Any]:
                return e.evaluate(p, rubric, mode="bureau", as_of=AS_OF)

            def score_and_render(p: Package, e: Evaluator = evaluator) -> str:
                return render_json(e.evaluate(p, rubric, mode="bureau", as_of=AS_OF))

            for _ in range(BLOCK):
                times[name]["evaluate"].append(_timed(score, package))
            for _ in range(BLOCK):
                times[name]["+render"].append(_timed(score_and_render, package))
            for _ in range(BLOCK):
                fresh = Package.model_validate_json(package_json)
                times[name]["fresh"].append(_timed(score, fresh))
            for _ in range(BLOCK):
                fresh = Package.model_validate_json(package_json)
                clear_text_caches()
                times[name]["cold"].append(_timed(score, fresh))
            if (h := hooked[name]) is not None:
                for _ in range(BLOCK):
                    h.evaluate(package, rubric, mode="bureau", as_of=AS_OF)
    out: dict[str, Any] = {"machine": machine(), "rounds": rounds, "backends": {}}
    for name in backends:
        figures = {
            kind: {"median_ms": quantile(ts, 0.5), "p99_ms": quantile(ts, 0.99)}
            for kind, ts in times[name].items()
        }
        figures["phases_median_ms"] = {
            p: statistics.median(phases[name][p]) * 1000 for p in PHASES if phases[name][p]
        }
        out["backends"][name] = figures
    if only is None:
        durable, python = out["backends"]["durable"], out["backends"]["python"]
        out["ratio_durable_over_python"] = {
            kind: durable[kind]["median_ms"] / python[kind]["median_ms"] for kind in KINDS
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--only", choices=["durable", "python"], help="time one backend alone")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(args.rounds, args.only)
    print(f"machine: {result['machine']}; {result['rounds']} rounds per backend and kind")
    for name, figures in result["backends"].items():
        for kind in KINDS:
            f = figures[kind]
            print(f"{name:8s} {kind:9s} median {f['median_ms']:.3f} ms  p99 {f['p99_ms']:.3f} ms")
        shown = "  ".join(f"{p} {v:.3f}" for p, v in figures["phases_median_ms"].items())
        print(f"{name:8s} phases (median ms): {shown}")
    if "ratio_durable_over_python" in result:
        ratios = "  ".join(f"{k} {v:.2f}x" for k, v in result["ratio_durable_over_python"].items())
        print(f"ratio durable/python (medians): {ratios}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
