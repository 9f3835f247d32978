"""The batch queue's own cost: procrastinate's per-package work, with scoring left out.

Run: .venv/bin/python -m bench.batch_queue_bench [--jobs 1000] [--database-url URL]

On PostgreSQL (default: the `test` database on 127.0.0.1, in a schema made and dropped for the
run), it defers `--jobs` batch jobs the way an upload does (one transaction, procrastinate's
`batch_defer` on our connection), then runs one replica's procrastinate worker (the app's
settings: concurrency 1, NOTIFY) with the scoring stubbed out until the queue is empty.
Printed: jobs, the wall time and this process's CPU time of each phase, and per job. The
PostgreSQL server's own CPU is not included. Compare with the scoring of one package
(docs/performance.md, section 1: milliseconds per package) to see the queue's share.
Not a test: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import sqlalchemy as sa

from service.batch_queue import QUEUE, BatchQueue
from service.batches import BatchRunner
from service.settings import Settings
from service.store import Store

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class _NoScoring(BatchRunner):
    """The runner with scoring left out: the job returns at once."""

    async def run(self, batch_id: str, idx: int) -> str:
        return "done"


def main(argv: list[str] | None = None) -> int:
    """Defer and run `--jobs` jobs; print the costs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args(argv)
    schema = f"bench_queue_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    store = Store(url)
    try:
        store.migrate()
        settings = Settings(database_url=url, batch_workers=1, bootstrap_admin=False)
        queue = BatchQueue(settings, _NoScoring(settings, None, store), store)  # type: ignore[arg-type]
        figures: dict[str, Any] = {"jobs": args.jobs}
        wall, cpu = time.perf_counter(), time.process_time()
        with store.write() as session:
            queue.enqueue_in(session, "bench", args.jobs)
        figures["defer"] = (time.perf_counter() - wall, time.process_time() - cpu)

        async def work() -> None:
            assert queue.app is not None
            async with queue.app.open_async():
                await queue.app.run_worker_async(
                    queues=[QUEUE],
                    wait=False,
                    concurrency=queue.concurrency,
                    install_signal_handlers=False,
                    delete_jobs="successful",
                )

        wall, cpu = time.perf_counter(), time.process_time()
        asyncio.run(work())
        figures["run"] = (time.perf_counter() - wall, time.process_time() - cpu)
        with store.engine.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM procrastinate_jobs")).scalar_one()
        print(f"jobs: {args.jobs} (left in the queue afterwards: {left})")
        for phase in ("defer", "run"):
            seconds, cpu_seconds = figures[phase]
            print(
                f"{phase:>5}: wall {seconds:.3f} s, CPU {cpu_seconds:.3f} s;"
                f" per job wall {1000 * seconds / args.jobs:.3f} ms,"
                f" CPU {1000 * cpu_seconds / args.jobs:.3f} ms"
            )
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
