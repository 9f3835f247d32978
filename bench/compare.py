"""Before/after in one run: the same load against a base tree (main's code) and this tree.

Run: .venv/bin/python -m bench.compare [--base /tmp/jixiao-base] [--only inproc stored load]

The base tree is main's code checked out into a temporary folder with its own venv:

    git worktree add --detach /tmp/jixiao-base 5727571
    (cd /tmp/jixiao-base && python3.11 -m venv .venv && .venv/bin/pip install -q -e '.[dev,service]')

Each measurement runs on both trees back to back (base first, then this tree, `--repeat`
times alternating), each with its own interpreter and working directory, and prints
after/before ratios. Measures:

- `inproc`: bench/probe.py inproc: import + evaluate + render of the example, with every
  engine cache emptied before each round (a package never seen), CPU time of the thread;
- `phases`: bench/probe.py phases: the same never-seen package phase by phase (import, package
  digest, measures, validation, matching, report, render), CPU ms, median;
- `batch`: bench/probe.py batch: distinct texts read and scored in one thread, per CPU second;
- `stored`: `jixiao serve` (one process) on a fresh SQLite store; `--requests` sequential POSTs
  of the example (JSON body with package.txt's text); the server's CPU time (utime + stime of
  its process, from /proc) per stored evaluation, and the latency median;
- `appends`: bench/probe.py appends: 4 processes × `--append-threads` threads (16) appending
  audit events to one fresh PostgreSQL schema (each append waits for its own commit: its own
  transaction on main, its group commit's on this tree): appends/s, and whether
  `audit verify` finds the chain intact afterwards;
- `load`: the same server under wrk, 32 connections, `--duration` s: stored evaluations/s,
  p50, p99, and the server's CPU per evaluation (all its processes);
- `openloop`: one server process, requests sent at `--rate` per second for `--duration` s
  whatever the answers (open loop; latency counted from when each was due): p50, p99;
- `openloop-multi`: the same against every core (as `multi` starts it);
- `multi`: the same with every core: `serve --workers <cores>` on main (its only way),
  `serve --processes <cores>` (HAProxy in front) on this tree.

CPU times come from the kernel's accounting of the measured process, so a neighbour's load
changes them far less than wall-clock figures; throughput and latencies are wall-clock and are
printed with the load average. Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from bench.engine_bench import machine
from bench.http_bench import RUBRIC, body, database, wrk
from tests.serving import free_port

HERE = Path(__file__).resolve().parent.parent
PROBE = HERE / "bench" / "probe.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The one-, five- and fifteen-minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def python_of(tree: Path) -> str:
    """The interpreter of a tree's venv."""
    return str(tree / ".venv" / "bin" / "python")


def env_of(url: str | None = None) -> dict[str, str]:
    """The environment without JIXIAO_* settings (and the store URL when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.pop("PYTHONPATH", None)
    if url:
        env |= {"JIXIAO_DATABASE_URL": url, "JIXIAO_BOOTSTRAP_ADMIN": "false"}
    return env


def probe(tree: Path, *args: str) -> dict[str, Any]:
    """bench/probe.py (this tree's) run on `tree`'s code; its JSON."""
    out = subprocess.run(
        [python_of(tree), str(PROBE), *args],
        cwd=tree, env=env_of(), capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (children not waited for are not included)."""
    total = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def group_pids(pgid: int) -> list[int]:
    """Every process of a process group (the server and its workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[2]) == pgid:
                    out.append(int(entry.name))
    return out


def reviewer_key(tree: Path, url: str) -> str:
    """`jixiao keys create --role reviewer` with the tree's code (it migrates the store too)."""
    out = subprocess.run(
        [python_of(tree), "-m", "service.cli", "keys", "create", "--role", "reviewer",
         "--name", "bench", "--init"],
        cwd=tree, env=env_of(url), capture_output=True, text=True, check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def serve(tree: Path, url: str, log: Path, command: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """The tree's `jixiao serve` (or `command`) on a free port: (base URL, process group id)."""
    port = free_port()
    argv = command or [python_of(tree), "-m", "service.cli", "serve", "--host", "127.0.0.1",
                       "--port", "{port}"]
    argv = [a.replace("{port}", str(port)) for a in argv]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=tree, env=env_of(url), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start:\n" + log.read_text("utf-8", "replace"))
            time.sleep(0.2)
        yield base, process.pid
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stored_one_at_a_time(tree: Path, db: str, requests: int) -> dict[str, Any]:
    """Sequential stored evaluations: server CPU ms and latency per request."""
    payload = body("json").encode("utf-8")
    with database(db) as url, tempfile.TemporaryDirectory() as tmp:
        key = reviewer_key(tree, url)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        target = f"/v1/evaluations?rubric={RUBRIC}"
        with serve(tree, url, Path(tmp) / "server.log") as (base, pgid), httpx.Client(
            base_url=base, headers=headers, timeout=60
        ) as client:
            for _ in range(30):  # warm-up: imports, caches, connection pool
                client.post(target, content=payload).raise_for_status()
            pids = group_pids(pgid)
            before = cpu_seconds(pids)
            latencies = []
            for _ in range(requests):
                start = time.perf_counter()
                client.post(target, content=payload).raise_for_status()
                latencies.append(time.perf_counter() - start)
            cpu = cpu_seconds(pids) - before
    return {
        "db": db,
        "requests": requests,
        "server_cpu_ms_per_request": round(cpu / requests * 1000, 2),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 2),
    }


def under_load(
    tree: Path, db: str, seconds: int, connections: int, command: list[str] | None = None
) -> dict[str, Any]:
    """wrk at `connections` connections: stored evaluations/s, p50/p99, server CPU per request."""
    payload = body("json")
    with database(db) as url, tempfile.TemporaryDirectory() as tmp:
        key = reviewer_key(tree, url)
        with serve(tree, url, Path(tmp) / "server.log", command) as (base, pgid):
            wrk(base, key, payload, 3, connections)  # warm up every worker
            time.sleep(2)
            pids = group_pids(pgid)
            before = cpu_seconds(pids)
            figures = wrk(base, key, payload, seconds, connections)
            cpu = cpu_seconds(pids) - before
    duration = figures["duration_us"] / 1e6
    return {
        "db": db,
        "connections": connections,
        "requests_per_s": round(figures["requests"] / duration, 1),
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "non_2xx": int(figures["non2xx"]),
        "server_cpu_ms_per_request": round(cpu / max(1.0, figures["requests"]) * 1000, 2),
        "load": load_average(),
    }


def open_loop(
    tree: Path, db: str, seconds: int, rate: float, command: list[str] | None = None
) -> dict[str, Any]:
    """Requests sent at a fixed rate whatever the answers (open loop): latency p50/p99.

    Each latency counts from the moment the request was due, so a server that falls behind
    shows it (no coordinated omission). Sent by asyncio + httpx from this process.
    """
    import asyncio

    payload = body("json").encode("utf-8")

    async def run(base: str, key: str) -> tuple[list[float], int]:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        latencies: list[float] = []
        failed = 0
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them,
        # so a request never races the server's close of the connection it reuses.
        limits = httpx.Limits(
            max_connections=256, max_keepalive_connections=256, keepalive_expiry=3
        )
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:

            async def one(due: float) -> None:
                nonlocal failed
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                try:
                    response = await client.post(
                        f"/v1/evaluations?rubric={RUBRIC}", content=payload
                    )
                except httpx.TransportError:
                    failed += 1  # counted, not retried
                    return
                if response.status_code != 201:
                    failed += 1
                latencies.append(time.perf_counter() - due)

            start = time.perf_counter() + 0.5
            count = int(seconds * rate)
            await asyncio.gather(*(one(start + i / rate) for i in range(count)))
        return latencies, failed

    with database(db) as url, tempfile.TemporaryDirectory() as tmp:
        key = reviewer_key(tree, url)
        with serve(tree, url, Path(tmp) / "server.log", command) as (base, _pgid):
            asyncio.run(_warm(base, key, payload))
            latencies, failed = asyncio.run(run(base, key))
    ordered = sorted(latencies)
    return {
        "db": db,
        "rate_per_s": rate,
        "requests": len(ordered),
        "failed": failed,
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[max(0, round(0.99 * len(ordered)) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "load": load_average(),
    }


async def _warm(base: str, key: str, payload: bytes) -> None:
    """Twenty requests one after the other: imports, caches and connections warm."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(20):
            (await client.post(f"/v1/evaluations?rubric={RUBRIC}", content=payload)).raise_for_status()


def ratio(before: float, after: float) -> str:
    """after/before, as `×0.42`."""
    return f"×{after / before:.2f}" if before else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=Path("/tmp/jixiao-base"))
    parser.add_argument("--only", nargs="+", default=["inproc", "batch", "stored", "load"],
                        choices=["inproc", "phases", "batch", "stored", "load", "multi", "appends",
                                 "openloop", "openloop-multi"])
    parser.add_argument("--rate", type=float, default=15.0,
                        help="openloop: requests per second (about half of saturation here)")
    parser.add_argument("--rounds", type=int, default=300, help="inproc rounds")
    parser.add_argument("--requests", type=int, default=200, help="sequential stored requests")
    parser.add_argument("--duration", type=int, default=20, help="seconds of wrk load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--db", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument("--append-threads", type=int, default=16,
                        help="appends: threads in each of the 4 processes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    trees = {"before": args.base.resolve(), "after": HERE}
    for tree in trees.values():
        if not Path(python_of(tree)).exists():
            raise SystemExit(f"{tree} has no .venv (see this script's docstring)")
    if "load" in args.only and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    print(f"machine: {machine()}; load {load_average()}")
    print(f"before = {trees['before']}, after = {trees['after']}")
    results: dict[str, list[dict[str, Any]]] = {}

    def record(name: str, which: str, figures: dict[str, Any]) -> None:
        results.setdefault(name, []).append({"tree": which, **figures})
        print(f"  {name:18s} {which:6s} {json.dumps(figures, ensure_ascii=False)}", flush=True)

    for _ in range(args.repeat):
        for which, tree in trees.items():
            if "appends" in args.only:
                with database("postgresql") as url:
                    record("appends-postgresql", which, probe(
                        tree, "appends", "--url", url, "--threads", str(args.append_threads)))
            if "inproc" in args.only:
                record("inproc-cold", which, probe(tree, "inproc", "--rounds", str(args.rounds), "--cold"))
                record("inproc-warm", which, probe(tree, "inproc", "--rounds", str(args.rounds)))
            if "phases" in args.only:
                record("phases", which, probe(tree, "phases", "--rounds", str(args.rounds)))
            if "batch" in args.only:
                record("batch", which, probe(tree, "batch", "--rounds", str(args.rounds * 2)))
            for db in args.db:
                if "stored" in args.only:
                    record(f"stored-{db}", which, stored_one_at_a_time(tree, db, args.requests))
                if "load" in args.only:
                    record(f"load-{db}", which, under_load(tree, db, args.duration, args.connections))
                # Every core: main's best is `--workers 2`; this tree's is HAProxy in front.
                cores = str(os.cpu_count() or 1)
                multi = ["--workers", cores] if which == "before" else ["--processes", cores]
                command = [python_of(tree), "-m", "service.cli", "serve", "--host",
                           "127.0.0.1", "--port", "{port}", *multi]
                if "openloop" in args.only:
                    record(f"openloop-{db}", which, open_loop(tree, db, args.duration, args.rate))
                if "openloop-multi" in args.only:
                    record(f"openloop-multi-{db}", which,
                           open_loop(tree, db, args.duration, args.rate, command))
                if "multi" in args.only:
                    record(f"multi-{db}", which,
                           under_load(tree, db, args.duration, args.connections, command))
    print("ratios (after/before, medians over repeats):")
    for name, rows in results.items():
        keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        parts = []
        for k in keys:
            b = statistics.median(r[k] for r in rows if r["tree"] == "before")
            a = statistics.median(r[k] for r in rows if r["tree"] == "after")
            if k in ("rounds", "requests", "packages", "connections"):
                continue
            parts.append(f"{k} {b:g} → {a:g} ({ratio(b, a)})")
        print(f"  {name}: " + "; ".join(parts))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
