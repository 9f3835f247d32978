"""Batches: a zip of dossiers uploaded at once, scored in the background, each package once.

`read_zip` checks the upload against the settings' bounds (zip size, entry count, entry size,
total size, compression ratio) and refuses unsafe names before anything is stored. Each dossier
manifest in it (engine.batch.is_manifest_text) becomes a `batch_items` row holding its
submission and a fixed evaluation id. Workers claim items through the database (a lease, and
`FOR UPDATE SKIP LOCKED` on PostgreSQL), score them with the ordinary `EvaluationService.create`
(stored evaluation, audit event, replay) under that id, and mark them done. A worker lost
mid-package leaves its claim to expire; the retry finds the evaluation if it was stored, so a
package is never stored twice (the id is unique).
"""

from __future__ import annotations

import functools
import io
import json
import os
import posixpath
import socket
import threading
import time
import tomllib
import uuid
import zipfile
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

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
        inflates = info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
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
        raise _refuse(422, "压缩包内没有评分清单（dossier TOML）", "no dossier manifests in the zip")
    return out


def create_batch(
    store: Store,
    principal: Principal,
    items: list[tuple[str, Submission]],
    *,
    rubric: str | None,
    mode: Mode,
) -> str:
    """Store the batch and its items in one transaction; its id."""
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
    return batch_id


# -- the work ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """An item a worker holds."""

    batch_id: str
    idx: int
    evaluation_id: str
    submission: str
    principal: Principal
    rubric: str | None
    mode: Mode


def claim(store: Store, batch_id: str, worker: str, lease: float) -> Claimed | None:
    """The next queued item of the batch (or one whose claim expired), now held by `worker`."""
    stale = time.time() - lease
    with store.write() as session:
        item = session.scalar(
            select(BatchItem)
            .where(
                BatchItem.batch_id == batch_id,
                or_(
                    BatchItem.status == QUEUED,
                    (BatchItem.status == RUNNING) & (BatchItem.claimed_at < stale),
                ),
            )
            .order_by(BatchItem.idx)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if item is None:
            return None
        batch = session.get(Batch, batch_id)
        assert batch is not None  # the item's foreign key
        item.status, item.claimed_by, item.claimed_at = RUNNING, worker, time.time()
        item.attempts += 1
        return Claimed(
            batch_id,
            item.idx,
            item.evaluation_id,
            item.submission,
            Principal(batch.actor_key, batch.actor_role, batch.actor_name, batch.actor_department),
            batch.rubric,
            "precheck" if batch.mode == "precheck" else "bureau",
        )


def _finish(store: Store, held: Claimed, **values: Any) -> None:
    with store.write() as session:
        item = session.get(BatchItem, (held.batch_id, held.idx))
        if item is not None:
            for key, value in values.items():
                setattr(item, key, value)


def _stored(store: Store, evaluation_id: str) -> dict[str, Any] | None:
    with store.read() as session:
        ev = session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id))
        if ev is None:
            return None
        total = json.loads(ev.current_report).get("total") or {}
        return {"total": ev.score, "grade": total.get("grade")}


def score_item(service: EvaluationService, store: Store, held: Claimed) -> None:
    """Score one held item and record the outcome; never raises for the package's faults."""
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
            return
        except IntegrityError:
            pass  # another worker stored this package first: it is done
        except Exception as exc:  # a package's failure never stops the batch
            get_logger().error("batch.item_failed", batch=held.batch_id, item=held.idx, exc_info=exc)
            _finish(store, held, status=FAILED, error=f"internal error: {type(exc).__name__}")
            return
        done = _stored(store, held.evaluation_id)
    if done is not None:
        _finish(store, held, status=DONE, error=None, **done)


def work(service: EvaluationService, store: Store, batch_id: str, lease: float) -> int:
    """Claim and score the batch's items until none is left; how many this worker scored."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    count = 0
    while (held := claim(store, batch_id, worker, lease)) is not None:
        score_item(service, store, held)
        count += 1
    return count


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


def pool_work(settings: Settings, batch_id: str) -> int:
    """A worker process's share of a batch (the pool's entry point)."""
    service, store = _process_service(settings)
    return work(service, store, batch_id, settings.batch_lease_seconds)


class BatchRunner:
    """Puts workers on batches: `batch_workers` processes (0: one thread in the server).

    `poll` (at startup, then every `batch_poll_seconds`) finds batches with items to claim
    (queued, or held by a lost worker past its lease), so a batch uploaded to one replica is
    worked on by every replica, and one killed mid-batch is finished by the others.
    """

    def __init__(self, settings: Settings, service: EvaluationService, store: Store) -> None:
        self.settings, self.service, self.store = settings, service, store
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}  # batch id -> this replica's workers on it

    def start(self, batch_id: str, items: int) -> None:
        """Put this replica's workers on a batch (none if they are already on it)."""
        wanted = max(1, min(self.settings.batch_workers, items))
        with self._lock:
            if self._active.get(batch_id, 0) > 0:
                return
            self._active[batch_id] = wanted
        if self.settings.batch_workers == 0:
            threading.Thread(
                target=self._thread_work, args=(batch_id,), name=f"batch-{batch_id[:8]}", daemon=True
            ).start()
            return
        pool = self._executor()
        for _ in range(wanted):
            future = pool.submit(pool_work, self.settings, batch_id)
            future.add_done_callback(functools.partial(self._ended, batch_id))

    def _thread_work(self, batch_id: str) -> None:
        try:
            work(self.service, self.store, batch_id, self.settings.batch_lease_seconds)
        except Exception as exc:  # logged; the items stay claimable by another worker
            get_logger().error("batch.worker_failed", batch=batch_id, error=repr(exc))
        finally:
            self._ended(batch_id, None)

    def _ended(self, batch_id: str, future: Future[int] | None) -> None:
        if future is not None and not future.cancelled() and future.exception() is not None:
            get_logger().error("batch.worker_failed", batch=batch_id, error=repr(future.exception()))
        with self._lock:
            left = self._active.get(batch_id, 0) - 1
            if left > 0:
                self._active[batch_id] = left
            else:
                self._active.pop(batch_id, None)

    def poll(self) -> list[str]:
        """Start workers on every batch with claimable items; their ids."""
        stale = time.time() - self.settings.batch_lease_seconds
        with self.store.read() as session:
            rows = session.execute(
                select(BatchItem.batch_id)
                .where(
                    or_(
                        BatchItem.status == QUEUED,
                        (BatchItem.status == RUNNING) & (BatchItem.claimed_at < stale),
                    )
                )
                .group_by(BatchItem.batch_id)
            ).all()
        batches = sorted(r[0] for r in rows)
        for batch_id in batches:
            self.start(batch_id, self.settings.batch_workers or 1)
        return batches

    def shutdown(self) -> None:
        """Stop taking work; items in flight are retried by another worker after their lease."""
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
