"""The batch queue: which replica scores which package, and the retry of a lost replica's.

PostgreSQL: procrastinate 3 (docs/decisions.md, "Batch queue"). Each package of a batch is a
job on the `jixiao-batches` queue, deferred in the transaction that stores the batch. Every
server process runs a procrastinate worker in its lifespan, running at most
`max(1, batch_workers)` jobs at once; the job awaits `BatchRunner.run` (the process pool, or a
thread). The worker writes a heartbeat every `batch_heartbeat_seconds`. Every
`batch_poll_seconds` each replica asks procrastinate for the jobs still `doing` under a worker
whose heartbeat is older than `batch_stalled_seconds` (a replica killed with -9) and puts them
back to `todo`, so a live replica runs them again. A fault of the machinery (a worker process
lost, the database away for a moment) raises in the job and procrastinate retries it later; the
last try records the package failed instead.

SQLite: one process and no procrastinate (its in-memory connector is for tests: it keeps every
query in a list for as long as it lives). An asyncio queue with the same concurrency calls the
same job function; at start-up, packages a previous run left unfinished are queued again.

Either way every run is `service.batches.run_item`, which stores a package under its fixed
evaluation id: a job run twice stores it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

import procrastinate
from procrastinate.exceptions import ConnectorException
from procrastinate.types import JSONDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from service.batches import FAILED, BatchRunner, fail, unfinished
from service.logs import get_logger
from service.settings import Settings
from service.store import Store

QUEUE = "jixiao-batches"
TASK = "jixiao.batch_package"
RETRIES = 4  # machinery faults retried this many times, a little later each time
RETRY_WAIT = 5  # seconds, times the attempt number


def conninfo(url: URL | str) -> str:
    """A libpq URI for psycopg from a SQLAlchemy URL (its options, e.g. search_path, kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class BatchQueue:
    """This replica's side of the batch queue (started and stopped by the app's lifespan)."""

    def __init__(self, settings: Settings, runner: BatchRunner, store: Store) -> None:
        self.settings, self.runner, self.store = settings, runner, store
        self.postgres = not store.is_sqlite
        self.concurrency = max(1, settings.batch_workers)
        self.name = f"jixiao-{socket.gethostname()}-{os.getpid()}"
        self._tasks: list[asyncio.Task[Any]] = []
        self._local: asyncio.Queue[tuple[str, int]] | None = None
        self.app: procrastinate.App | None = None
        self._deferrer: procrastinate.App | None = None
        if self.postgres:
            info = conninfo(store.url)
            # Workers, heartbeats, stalled checks and LISTEN: a few connections per process.
            self.app = procrastinate.App(
                connector=procrastinate.PsycopgConnector(
                    conninfo=info, min_size=1, max_size=self.concurrency + 3
                )
            )
            # Never opened: it only defers jobs on the connection of the batch's transaction.
            self._deferrer = procrastinate.App(
                connector=procrastinate.SyncPsycopgConnector(conninfo=info)
            )

            @self.app.task(
                name=TASK,
                queue=QUEUE,
                pass_context=True,
                retry=procrastinate.RetryStrategy(max_attempts=RETRIES, linear_wait=RETRY_WAIT),
            )
            async def batch_package(
                context: procrastinate.JobContext, batch_id: str, idx: int
            ) -> str:
                return await self.run(batch_id, idx, context.job.attempts)

    # -- queueing ----------------------------------------------------------------------------

    def enqueue_in(self, session: Session, batch_id: str, count: int) -> None:
        """Defer the batch's jobs in the session's transaction (PostgreSQL; SQLite: nothing).

        With the batch's rows or not at all: no package is stored without its job, nor a job
        without its package.
        """
        if self._deferrer is None:
            return
        connection = session.connection().connection.driver_connection
        deferrer = self._deferrer.configure_task(TASK, queue=QUEUE, connection=connection)
        jobs: list[JSONDict] = [{"batch_id": batch_id, "idx": idx} for idx in range(count)]
        deferrer.batch_defer(*jobs)

    async def submitted(self, batch_id: str, count: int) -> None:
        """After the batch is stored: queue its packages in-process (SQLite; PostgreSQL has)."""
        if self._local is not None:
            for idx in range(count):
                self._local.put_nowait((batch_id, idx))

    # -- the job -----------------------------------------------------------------------------

    async def run(self, batch_id: str, idx: int, attempt: int) -> str:
        """The job: score one package; raises to be retried while retries are left."""
        try:
            return await self.runner.run(batch_id, idx)
        except Exception as exc:
            log = get_logger()
            if attempt < RETRIES:
                log.warning(
                    "batch.job_retry", batch=batch_id, item=idx, attempt=attempt, error=repr(exc)
                )
                raise
            log.error("batch.job_gave_up", batch=batch_id, item=idx, error=repr(exc))
            await asyncio.to_thread(
                fail, self.store, batch_id, idx, f"internal error: {type(exc).__name__}"
            )
            return FAILED

    async def retry_stalled(self) -> list[int]:
        """Put back to `todo` the batch jobs of workers silent for `batch_stalled_seconds`; their
        ids. Another replica may put back the same job first: procrastinate then refuses ours."""
        assert self.app is not None
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=self.settings.batch_stalled_seconds
        )
        retried = []
        for job in stalled:
            try:
                await manager.retry_job(job)
            except ConnectorException:
                continue  # no longer `doing`: retried by another replica, or finished
            assert job.id is not None
            retried.append(job.id)
            get_logger().warning("batch.job_stalled", job=job.id, args=job.task_kwargs)
        # Forget the lost workers (their jobs' worker becomes NULL, which is stalled too).
        await manager.prune_stalled_workers(self.settings.batch_stalled_seconds)
        return retried

    # -- the lifespan ------------------------------------------------------------------------

    async def start(self) -> None:
        """Run this replica's worker(s)."""
        if self.app is not None:
            await self.app.open_async()
            self._tasks.append(asyncio.create_task(self._work(), name="batch-worker"))
            self._tasks.append(asyncio.create_task(self._watch(), name="batch-stalled"))
            return
        self._local = asyncio.Queue()
        for item in await asyncio.to_thread(unfinished, self.store):
            self._local.put_nowait(item)
        for k in range(self.concurrency):
            self._tasks.append(asyncio.create_task(self._consume(), name=f"batch-local-{k}"))

    async def stop(self) -> None:
        """Stop taking packages. procrastinate's worker lets the ones in flight finish (or fail
        to be retried elsewhere); on SQLite an unfinished one is queued again at next start."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.app is not None:
            await self.app.close_async()

    async def _work(self) -> None:
        """procrastinate's worker, started again if it ever stops on an error."""
        assert self.app is not None
        while True:
            try:
                await self.app.run_worker_async(
                    queues=[QUEUE],
                    name=self.name,
                    concurrency=self.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=self.settings.batch_heartbeat_seconds,
                    stalled_worker_timeout=self.settings.batch_stalled_seconds,
                    fetch_job_polling_interval=self.settings.batch_poll_seconds,
                    delete_jobs="successful",  # batch_items is the record of each outcome
                )
            except Exception as exc:  # the database away for a moment: work again later
                get_logger().warning("batch.worker_failed", error=repr(exc))
            await asyncio.sleep(self.settings.batch_poll_seconds)

    async def _watch(self) -> None:
        while True:
            try:
                await self.retry_stalled()
            except Exception as exc:  # the database away for a moment: try again next round
                get_logger().warning("batch.stalled_check_failed", error=repr(exc))
            await asyncio.sleep(self.settings.batch_poll_seconds)

    async def _consume(self) -> None:
        """SQLite: the same job, with the same retries, from the in-process queue."""
        assert self._local is not None
        while True:
            batch_id, idx = await self._local.get()
            for attempt in range(RETRIES + 1):
                try:
                    await self.run(batch_id, idx, attempt)
                    break
                except Exception:
                    await asyncio.sleep(RETRY_WAIT * (attempt + 1))
