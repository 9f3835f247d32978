"""The batch queue: a stalled job is retried, a job run twice stores once, SQLite runs in-process."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from procrastinate.jobs import Status
from sqlalchemy import func, select

from bench.dossiers import generate, zip_folder
from service import batches
from service.auth import Principal
from service.batch_queue import QUEUE, BatchQueue
from service.batches import BatchItem, BatchRunner, create_batch, run_item, submissions
from service.evaluations import EvaluationService
from service.store import Evaluation, Event, Store
from tests.service.conftest import Service, reset_pg, settings_for
from tests.service.test_batches import GRADED, wait_for

REVIEWER = Principal("k-reviewer", "reviewer", "审核员甲", None)


def _items(tmp_path: Path, count: int) -> list[tuple[str, Any]]:
    generate(tmp_path / "season", count, broken=0, seed=5)
    return submissions(batches.read_zip(zip_folder(tmp_path / "season"), settings_for("sqlite://")))


def _service(url: str) -> tuple[EvaluationService, Store]:
    """A scoring service on `url`, built as a batch worker process builds its own."""
    service, store = batches._process_service(settings_for(url))
    store.migrate()
    return service, store


@pytest.fixture
def clean() -> Iterator[None]:
    """Per-process services are cached by URL: forget them after each test."""
    yield
    for _, store in batches._PROCESS.values():
        store.dispose()
    batches._PROCESS.clear()


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Evaluation)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
        )


def _item(store: Store, batch_id: str, idx: int) -> BatchItem:
    with store.read() as session:
        item = session.get(BatchItem, (batch_id, idx))
        assert item is not None
        return item


def test_a_job_run_twice_stores_its_package_once(
    database_url: str, tmp_path: Path, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, store = _service(database_url)
    batch_id = create_batch(store, REVIEWER, _items(tmp_path, 2), rubric=GRADED, mode="bureau")
    assert run_item(service, store, batch_id, 0) == "done"
    once = _counts(store)
    assert once[0] == 1
    # The job ran, committed its evaluation, and its replica died before the queue heard: the
    # job runs again. The item's fixed evaluation id finds the stored evaluation.
    with store.write() as session:
        item = session.get(BatchItem, (batch_id, 0))
        assert item is not None
        item.status = "running"
    assert run_item(service, store, batch_id, 0) == "done"
    assert _counts(store) == once
    assert _item(store, batch_id, 0).attempts == 2
    # Two runs at once, both finding nothing stored yet: the second insert is refused by the
    # unique id with its audit event (one transaction), and the item ends done, stored once.
    real = batches._stored
    calls: list[str] = []

    def not_yet(store: Store, evaluation_id: str) -> dict[str, Any] | None:
        calls.append(evaluation_id)
        return None if len(calls) == 1 else real(store, evaluation_id)

    create = service.create

    def raced(*args: Any, **kwargs: Any) -> Any:
        create(*args, **kwargs)  # the other run's commit...
        return create(*args, **kwargs)  # ...then ours, under the same id

    monkeypatch.setattr(batches, "_stored", not_yet)
    monkeypatch.setattr(service, "create", raced)
    assert run_item(service, store, batch_id, 1) == "done"
    assert _counts(store) == (once[0] + 1, once[1] + 1)
    # A finished item is not run again at all.
    assert run_item(service, store, batch_id, 1) == "skipped"


def test_a_stalled_job_is_retried_and_a_live_ones_is_not(
    pg_url: str, tmp_path: Path, clean: None
) -> None:
    reset_pg(pg_url)
    service, store = _service(pg_url)
    settings = settings_for(
        pg_url, batch_workers=0, batch_heartbeat_seconds=1, batch_stalled_seconds=5
    )
    queue = BatchQueue(settings, BatchRunner(settings, service, store), store)
    assert queue.app is not None
    batch_id = create_batch(
        store,
        REVIEWER,
        _items(tmp_path, 2),
        rubric=GRADED,
        mode="bureau",
        enqueue=queue.enqueue_in,
    )

    async def scenario() -> tuple[int, list[str]]:
        assert queue.app is not None
        manager = queue.app.job_manager
        async with queue.app.open_async():
            # Two replicas each take a job; the first then dies (its heartbeat stops).
            lost, live = await manager.register_worker(), await manager.register_worker()
            first = await manager.fetch_job(queues=[QUEUE], worker_id=lost)
            second = await manager.fetch_job(queues=[QUEUE], worker_id=live)
            assert first is not None
            assert second is not None
            held = int(str(first.task_kwargs["idx"]))
            await asyncio.to_thread(batches.take, store, batch_id, held)
            await queue.app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = %(at)s WHERE id = %(id)s",
                at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60),
                id=lost,
            )
            # Only the lost replica's job goes back to the queue, and only once.
            assert await queue.retry_stalled() == [first.id]
            assert await queue.retry_stalled() == []
            # The live replica finishes its own job; a worker (any replica's) runs the retried one.
            other = int(str(second.task_kwargs["idx"]))
            await asyncio.to_thread(run_item, service, store, batch_id, other)
            await manager.finish_job(second, status=Status.SUCCEEDED, delete_job=False)
            await queue.app.run_worker_async(
                queues=[QUEUE], wait=False, install_signal_handlers=False
            )
            rows = await queue.app.connector.execute_query_all_async(
                "SELECT status::text AS status FROM procrastinate_jobs"
            )
            return held, [r["status"] for r in rows]

    held, statuses = asyncio.run(scenario())
    assert statuses == ["succeeded", "succeeded"]
    view = batches.batch_view(store, batch_id)
    assert view is not None
    assert (view["finished"], view["done"]) == (True, 2), view
    assert _counts(store)[0] == 2
    assert _item(store, batch_id, held).attempts == 2  # the lost replica's run, then the retry


def test_on_sqlite_the_same_job_runs_in_process_and_resumes_after_a_restart(
    make_service: Callable[..., Service], tmp_path: Path, clean: None
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = Store(url)
    store.migrate()
    # A previous run accepted a batch and died: one package mid-way, the others queued.
    batch_id = create_batch(store, REVIEWER, _items(tmp_path, 3), rubric=GRADED, mode="bureau")
    batches.take(store, batch_id, 1)
    store.dispose()
    svc = make_service(url, batch_workers=0)  # at start-up, the unfinished items queue again
    assert svc.client.app.state.batches.app is None  # no procrastinate on SQLite
    view = wait_for(svc, batch_id)
    assert (view["done"], view["failed"], view["finished"]) == (3, 0, True), view
    assert _counts(svc.store)[0] == 3
    assert _item(svc.store, batch_id, 1).attempts == 2
    with svc.store.read() as session:
        assert not sa.inspect(session.connection()).has_table("procrastinate_jobs")


def test_migration_0016_installs_the_queue_on_postgresql_only_and_goes_back(
    database_url: str,
) -> None:
    from alembic import command
    from alembic.config import Config

    from service.store import MIGRATIONS

    store = Store(database_url)
    store.migrate()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def state() -> tuple[bool, set[str]]:
        with store.engine.connect() as conn:
            inspector = sa.inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("batch_items")}
            return inspector.has_table("procrastinate_jobs"), columns & {
                "worker",
                "claimed_by",
                "claimed_at",
            }

    assert state() == (not store.is_sqlite, {"worker"})
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0015_batches")
    assert state() == (False, {"claimed_by", "claimed_at"})
    if not store.is_sqlite:
        with store.engine.connect() as conn:
            left = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
                )
            ).scalar_one()
        assert left == 0
    store.migrate()  # and forward again
    assert state() == (not store.is_sqlite, {"worker"})
    store.dispose()


def test_a_stalled_delay_shorter_than_three_heartbeats_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="3 × batch_heartbeat_seconds"):
        settings_for("sqlite://", batch_heartbeat_seconds=10, batch_stalled_seconds=20)
    assert settings_for("sqlite://", batch_heartbeat_seconds=1, batch_stalled_seconds=3)


def test_the_queue_connects_where_the_store_does() -> None:
    from service.batch_queue import conninfo

    url = "postgresql+psycopg://jx:pw@db:5433/jixiao?options=-csearch_path%3Dseason"
    assert conninfo(url) == "postgresql://jx:pw@db:5433/jixiao?options=-csearch_path%3Dseason"
