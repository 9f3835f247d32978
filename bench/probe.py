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
- `appends`: `--processes` processes × `--threads` threads, each appending `created` audit
  events (one transaction each, as a stored evaluation does) to the store at `--url` for
  `--seconds`: appends per second, and `jixiao audit verify`'s verdict afterwards.
- `phases`: `inproc --cold` phase by phase: import, the package digest (decision_id's hash of
  the package JSON), the evaluator's phases from its `on_phase` hook (measures, validation,
  matching, report) and render; CPU ms, median;
- `batch`: the same on distinct texts (a line added at the end of each),
  caches kept warm, as a batch of a season's packages runs: packages per CPU second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
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


def phases(rounds: int) -> dict[str, Any]:
    """A never-seen package, phase by phase (CPU ms, median): import, the package digest,
    then the evaluator's own phases (measures, validation, matching, report without the
    digest) and render. Every engine cache is emptied before each round, as `inproc --cold`."""
    from engine.evaluate.run import package_digest

    manifest: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    names = manifest.get("documents", [])
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    dossier = parse_manifest(manifest, file="dossier.toml")
    rubric = load_rubric(RUBRIC, [BUNDLED_RULES])
    spent: dict[str, list[float]] = {}

    def hook(name: str, seconds: float) -> None:
        spent.setdefault(name, []).append(seconds)

    # The evaluator's phase hook reads time.perf_counter (wall clock); on a shared machine CPU
    # time is the steadier measure, so the module's clock is the thread's CPU clock here.
    import types

    import engine.evaluate.run as run_module

    clock: Any = types.SimpleNamespace(perf_counter=time.thread_time)
    setattr(run_module, "time", clock)  # noqa: B010  (the module does not export its import)
    evaluator = Evaluator(DurableBackend(), on_phase=hook)
    for i in range(rounds + 20):
        clear_engine_caches()
        t0 = time.thread_time()
        package = assemble(dossier, [(n, text) for n in names])
        t1 = time.thread_time()
        package_digest(package)
        t2 = time.thread_time()
        report = evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF)
        t3 = time.thread_time()
        render_json(report)
        t4 = time.thread_time()
        for name, seconds in (("import", t1 - t0), ("digest", t2 - t1), ("render", t4 - t3)):
            spent.setdefault(name, []).append(seconds)
        if i < 20:  # warm-up rounds are not counted
            for values in spent.values():
                values.clear()
    order = ["import", "digest", "measures", "validation", "matching", "report", "render"]
    return {"rounds": rounds, **{f"{k}_median_ms": _median_ms(spent[k]) for k in order}}


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


def _appender(
    url: str, threads: int, seconds: float, start: float, counts: Any, release: Any
) -> None:
    """One process: `threads` threads appending until `start + seconds`."""
    import threading

    from service import audit
    from service.store import Store

    store = Store(url)
    actor = audit.Actor("bench", "reviewer", "bench")
    done = [0] * threads
    try:  # a tree with group commit: each thread hands its append to the process's writer
        from service.groupcommit import GroupCommit, Pending
    except ImportError:
        writer = None
    else:
        writer = GroupCommit(store)

    def work(n: int) -> None:
        i = 0
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < start + seconds:
            evaluation_id = f"{os.getpid()}-{n}-{i}"
            if writer is not None:
                payload = audit.canonical({"n": n, "i": i})
                event = audit.NewEvent(evaluation_id, actor, ("r", "1", "s"), payload)
                writer.store_now(Pending(event))
            else:
                with store.write() as session:
                    audit.append(
                        session,
                        evaluation_id=evaluation_id,
                        kind="created",
                        actor=actor,
                        at="2024-07-01T00:00:00.000+00:00",
                        rubric=("r", "1", "s"),
                        payload={"n": n, "i": i},
                    )
            i += 1
        done[n] = i

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if writer is not None:
        writer.close()
    counts.put(sum(done))
    release.wait(60)  # keep the connections (and their server processes) until counted
    store.dispose()


def _postgres_cpu() -> float:
    """utime + stime, in seconds, of every process named `postgres` (readable as root)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def appends(url: str, processes: int, threads: int, seconds: float) -> dict[str, Any]:
    """Audit appends per second from several processes into one store."""
    import multiprocessing

    from service import audit
    from service.store import Store

    store = Store(url)
    store.migrate()
    context = multiprocessing.get_context("fork")
    counts = context.Queue()
    release = context.Event()
    start = time.time() + 2  # every process connected and waiting
    procs = [
        context.Process(target=_appender, args=(url, threads, seconds, start, counts, release))
        for _ in range(processes)
    ]
    postgres_before = _postgres_cpu()
    for p in procs:
        p.start()
    total = sum(counts.get() for _ in procs)
    postgres_cpu = _postgres_cpu() - postgres_before
    release.set()
    for p in procs:
        p.join()
    client_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    with store.read() as session:
        result = audit.verify(session)
    store.dispose()
    orphans = all("missing from the store" in p for p in result.problems)
    return {
        "processes": processes,
        "threads": threads,
        "seconds": seconds,
        "appends": total,
        "appends_per_s": round(total / seconds, 1),
        # CPU per append, of the appending processes and of every PostgreSQL process (the
        # database's backends, WAL writer, …: the local server serves nothing else meanwhile,
        # except other users of the machine's database): what 2 cores could sustain.
        "client_cpu_ms_per_append": round(client_cpu / max(total, 1) * 1000, 3),
        "postgres_cpu_ms_per_append": round(postgres_cpu / max(total, 1) * 1000, 3),
        "appends_per_s_on_2_cores_by_cpu": round(
            2 / max((client_cpu + postgres_cpu) / max(total, 1), 1e-9)
        ),
        "verified_events": result.events,
        "chain_intact": orphans,  # the only problems: the events name no stored evaluation
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["inproc", "phases", "batch", "appends"])
    parser.add_argument("--url")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    if args.what == "appends":
        out = appends(args.url, args.processes, args.threads, args.seconds)
    elif args.what == "inproc":
        out = inproc(args.rounds, args.cold)
    elif args.what == "phases":
        out = phases(args.rounds)
    else:
        out = batch(args.rounds)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
