"""Batches: a zip of dossiers uploaded at once, scored in the background, each package once.

`read_zip` checks the upload against the settings' bounds (zip size, entry count, entry size,
total size, compression ratio) and refuses unsafe names before anything is stored. Each dossier
manifest in it (engine.batch.is_manifest_text) becomes a `batch_items` row holding its
submission and a fixed evaluation id, the record of that package's outcome. Which replica
scores which package, and the retry of a lost replica's packages, is a task queue's business
(service.batch_queue: procrastinate on PostgreSQL, in-process on SQLite); every run of the
task is `run_item`, which scores with the ordinary `EvaluationService.create` (stored
evaluation, audit event, replay) under the item's fixed id, so a package is never stored twice.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import posixpath
import socket
import threading
import tomllib
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.batch import is_manifest_text
from service.auth import Principal, now
from service.errors import ApiError
from service.evaluations import EvaluationService, Mode
from service.logs import get_logger
from service.settings import Settings
from service.store import Batch, BatchItem, Evaluation, Store
from service.submission import Submission

MAX_RATIO = 200  # an entry that inflates more than this (and past 1 MiB) is a zip bomb
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def _refuse(status: int, zh: str, en: str) -> ApiError:
    return ApiError(status, "batch_refused", zh, en)


# -- the upload --------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """An entry's path, normalised; a name that could leave the archive's root is refused."""
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or "\0" in name
        or name.startswith("/")
        or ":" in parts[0]
        or ".." in parts
        or any(ord(c) < 32 for c in name)
    ):
        raise _refuse(
            422, f"压缩包内的路径不安全：{name!r}", f"unsafe path inside the zip: {name!r}"
        )
    return posixpath.normpath(name)


def read_zip(data: bytes, settings: Settings) -> dict[str, bytes]:
    """Every file of the zip (normalised path -> bytes), within the settings' bounds."""
    if len(data) > settings.batch_max_zip_bytes:
        raise _refuse(413, "压缩包过大", f"the zip exceeds {settings.batch_max_zip_bytes} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(422, "不是有效的 zip 压缩包", "the body is not a valid zip file") from None
    if len(infos) > settings.batch_max_entries:
        raise _refuse(
            422,
            f"压缩包内文件过多（{len(infos)} 个，上限 {settings.batch_max_entries}）",
            f"too many entries ({len(infos)}, at most {settings.batch_max_entries})",
        )
    files: dict[str, bytes] = {}
    declared = 0
    for info in infos:
        name = safe_name(info.filename)
        if info.is_dir():
            continue
        declared += info.file_size
        too_big = info.file_size > settings.batch_max_entry_bytes
        inflates = info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        )
        if too_big or inflates or declared > settings.batch_max_total_bytes:
            raise _refuse(
                413,
                f"压缩包内文件 {name} 过大或压缩比异常（疑似 zip 炸弹）",
                f"entry {name} is too large or inflates too much (a zip bomb?)",
            )
    read = 0
    for info in infos:
        if info.is_dir():
            continue
        name = safe_name(info.filename)
        try:
            with archive.open(info) as entry:
                # The declared size can lie: never read past the bound.
                content = entry.read(settings.batch_max_entry_bytes + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise _refuse(
                422, f"无法读取压缩包内文件 {name}", f"cannot read entry {name}: {exc}"
            ) from None
        read += len(content)
        if len(content) > settings.batch_max_entry_bytes or read > settings.batch_max_total_bytes:
            raise _refuse(413, f"压缩包内文件 {name} 过大", f"entry {name} is too large")
        if name in files:
            raise _refuse(422, f"压缩包内文件重复：{name}", f"duplicate entry: {name}")
        files[name] = content
    return files


def submissions(files: dict[str, bytes]) -> list[tuple[str, Submission]]:
    """Each dossier manifest of the zip with the documents it lists beside it (sorted)."""
    out = []
    for name in sorted(files):
        if not name.endswith(".toml"):
            continue
        text = files[name].decode("utf-8", errors="replace")
        if not is_manifest_text(text):
            continue
        try:
            listed = tomllib.loads(text).get("documents") or []
        except tomllib.TOMLDecodeError:
            listed = []
        folder = posixpath.dirname(name)
        documents = []
        for document in listed if isinstance(listed, list) else []:
            path = posixpath.normpath(posixpath.join(folder, str(document)))
            if path in files:
                documents.append((posixpath.basename(path), files[path]))
        # A listed document missing from the zip is the package's own error, reported per item.
        out.append((name, Submission("toml", text, tuple(documents))))
    if not out:
        raise _refuse(
            422, "压缩包内没有评分清单（dossier TOML）", "no dossier manifests in the zip"
        )
    return out


def create_batch(
    store: Store,
    principal: Principal,
    items: list[tuple[str, Submission]],
    *,
    rubric: str | None,
    mode: Mode,
    enqueue: Callable[[Session, str, int], None] | None = None,
) -> str:
    """Store the batch and its items in one transaction; its id.

    `enqueue(session, batch_id, count)` queues the items' jobs in that same transaction (on
    PostgreSQL), so a batch is stored with its jobs or not at all.
    """
    batch_id = str(uuid.uuid4())
    with store.write() as session:
        session.add(
            Batch(
                id=batch_id,
                created_at=now(),
                actor_key=principal.key,
                actor_role=principal.role,
                actor_name=principal.name,
                actor_department=principal.department,
                rubric=rubric,
                mode=mode,
                items=len(items),
            )
        )
        session.flush()
        for index, (name, submission) in enumerate(items):
            session.add(
                BatchItem(
                    batch_id=batch_id,
                    idx=index,
                    name=name,
                    submission=submission.to_json(),
                    evaluation_id=str(uuid.uuid4()),
                    status=QUEUED,
                    attempts=0,
                )
            )
        session.flush()
        if enqueue is not None:
            enqueue(session, batch_id, len(items))
    return batch_id


# -- the work ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """An item a worker is scoring."""

    batch_id: str
    idx: int
    evaluation_id: str
    submission: str
    principal: Principal
    rubric: str | None
    mode: Mode


def take(store: Store, batch_id: str, idx: int) -> Held | None:
    """Mark an item running under this process (None: it is already finished, or unknown).

    Which job runs when is the queue's business (service.batch_queue); this only records who
    runs the item now, for the progress view and for operators.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with store.write() as session:
        item = session.get(BatchItem, (batch_id, idx))
        if item is None or item.status in (DONE, FAILED):
            return None
        batch = session.get(Batch, batch_id)
        assert batch is not None  # the item's foreign key
        item.status, item.worker = RUNNING, worker
        item.attempts += 1
        return Held(
            batch_id,
            item.idx,
            item.evaluation_id,
            item.submission,
            Principal(batch.actor_key, batch.actor_role, batch.actor_name, batch.actor_department),
            batch.rubric,
            "precheck" if batch.mode == "precheck" else "bureau",
        )


def _finish(store: Store, held: Held, **values: Any) -> None:
    with store.write() as session:
        item = session.get(BatchItem, (held.batch_id, held.idx))
        if item is not None:
            for key, value in values.items():
                setattr(item, key, value)


def fail(store: Store, batch_id: str, idx: int, error: str) -> None:
    """Record an item as failed (the queue gave up on it after its last retry)."""
    with store.write() as session:
        item = session.get(BatchItem, (batch_id, idx))
        if item is not None and item.status not in (DONE, FAILED):
            item.status, item.error = FAILED, error


def _stored(store: Store, evaluation_id: str) -> dict[str, Any] | None:
    with store.read() as session:
        ev = session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id))
        if ev is None:
            return None
        total = json.loads(ev.current_report).get("total") or {}
        return {"total": ev.score, "grade": total.get("grade")}


def score_item(service: EvaluationService, store: Store, held: Held) -> str:
    """Score one held item and record the outcome (its status); never raises for the package's
    faults.

    Idempotent: the evaluation id is fixed per item and is the evaluations' primary key, so a
    second run (a retried job whose first run had committed) finds the stored evaluation, or
    its insert is refused with the audit event in the same transaction.
    """
    done = _stored(store, held.evaluation_id)
    if done is None:
        try:
            service.create(
                held.principal,
                Submission.from_json(held.submission),
                rubric_ref=held.rubric,
                mode=held.mode,
                as_of=None,
                evaluation_id=held.evaluation_id,
            )
        except ApiError as exc:
            problems = "; ".join(f"{p.path}: {p.zh} / {p.en}" for p in exc.problems)
            error = f"{exc.zh} / {exc.en}" + (f" ({problems})" if problems else "")
            _finish(store, held, status=FAILED, error=error)
            return FAILED
        except IntegrityError:
            pass  # another run stored this package first: it is done
        except Exception as exc:  # a package's failure never stops the batch
            get_logger().error(
                "batch.item_failed", batch=held.batch_id, item=held.idx, exc_info=exc
            )
            _finish(store, held, status=FAILED, error=f"internal error: {type(exc).__name__}")
            return FAILED
        done = _stored(store, held.evaluation_id)
    if done is None:  # pragma: no cover - an IntegrityError without a stored evaluation
        raise RuntimeError(f"batch item {held.batch_id}/{held.idx}: not stored")
    _finish(store, held, status=DONE, error=None, **done)
    return DONE


def run_item(service: EvaluationService, store: Store, batch_id: str, idx: int) -> str:
    """The batch task: score one package of a batch, once; its final status.

    Every way a package is scored goes through here: a procrastinate job on PostgreSQL, the
    in-process dispatcher on SQLite, in a worker process or a thread of the server.
    """
    held = take(store, batch_id, idx)
    if held is None:
        return "skipped"
    return score_item(service, store, held)


# Per worker process: its own store, rubrics and durable engine, built once.
_PROCESS: dict[str, tuple[EvaluationService, Store]] = {}


def _process_service(settings: Settings) -> tuple[EvaluationService, Store]:
    key = settings.url()
    if key not in _PROCESS:
        from engine.evaluate import Evaluator
        from engine.rubric.registry import rubric_dirs, rules_dirs
        from service import logs
        from service.backend import process_backend
        from service.metrics import Metrics
        from service.rubrics import Rubrics

        logs.configure(settings.log_level)
        store = Store(key)
        rubrics = Rubrics(
            rubric_dirs(settings.rubrics), rules_dirs(settings.rules), run_suites=False
        )
        rubrics.load_all()
        evaluator = Evaluator(process_backend(settings.backend))
        _PROCESS[key] = (EvaluationService(store, rubrics, evaluator, Metrics()), store)
    return _PROCESS[key]


def pool_run_item(settings: Settings, batch_id: str, idx: int) -> str:
    """`run_item` in a worker process (the pool's entry point)."""
    service, store = _process_service(settings)
    return run_item(service, store, batch_id, idx)


class BatchRunner:
    """Where this replica scores batch packages: `batch_workers` processes (0: a thread of the
    server, with its own service). The queue (service.batch_queue) decides which package when;
    it runs at most `max(1, batch_workers)` at once, so the pool is never oversubscribed.
    """

    def __init__(self, settings: Settings, service: EvaluationService, store: Store) -> None:
        self.settings, self.service, self.store = settings, service, store
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(self, batch_id: str, idx: int) -> str:
        """Score one package off the event loop; its status. Raises only for the machinery's
        faults (a worker process lost, the database away), which the queue retries."""
        loop = asyncio.get_running_loop()
        if self.settings.batch_workers == 0:
            return await loop.run_in_executor(
                None, run_item, self.service, self.store, batch_id, idx
            )
        try:
            return await loop.run_in_executor(
                self._executor(), pool_run_item, self.settings, batch_id, idx
            )
        except BrokenProcessPool:
            with self._lock:  # a dead worker process breaks the pool: the next run makes a new one
                self._pool = None
            raise

    def shutdown(self) -> None:
        """Stop the worker processes; a package in flight is retried by the queue."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        import multiprocessing as mp

        with self._lock:
            if self._pool is None:
                # spawn: a worker starts clean (no copy of the server's threads or connections).
                self._pool = ProcessPoolExecutor(
                    max_workers=max(1, self.settings.batch_workers),
                    mp_context=mp.get_context("spawn"),
                )
            return self._pool


def unfinished(store: Store) -> list[tuple[str, int]]:
    """Items not yet done or failed, oldest batch first (re-queued in-process on SQLite)."""
    with store.read() as session:
        rows = session.execute(
            select(BatchItem.batch_id, BatchItem.idx)
            .join(Batch, Batch.id == BatchItem.batch_id)
            .where(BatchItem.status.in_((QUEUED, RUNNING)))
            .order_by(Batch.created_at, BatchItem.batch_id, BatchItem.idx)
        ).all()
    return [(r[0], r[1]) for r in rows]


def batch_view(store: Store, batch_id: str) -> dict[str, Any] | None:
    """Progress and per-package outcomes, in the zip's order."""
    with store.read() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            return None
        items = list(
            session.scalars(
                select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.idx)
            )
        )
    counts = {s: sum(1 for i in items if i.status == s) for s in (QUEUED, RUNNING, DONE, FAILED)}
    shown = []
    for item in items:
        entry: dict[str, Any] = {"index": item.idx, "name": item.name, "status": item.status}
        if item.status == DONE:
            entry |= {"evaluation_id": item.evaluation_id, "total": item.total, "grade": item.grade}
        if item.status == FAILED:
            entry["error"] = item.error
        shown.append(entry)
    return {
        "id": batch.id,
        "created_at": batch.created_at,
        "created_by": batch.actor_name,
        "rubric": batch.rubric,
        "mode": batch.mode,
        "total": batch.items,
        "done": counts[DONE],
        "failed": counts[FAILED],
        "pending": counts[QUEUED] + counts[RUNNING],
        "finished": counts[QUEUED] + counts[RUNNING] == 0,
        "items": shown,
    }


def running_batches(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """The newest batches with packages still to score: id, total, done, failed (the overview's
    progress bars)."""
    with store.read() as session:
        ids = [
            r[0]
            for r in session.execute(
                select(BatchItem.batch_id)
                .where(BatchItem.status.in_((QUEUED, RUNNING)))
                .group_by(BatchItem.batch_id)
            ).all()
        ]
        batches = list(session.scalars(select(Batch).where(Batch.id.in_(ids))))
    batches.sort(key=lambda b: (b.created_at, b.id), reverse=True)
    out = []
    for batch in batches[:limit]:
        view = batch_view(store, batch.id)
        if view is not None:
            out.append({k: view[k] for k in ("id", "created_at", "total", "done", "failed")})
    return out
