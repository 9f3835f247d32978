"""The store: SQLAlchemy 2 models, sessions, and the Alembic migrations that create them.

SQLite (a file, WAL mode) by default; PostgreSQL through `JIXIAO_DATABASE_URL`. Every write runs
in one transaction that is serialised with the other writers: on SQLite by `BEGIN IMMEDIATE`, on
PostgreSQL by locking the audit chain's head row (see service.audit). Scores and totals are kept
as Decimal text, never as floats.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

GENESIS = "0" * 64  # prev_hash of the first audit event
_WRITE = "jixiao_write"  # execution option that makes SQLite open the transaction IMMEDIATE
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
QUEUE_PREFIX = "procrastinate_"  # the task queue's own tables (migration 0016), not our models


def ours(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name`: compare our models only, not the task queue's tables."""
    return not (type_ == "table" and (name or "").startswith(QUEUE_PREFIX))


class Base(DeclarativeBase):
    """Declarative base of the service's tables."""


class ApiKey(Base):
    """An API key: only the SHA-256 of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[str | None] = mapped_column(String(40))


class RubricSnapshot(Base):
    """A rubric version as it was used: its TOML and its rule sets' TOML, keyed by content hash."""

    __tablename__ = "rubric_snapshots"

    # Content-addressed: the SHA-256 of `body`. Not the rubric's own sha256, because the same
    # rubric content read from another folder shows other source names in its reports.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rubric_sha256: Mapped[str] = mapped_column(String(64), index=True)
    rubric_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    # canonical JSON of the whole snapshot (source names, sources, rule sets); its hash is
    # recorded in each `created` event, so a changed snapshot is detected by `audit verify`.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))


class Evaluation(Base):
    """One scored package: what was submitted, under which snapshot, and the reports."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_department_year", "department", "fiscal_year"),
        Index("ix_evaluations_rubric", "rubric_id", "rubric_version"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    decision_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    rubric_id: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[str] = mapped_column(String(100))
    rubric_sha256: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("rubric_snapshots.id"))
    mode: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200))
    total_max: Mapped[str] = mapped_column(String(20))
    automatic_score: Mapped[str] = mapped_column(String(20))
    score: Mapped[str] = mapped_column(String(20))
    adjustments: Mapped[int] = mapped_column(Integer, default=0)
    package: Mapped[str] = mapped_column(Text)  # the submission as received (canonical JSON)
    automatic_report: Mapped[str] = mapped_column(Text)  # the engine's report, as rendered
    # The current report once a reviewer has adjusted it; NULL while it is the automatic one,
    # so a new evaluation stores its report once (see `current_report`).
    report: Mapped[str | None] = mapped_column(Text)

    @property
    def current_report(self) -> str:
        """The report after adjustments: `report`, or the automatic one when never adjusted."""
        return self.report if self.report is not None else self.automatic_report
    # Withdrawn (撤回): out of the season views; the row and its audit events stay.
    withdrawn_at: Mapped[str | None] = mapped_column(String(40), default=None)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, default=None)


class Event(Base):
    """An audit event. Append-only (triggers refuse UPDATE and DELETE) and chained by SHA-256.

    Events form `LANES` chains (service.audit): `seq` counts within the event's lane.
    """

    __tablename__ = "events"

    lane: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    evaluation_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_key: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[str] = mapped_column(String(40))
    rubric_id: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[str] = mapped_column(String(100))
    rubric_sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Batch(Base):
    """An uploaded zip: who sent it, how its packages are scored, how many there are."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[str] = mapped_column(String(40))
    actor_key: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_department: Mapped[str | None] = mapped_column(String(200))
    rubric: Mapped[str | None] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    items: Mapped[int] = mapped_column(Integer)


class BatchItem(Base):
    """One dossier of a batch: its submission, its evaluation id, and where it stands."""

    __tablename__ = "batch_items"
    __table_args__ = (Index("ix_batch_items_status", "batch_id", "status"),)

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(1000))
    submission: Mapped[str] = mapped_column(Text)
    evaluation_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid that ran it last
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    total: Mapped[str | None] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(40))


class ChainHead(Base):
    """One row per lane (`id` = lane) naming its last event; locking it serialises the lane."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN is deferred; we emit BEGIN ourselves (below) so writers can
        # take the write lock up front instead of failing on a lock upgrade under load.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE, False):
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _begin_immediate(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, retried after short sleeps while another process holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries: a writer
    arriving while another process's writer (a batch of a few ms) holds the lock slept far
    longer than the lock was held, which made the tail of `--processes 2` on SQLite. Sleeps
    here stay between 0.2 and 2 ms, for the same 30 s at most.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        deadline, delay = time.monotonic() + 30, 0.0002
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
    finally:
        cursor.execute("PRAGMA busy_timeout=30000")  # the other statements keep SQLite's
        cursor.close()


class Store:
    """Database access: an engine, read and write sessions, migrations."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
            self._write_lock: AbstractContextManager[Any] = threading.Lock()
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10)
            self._write_lock = nullcontext()

    @property
    def display_url(self) -> str:
        """The URL without its password, for logs."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back at the end."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or not at all."""
        # SQLite takes one writer at a time, and a writer that finds the file locked sleeps
        # and retries (busy_timeout) with growing sleeps: under load some waited seconds
        # while others went first. This process's writers queue on a lock instead, so only
        # writers of other processes ever meet SQLite's retry loop.
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            session.connection(execution_options={_WRITE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from several processes)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{_WRITE: True})
            with conn.begin():
                if not self.is_sqlite:
                    # Replicas starting together: one migrates, the others wait and find it done.
                    conn.execute(text("SELECT pg_advisory_xact_lock(7291)"))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
