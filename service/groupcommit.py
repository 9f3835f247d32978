"""Group commit: one writer per process stores the new evaluations of concurrent requests together.

A stored evaluation used to be one transaction of its own: a snapshot check, the row, the lane
lock, the event, the head update and the commit, five round trips and an fsync each. Here a
request hands its rows to the process's writer thread and waits; the writer takes every
evaluation waiting (up to `MAX_BATCH`) and stores them in ONE transaction: the rows in one
multi-row insert, then, last, one lane lock, the events in one multi-row insert and one head
update (service.audit.append_created). Each request is answered only after its batch commits.
If a batch fails (a duplicate id from a retried batch item, say), its members are stored again
one by one, so one bad request never fails the others and nothing is half-stored.
See docs/decisions.md, "Audit appends: group commit".
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service import audit
from service.auth import now
from service.store import Evaluation, Event, RubricSnapshot, Store

MAX_BATCH = 64  # evaluations per transaction: bounds the statement size and the lock hold
_INSERT_EVALUATIONS = insert(cast(Table, Evaluation.__table__))  # built once


@dataclass
class Pending:
    """One evaluation (or, with `row` None, one bare `created` event) waiting for the writer."""

    event: audit.NewEvent
    row: dict[str, Any] | None = None  # the `evaluations` row, without `created_at`
    snapshot: dict[str, Any] | None = None  # the rubric snapshot row, stored unless present
    future: Future[Event] = field(default_factory=Future)


def evaluation_row(evaluation: Evaluation) -> dict[str, Any]:
    """The column values of a new (transient) evaluation, for a multi-row insert."""
    return {
        c.key: getattr(evaluation, c.key)
        for c in Evaluation.__table__.columns
        if c.key not in ("seq", "created_at")
    }


def _insert_snapshot(session: Session, values: dict[str, Any]) -> None:
    """Store a rubric snapshot unless it is there (content-addressed: whoever wins stores the same)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(RubricSnapshot).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(RubricSnapshot).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - the store supports SQLite and PostgreSQL only
        session.execute(insert(RubricSnapshot).values(values))


class GroupCommit:
    """The process's writer of new evaluations: a thread and a first-in, first-out queue."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: deque[Pending] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False
        # Snapshot ids this process has seen committed: their 50 KB bodies are not sent again.
        self._known: set[str] = set()
        self.batches = 0  # transactions committed, for tests and benchmarks
        self.stored = 0

    def submit(self, pending: Pending) -> Future[Event]:
        """Queue one evaluation; its future gives the `created` event once committed."""
        with self._ready:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # Started on first use, and again in a forked child or after `close`.
                if self._pid != os.getpid():
                    self._queue.clear()  # a forked child: those are the parent's requests
                self._stopping = False
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="jixiao-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.append(pending)
            self._ready.notify()
        return pending.future

    def store_now(self, pending: Pending) -> Event:
        """Queue one evaluation and wait for its commit (for callers in worker threads)."""
        return self.submit(pending).result()

    def close(self) -> None:
        """Store what is queued, then stop the thread (the next `submit` starts another)."""
        with self._ready:
            thread, self._stopping = self._thread, True
            self._ready.notify()
        if thread is not None and self._pid == os.getpid():
            thread.join()
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                batch: list[Pending] = []
                while self._queue and len(batch) < MAX_BATCH:
                    pending = self._queue.popleft()
                    # A waiter that gave up (its request cancelled) is not stored.
                    if pending.future.set_running_or_notify_cancel():
                        batch.append(pending)
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[Pending]) -> None:
        """Store the batch in one transaction, or, if that fails, each member on its own."""
        try:
            events = self._write(batch)
        except BaseException as exc:  # every waiter must get an answer, whatever happened
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for pending in batch:  # one bad member must not fail the others
                self._commit([pending])
            return
        for pending, event in zip(batch, events, strict=True):
            pending.future.set_result(event)

    def _write(self, batch: list[Pending]) -> list[Event]:
        at = now()
        fresh: dict[str, dict[str, Any]] = {}
        for pending in batch:
            snapshot = pending.snapshot
            if snapshot is not None and snapshot["id"] not in self._known:
                fresh[snapshot["id"]] = snapshot
        rows = [p.row | {"created_at": at} for p in batch if p.row is not None]
        with self.store.write() as session:
            for values in fresh.values():
                _insert_snapshot(session, values | {"created_at": at})
            if rows:
                session.connection().execute(_INSERT_EVALUATIONS, rows)
            # Last: the lane lock is held only for the events' insert and the commit.
            events = audit.append_created(session, [p.event for p in batch], at)
        self._known.update(fresh)
        self.batches += 1
        self.stored += len(batch)
        return events
