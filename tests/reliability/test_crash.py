"""Crash safety: `kill -9` a server (supervisor and workers) in the middle of a load.

Afterwards every evaluation that was answered 201 is in the store, nothing is half-written (each
evaluation has exactly its `created` event, each audit lane's head names its last event),
`jixiao audit verify` passes, and the server restarts cleanly and goes on scoring. Run on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from engine.rubric.registry import REPO_ROOT
from tests.reliability.conftest import RUBRIC, Server, reviewer_key
from tests.service.conftest import json_body, report_of

CLIENTS = 8
KILL_AFTER = 12  # acknowledged evaluations before the kill: some committed, some in flight


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    """`jixiao audit verify` as a separate process, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "audit", "verify", "--database-url", url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


def _load_until_killed(server: Server, key: str) -> dict[str, dict[str, Any]]:
    """POST from CLIENTS connections; kill the server after KILL_AFTER 201s. The 201 bodies by id."""
    acknowledged: dict[str, dict[str, Any]] = {}
    killed = threading.Event()
    headers = {"Authorization": f"Bearer {key}"}

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i = 0
        while True:
            body = json_body(received_on=f"2024-07-{1 + (n + i) % 28:02d}")
            i += 1
            try:
                response = await http.post(
                    f"{server.base}/v1/evaluations", params={"rubric": RUBRIC}, json=body,
                    headers=headers,
                )
            except httpx.TransportError:
                if killed.is_set():
                    return  # the server is gone: the answer never came, nothing was promised
                raise
            assert response.status_code < 500, response.text
            if response.status_code == 201:
                acknowledged[response.json()["id"]] = response.json()
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                await asyncio.get_running_loop().run_in_executor(None, server.kill9)

    async def run() -> None:
        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await asyncio.gather(*(client(n, http) for n in range(CLIENTS)))

    asyncio.run(run())
    assert killed.is_set()
    return acknowledged


def _store_is_whole(url: str, acknowledged: set[str]) -> int:
    """Every acknowledged evaluation stored with one `created` event; each lane head its last."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
            stored = {r[0] for r in conn.execute(sa.text("SELECT id FROM evaluations"))}
            assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)}"
            created = conn.execute(
                sa.text("SELECT evaluation_id, count(*) FROM events WHERE kind = 'created' GROUP BY evaluation_id")
            ).all()
            assert {e for e, _ in created} == stored  # no evaluation without its event, nor the reverse
            assert all(n == 1 for _e, n in created)
            lanes: dict[int, list[tuple[int, str]]] = {}
            for lane, seq, hash_ in conn.execute(
                sa.text("SELECT lane, seq, hash FROM events ORDER BY lane, seq")
            ):
                lanes.setdefault(lane, []).append((seq, hash_))
            heads = {
                lane: (seq, hash_)
                for lane, seq, hash_ in conn.execute(sa.text("SELECT id, seq, hash FROM chain_head"))
            }
            for lane, events in lanes.items():
                seqs = [seq for seq, _ in events]
                assert seqs == list(range(1, len(seqs) + 1))  # no gap, no half-appended event
                assert heads[lane] == events[-1]  # each lane's head names its last event
            for (report,) in conn.execute(
                sa.text("SELECT coalesce(report, automatic_report) FROM evaluations")
            ):
                json.loads(report)  # complete JSON, not a torn write
            return len(stored)
    finally:
        engine.dispose()


def test_kill_9_during_load_loses_nothing_acknowledged(
    database_url: str, server_factory: Callable[..., Server]
) -> None:
    key = reviewer_key(database_url)
    server = server_factory(database_url, workers=2)
    acknowledged = _load_until_killed(server, key)
    assert len(acknowledged) >= KILL_AFTER

    stored = _store_is_whole(database_url, set(acknowledged))
    verified = audit_verify(database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{stored} evaluations: chain intact" in verified.stdout

    # The server restarts on the same store, serves what was acknowledged, and scores again.
    server.start()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as http:
        for evaluation_id, body in list(acknowledged.items())[:5]:
            again = http.get(f"/v1/evaluations/{evaluation_id}")
            assert again.status_code == 200
            assert report_of(again.json()) == report_of(body)
        created = http.post("/v1/evaluations", params={"rubric": RUBRIC}, json=json_body())
        assert created.status_code == 201, created.text
    server.stop()
    verified = audit_verify(database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{stored + 1} evaluations: chain intact" in verified.stdout
