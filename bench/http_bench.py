"""HTTP load: stored evaluations (POST /v1/evaluations) against `jixiao serve` on loopback.

Run: .venv/bin/python -m bench.http_bench [--workers 1 2] [--db sqlite postgresql]
     [--body json package] [--duration 20] [--connections 32]

For each combination it starts a fresh store (a new SQLite file, or a new schema of the
PostgreSQL database `test` on 127.0.0.1:5432, dropped afterwards), creates a reviewer key,
starts `jixiao serve --workers N` on a free port, warms it up, then runs Debian's `wrk`
(apt-get install wrk: a C load generator, so it takes little of the server's two cores) for a
fixed time with a fixed number of connections, every request the example package:

- `json`: the manifest's fields as JSON with package.txt's text (the documented API: the
  server imports the text, then scores);
- `package`: `{"package": …}`, the package already parsed, as the engine's JSON.

Printed per run: requests/s, p50 and p99 latency (wrk's, per request as sent), the status
counts, and the evaluations actually stored (counted in the database afterwards).
Not a test: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.corpus import EXAMPLE, example
from bench.engine_bench import machine
from tests.serving import Serve

RUBRIC = "yueyang-fujian5@2024.1"
PG_ADMIN = "postgresql+psycopg://{user}@127.0.0.1:5432/test"

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.body = [=====[{body}]=====]
local statuses = {{}}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("JX requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
    .. "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d non2xx=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status))
end
"""


def body(kind: str) -> str:
    """The request body: the example as manifest JSON with its text, or as a parsed Package."""
    if kind == "package":
        return json.dumps({"package": json.loads(example().model_dump_json())}, ensure_ascii=False)
    manifest = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    manifest.pop("documents")
    data: dict[str, Any] = json.loads(json.dumps(manifest, default=str))
    data["documents"] = [{"name": "package.txt", "text": (EXAMPLE / "package.txt").read_text("utf-8")}]
    return json.dumps(data, ensure_ascii=False)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        try:
            yield f"sqlite:///{folder / 'jixiao.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = None
    for user in ("postgres", "root"):
        engine = sa.create_engine(PG_ADMIN.format(user=user), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            admin = PG_ADMIN.format(user=user)
            break
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    if admin is None:
        raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432/test")
    schema = f"jixiao_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def reviewer_key(url: str) -> str:
    """Migrate the store and create a reviewer key in it."""
    from service.auth import create_key
    from service.store import Store

    store = Store(url)
    try:
        store.migrate()
        with store.write() as session:
            return create_key(session, role="reviewer", name="bench", created_by="bench")[1]
    finally:
        store.dispose()


def stored(url: str) -> int:
    """How many evaluations the store holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM evaluations")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def server(url: str, workers: int, log: Path) -> Iterator[str]:
    """`jixiao serve` on a free port (tests.serving, the one helper); its group stopped at the end."""
    # INFO: the service's default, one JSON line per request, as in the recorded figures.
    process = Serve(log, env={"JIXIAO_DATABASE_URL": url, "JIXIAO_LOG_LEVEL": "INFO"}, workers=workers)
    try:
        process.start(timeout=60)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    try:
        yield process.base
    finally:
        process.stop()


def wrk(base: str, key: str, payload: str, seconds: int, connections: int) -> dict[str, float]:
    """One wrk run; its figures, parsed from the line the Lua `done` hook prints."""
    if "]=====]" in payload:
        raise SystemExit("the body contains the Lua long-bracket terminator")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as fh:
        fh.write(_LUA.format(key=key, body=payload))
        script = fh.name
    try:
        result = subprocess.run(
            ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
             "-s", script, f"{base}/v1/evaluations?rubric={RUBRIC}"],
            capture_output=True, text=True, check=True,
        )
    finally:
        os.unlink(script)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("JX "))
    return {k: float(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def settled(url: str) -> int:
    """The stored count once requests still in flight have finished (it stops changing)."""
    last = -1
    while (now := stored(url)) != last:
        last = now
        time.sleep(1.5)
    return now


def run_one(db: str, workers: int, kind: str, seconds: int, connections: int) -> dict[str, Any]:
    """One combination: fresh store and server, warm-up, a timed wrk run, stored count."""
    payload = body(kind)
    with database(db) as url, tempfile.TemporaryDirectory() as tmp:
        key = reviewer_key(url)
        with server(url, workers, Path(tmp) / "server.log") as base:
            wrk(base, key, payload, 3, connections)  # warm up every worker
            before = settled(url)  # the warm-up's last requests are still being answered
            figures = wrk(base, key, payload, seconds, connections)
            after = settled(url)  # wrk stops with requests in flight: they are stored too
    seconds_run = figures["duration_us"] / 1e6
    return {
        "db": db,
        "workers": workers,
        "body": kind,
        "connections": connections,
        "duration_s": seconds_run,
        "requests": int(figures["requests"]),
        "requests_per_s": figures["requests"] / seconds_run,
        "p50_ms": figures["p50_us"] / 1000,
        "p90_ms": figures["p90_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "non_2xx": int(figures["non2xx"]),
        "socket_errors": int(
            figures["connect_errors"] + figures["read_errors"] + figures["write_errors"]
            + figures["timeouts"]
        ),
        # Stored during the run, the requests in flight at its end included (≥ wrk's count).
        "stored": after - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--body", nargs="+", choices=["json", "package"], default=["json", "package"])
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    print(f"machine: {machine()}; wrk 1 thread, {args.connections} connections, {args.duration} s")
    results = []
    for db in args.db:
        for workers in args.workers:
            for kind in args.body:
                r = run_one(db, workers, kind, args.duration, args.connections)
                results.append(r)
                print(
                    f"{db:10s} workers={workers} body={kind:7s} {r['requests_per_s']:6.1f} req/s  "
                    f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                    f"answered {r['requests']}, stored {r['stored']}  non-2xx {r['non_2xx']}  "
                    f"socket errors {r['socket_errors']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
