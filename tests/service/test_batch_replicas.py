"""Two `jixiao serve` replicas on one PostgreSQL share a batch; one is killed with -9 midway.

The batch is shared through procrastinate (service/batch_queue.py): each package is a job, each
replica runs a worker; the killed replica's job is found stalled (no heartbeat) and retried.

Every package must end scored exactly once: one stored evaluation per done item, none twice,
none lost, and the audit chain intact.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bench.dossiers import generate, zip_folder
from service.cli import main as cli_main
from service.store import BatchItem, Evaluation, Store
from tests.service.conftest import make_keys, reset_pg
from tests.serving import Serve

PACKAGES = 16


def _start(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A replica (tests.serving.Serve) with one batch worker process, quick to notice a lost one."""
    server = Serve(
        log,
        env={
            "JIXIAO_DATABASE_URL": url,
            "JIXIAO_WATCH_RUBRICS": "false",
            "JIXIAO_SUITES_ON_RELOAD": "false",
            "JIXIAO_BATCH_WORKERS": "1",
            # A replica silent for 6 s is lost; its packages go back to the queue.
            "JIXIAO_BATCH_HEARTBEAT_SECONDS": "1",
            "JIXIAO_BATCH_STALLED_SECONDS": "6",
            "JIXIAO_BATCH_POLL_SECONDS": "0.5",
            "JIXIAO_SESSION_SECRET": "replicas",
        },
    )
    server.start(timeout=90)
    assert server.process is not None
    return server.process, server.base


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[tuple[list[Any], Any, str]]:
    reset_pg(pg_url)
    store = Store(pg_url)
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    started = [_start(pg_url, tmp_path / f"replica-{k}.log") for k in range(2)]
    try:
        yield started, keys, pg_url
    finally:
        for process, _ in started:
            # The whole group, server and worker processes, whatever state they are in (a
            # stopped worker would keep its database locks for the tests after this one).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.poll() is None:
                process.wait()


def _parent(pid: int) -> int:
    """The parent of a process on this machine (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _holder(store: Store, server_pid: int) -> tuple[int, int] | None:
    """(item, worker pid) of a package a worker process of the server holds, once two are done."""
    with store.read() as session:
        done = session.scalar(
            select(func.count()).select_from(BatchItem).where(BatchItem.status == "done")
        )
        running = list(session.scalars(select(BatchItem).where(BatchItem.status == "running")))
    for item in running:
        pid = int(str(item.worker).split(":")[1])
        if (done or 0) >= 2 and _parent(pid) == server_pid:
            return item.idx, pid
    return None


def test_a_replica_killed_midway_loses_no_package_and_stores_none_twice(
    replicas: tuple[list[Any], Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (first, first_url), (_second, second_url) = replicas[0]
    keys, url = replicas[1], replicas[2]
    headers = {"Authorization": f"Bearer {keys.reviewer}"}
    generate(tmp_path / "season", PACKAGES, broken=1, seed=11)
    accepted = httpx.post(
        f"{first_url}/v1/batches",
        params={"rubric": "yueyang-fujian5@2024.2"},
        content=zip_folder(tmp_path / "season"),
        headers={**headers, "Content-Type": "application/zip"},
        timeout=60,
    )
    assert accepted.status_code == 202, accepted.text
    href = accepted.json()["href"]
    store = Store(url)
    try:
        # Midway: once packages are done and the first replica's worker holds one, freeze that
        # worker (SIGSTOP, so what it holds cannot change), check it still holds the package,
        # then kill the first replica (the server and its workers) with -9.
        held = None
        deadline = time.monotonic() + 300
        while held is None and time.monotonic() < deadline:
            holder = _holder(store, first.pid)
            if holder is not None:
                os.kill(holder[1], signal.SIGSTOP)
                again = _holder(store, first.pid)
                if again is not None and again[1] == holder[1]:
                    held = again[0]
                else:
                    os.kill(holder[1], signal.SIGCONT)
            time.sleep(0.05)
        assert held is not None, "the first replica never held a package"
        # kill -9 the first replica: its server and every worker process, the frozen one too.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        with store.read() as session:
            left = session.scalar(
                select(func.count())
                .select_from(BatchItem)
                .where(BatchItem.status.in_(("queued", "running")))
            )
        assert left, "the batch finished before the kill: make it longer"
        # The survivor finishes the batch: once the killed replica's heartbeat is stale, the
        # survivor's stalled check puts its job back in the queue (procrastinate) and runs it.
        deadline = time.monotonic() + 600
        while True:
            view = httpx.get(f"{second_url}{href}", headers=headers, timeout=30).json()
            if view["finished"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert view["finished"], view
        errors = [i.get("error") for i in view["items"] if i["status"] == "failed"]
        assert (view["done"], view["failed"]) == (PACKAGES - 1, 1), errors
        with store.read() as session:
            stored = list(session.scalars(select(Evaluation.id)))
            items = list(session.scalars(select(BatchItem)))
        done_ids = [i.evaluation_id for i in items if i.status == "done"]
        assert len(stored) == len(set(stored)) == PACKAGES - 1  # none twice, none lost
        assert sorted(stored) == sorted(done_ids)
        retried = next(i for i in items if i.idx == held)
        # The package the killed worker held ends done and stored once. It is normally claimed
        # again (attempts 2); on a loaded machine the frozen worker's commit may already have
        # reached PostgreSQL before SIGSTOP (attempts 1). Either way: once, never twice (above).
        assert retried.status == "done"
        assert retried.attempts in (1, 2)
        # The survivor found the killed replica's job stalled and put it back in the queue.
        survivor_log = (tmp_path / "replica-1.log").read_text("utf-8", errors="replace")
        assert "batch.job_stalled" in survivor_log
    finally:
        store.dispose()
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--database-url", url]) == 0, capsys.readouterr().out
