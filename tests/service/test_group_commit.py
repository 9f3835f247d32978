"""Group commit (service.groupcommit): concurrent new evaluations share one transaction and one
lane lock, each waiter answered only after its batch commits; a bad member fails alone; on
PostgreSQL a batch takes a lane no one holds instead of waiting; `audit verify` still proves
every lane's order."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service import audit
from service.groupcommit import GroupCommit, Pending
from service.store import ChainHead, Evaluation, Event, Store

ACTOR = audit.Actor("k1", "reviewer", "审核员")
RUBRIC = ("r", "1", "s")


def _pending(evaluation_id: str, n: int = 0) -> Pending:
    return Pending(audit.NewEvent(evaluation_id, ACTOR, RUBRIC, audit.canonical({"n": n})))


def _chain_problems(store: Store) -> list[str]:
    """verify's problems, without the orphans (bare events name no stored evaluation)."""
    with store.read() as session:
        result = audit.verify(session)
    return [p for p in result.problems if "missing from the store" not in p]


def test_queued_appends_commit_together_in_order_and_verify(store: Store) -> None:
    writer = GroupCommit(store)
    gate = threading.Lock()
    gate.acquire()
    original = writer._write

    def held_write(batch: list[Pending]) -> list[Event]:
        with gate:  # the first batch waits until everything else is queued
            return original(batch)

    writer._write = held_write  # type: ignore[method-assign]
    futures = [writer.submit(_pending(f"ev-{n}", n)) for n in range(20)]
    gate.release()
    events = [f.result(timeout=30) for f in futures]
    writer.close()
    # At most two transactions: the first taken alone, the other 19 queued behind it.
    assert writer.batches <= 2
    assert writer.stored == 20
    later = [e for e in events if e.lane == events[-1].lane]
    assert [e.seq for e in later] == sorted(e.seq for e in later)
    assert [e.evaluation_id for e in events] == [f"ev-{n}" for n in range(20)]
    assert _chain_problems(store) == []
    # A later event of one of them follows its `created` event's lane.
    with store.write() as session:
        replayed = audit.append(
            session,
            evaluation_id="ev-7",
            kind="replayed",
            actor=ACTOR,
            at="2024-07-01T00:00:00Z",
            rubric=RUBRIC,
            payload={},
        )
    assert replayed.lane == events[7].lane
    assert _chain_problems(store) == []


SNAPSHOT = {
    "id": "s" * 64,
    "rubric_sha256": "r" * 64,
    "rubric_id": "r",
    "version": "1",
    "title": "t",
    "body": "{}",
}


def _stored(evaluation_id: str) -> Pending:
    """A whole new evaluation: its row, its snapshot and its `created` event."""
    row = {
        "id": evaluation_id,
        "decision_id": "d" * 64,
        "department": "某局",
        "fiscal_year": 2023,
        "rubric_id": "r",
        "rubric_version": "1",
        "rubric_sha256": "r" * 64,
        "snapshot_id": SNAPSHOT["id"],
        "mode": "bureau",
        "as_of": dt.date(2024, 7, 1),
        "created_by": "k1",
        "total_max": "100.00",
        "automatic_score": "90.00",
        "score": "90.00",
        "adjustments": 0,
        "package": "{}",
        "automatic_report": "{}",
        "report": None,
        "withdrawn_at": None,
        "withdrawn_reason": None,
    }
    return Pending(_pending(evaluation_id).event, row=row, snapshot=SNAPSHOT)


def test_a_bad_member_fails_alone_and_nothing_of_it_is_stored(store: Store) -> None:
    writer = GroupCommit(store)
    writer.store_now(_stored("taken"))
    gate = threading.Lock()
    gate.acquire()
    original = writer._write

    def held_write(batch: list[Pending]) -> list[Event]:
        with gate:
            return original(batch)

    writer._write = held_write  # type: ignore[method-assign]
    first = writer.submit(_stored("first"))
    # "taken" again, as a retried batch item would be: the unique id refuses it, and with it
    # the whole batch's transaction; its other members are then stored one by one.
    names = ("a", "taken", "b")
    futures: list[Future[Event]] = [writer.submit(_stored(name)) for name in names]
    gate.release()
    first.result(timeout=30)
    assert futures[0].result(timeout=30).evaluation_id == "a"
    assert futures[2].result(timeout=30).evaluation_id == "b"
    with pytest.raises(IntegrityError):
        futures[1].result(timeout=30)
    writer.close()
    with store.read() as session:
        events = list(session.scalars(select(Event.evaluation_id)))
        evaluations = list(session.scalars(select(Evaluation.id)))
    assert sorted(events) == sorted(evaluations) == ["a", "b", "first", "taken"]
    # The fake rows' hashes are not their events' (not the point here): the chain is intact.
    assert [p for p in _chain_problems(store) if "its audit event" not in p] == []


def test_a_batch_takes_a_free_lane_instead_of_waiting(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("SQLite serialises writers: there is no lane to skip")
    with store.write() as held:
        held_lane = audit.lane_of("ev-0")
        audit.lock(held, held_lane)  # another writer holds the lane ev-0 would start at
        writer = GroupCommit(store)
        event = writer.submit(_pending("ev-0")).result(timeout=30)
        writer.close()
        assert event.lane != held_lane
    with store.read() as session:
        head = session.get(ChainHead, event.lane)
        assert head is not None
        assert head.hash == event.hash
    assert _chain_problems(store) == []


def test_a_sqlite_writer_waits_for_another_process_lock_and_keeps_busy_timeout(
    tmp_path: Path,
) -> None:
    """BEGIN IMMEDIATE is retried while another connection (process) holds the write lock,
    and the connection's busy timeout for other statements is SQLite's 30 s again after."""
    store = Store(f"sqlite:///{tmp_path / 'locked.db'}")
    store.migrate()
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.2, other.execute, ("COMMIT",))
    timer.start()
    try:
        event = GroupCommit(store).store_now(_pending("ev-locked"))
    finally:
        timer.join()
        other.close()
    assert event.seq == 1
    with store.write() as session:
        timeout = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == 30000
    store.dispose()
