"""The store on SQLite and PostgreSQL: migrations, atomic writes, the audit chain, `audit verify`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from service import audit
from service.app import create_app
from service.audit import Actor
from service.cli import main as cli_main
from service.store import Evaluation, Event, Store
from tests.service.conftest import RUBRIC, Service, json_body, settings_for

ACTOR = Actor("k1", "reviewer", "审核员")


def _drop_append_only_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only ON events"))


def _verify_cli(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli_main(["audit", "verify", "--database-url", url])
    return code, capsys.readouterr().out


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from service.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_migrations_are_idempotent(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
        tables = set(sa.inspect(conn).get_table_names())
    assert {"api_keys", "evaluations", "events", "rubric_snapshots", "chain_head"} <= tables
    if store.is_sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    store.dispose()


def test_events_are_append_only_in_the_database(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    with store.write() as session:
        audit.append(
            session,
            evaluation_id="e",
            kind="created",
            actor=ACTOR,
            at="t",
            rubric=("r", "1", "s"),
            payload={},
        )
    for statement in ("UPDATE events SET actor_name = 'x'", "DELETE FROM events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    store.dispose()


def test_concurrent_appends_keep_one_linear_chain(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(6):
                with store.write() as session:
                    audit.append(
                        session,
                        evaluation_id=f"e{n}-{i}",
                        kind="created",
                        actor=ACTOR,
                        at="2024-07-01T00:00:00Z",
                        rubric=("r", "1", "s"),
                        payload={"n": n, "i": i},
                    )
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with store.read() as session:
        rows = session.execute(select(Event.lane, Event.seq).order_by(Event.lane, Event.seq))
        lanes: dict[int, list[int]] = {}
        for lane, seq in rows:
            lanes.setdefault(lane, []).append(seq)
        result = audit.verify(session)
    # Each lane is one linear chain: 1, 2, 3, … with no gap and no fork.
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in lanes.values())
    assert sum(len(seqs) for seqs in lanes.values()) == 48
    assert len(lanes) > 1  # 48 evaluations spread over the lanes
    # The events name evaluations that do not exist: the only problems are those orphans.
    assert all("missing from the store" in p for p in result.problems)
    assert result.events == 48
    store.dispose()


def test_an_evaluation_is_stored_with_its_event_or_not_at_all(
    any_svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append_created", fail)  # the event, after the rows
    response = any_svc.client.post(
        "/v1/evaluations",
        params={"rubric": RUBRIC},
        json=json_body(),
        headers=any_svc.auth("reviewer"),
    )
    assert response.status_code == 500
    with any_svc.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 0
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_score_adjust_replay_and_verify_on_each_database(
    any_svc: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    created = any_svc.create()
    url = f"/v1/evaluations/{created['id']}"
    adjusted = any_svc.client.post(
        f"{url}/adjustments",
        json={"clause": "problems.quality", "score": 17, "reason": "较全面"},
        headers=any_svc.auth("reviewer"),
    )
    assert adjusted.status_code == 200, adjusted.text
    assert any_svc.client.post(f"{url}/replay", headers=any_svc.auth("admin")).json()["reproduced"]
    assert any_svc.client.get(url, headers=any_svc.auth("reviewer")).json() == adjusted.json()
    listed = any_svc.client.get("/v1/evaluations", headers=any_svc.auth("reviewer")).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    assert listed["items"][0]["adjustments"] == 1
    assert listed["items"][0]["total"]["score"] == adjusted.json()["total"]["score"]
    assert listed["items"][0]["automatic_score"] == created["total"]["score"]

    code, out = _verify_cli(str(any_svc.store.url.render_as_string(hide_password=False)), capsys)
    assert code == 0, out
    assert "3 events, 1 evaluations: chain intact" in out


@pytest.mark.parametrize(
    "tamper",
    ["event payload", "event removed", "automatic report", "current report", "package", "snapshot"],
)
def test_audit_verify_detects_tampering(
    any_svc: Service, capsys: pytest.CaptureFixture[str], tamper: str
) -> None:
    first = any_svc.create()
    any_svc.create()
    url = any_svc.store.url.render_as_string(hide_password=False)
    assert _verify_cli(url, capsys)[0] == 0
    _drop_append_only_triggers(any_svc.store)
    statements = {
        "event payload": f"UPDATE events SET payload = replace(payload, 'bureau', 'precheck') WHERE evaluation_id = '{first['id']}'",
        "event removed": f"DELETE FROM events WHERE evaluation_id = '{first['id']}'",
        "automatic report": "UPDATE evaluations SET automatic_report = replace(automatic_report, '\"bureau\"', '\"precheck\"')",
        "current report": "UPDATE evaluations SET report = automatic_report || ' '",
        "package": "UPDATE evaluations SET package = replace(package, 'true', 'false')",
        "snapshot": "UPDATE rubric_snapshots SET body = replace(body, 'points = 2', 'points = 1')",
    }
    with any_svc.store.engine.begin() as conn:
        conn.execute(text(statements[tamper]))
    code, out = _verify_cli(url, capsys)
    assert code == 1, out
    assert "FAILED" in out
    if tamper == "event payload":
        assert f"evaluation {first['id']})" in out
    elif tamper == "event removed":
        # Its lane's head names a missing event, or the lane's next event has lost its link.
        assert "chain head does not name the last event" in out or "expected sequence" in out
    else:
        assert f"evaluation {first['id']}" in out


def test_cli_keys_create_prints_a_working_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_service: Callable[..., Service]
) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    assert (
        cli_main(
            ["keys", "create", "--role", "reviewer", "--name", "复核", "--database-url", url, "--init"]
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    assert key.startswith("jx_")
    assert "\n" not in key
    svc = make_service(url)
    assert svc.client.get("/v1/rubrics", headers={"X-API-Key": key}).status_code == 200
    assert cli_main(["keys", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert "复核" in listing
    assert key not in listing
    assert cli_main(["keys", "create", "--role", "department", "--database-url", url]) == 2
    key_id = key.split("_")[1]
    assert cli_main(["keys", "revoke", key_id, "--database-url", url]) == 0
    assert svc.client.get("/v1/rubrics", headers={"X-API-Key": key}).status_code == 401


def test_first_start_on_an_empty_store_prints_a_one_time_admin_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], durable: Any
) -> None:
    from fastapi.testclient import TestClient

    settings = settings_for(f"sqlite:///{tmp_path / 'first.db'}").model_copy(
        update={"bootstrap_admin": True}
    )
    with TestClient(create_app(settings, backend=durable)) as client:
        out = capsys.readouterr().out
        (line,) = [ln for ln in out.splitlines() if ln.startswith("JIXIAO_ADMIN_KEY=")]
        key = line.split("=", 1)[1]
        keys = client.get("/v1/keys", headers={"Authorization": f"Bearer {key}"})
        assert keys.status_code == 200
        assert [k["role"] for k in keys.json()["items"]] == ["admin"]
    with TestClient(create_app(settings, backend=durable)):
        assert "JIXIAO_ADMIN_KEY" not in capsys.readouterr().out


def test_the_console_entry_point_delegates_to_the_engine(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    compiled = run("rubric", "compile", RUBRIC)
    assert compiled.returncode == 0, compiled.stderr
    assert '"ruleset"' in compiled.stdout
    verify = run("audit", "verify", "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert verify.returncode == 2  # no store there: a one-line error, no traceback
    assert "Traceback" not in verify.stderr
    assert run("--help").returncode == 0


def test_concurrent_writers_never_collide_or_lose_an_adjustment(any_svc: Service) -> None:
    """Threads scoring (the first ones race to store the same new snapshot) and adjusting."""
    from concurrent.futures import ThreadPoolExecutor

    from service.auth import Principal
    from service.evaluations import EvaluationService
    from service.submission import from_json_body

    service: EvaluationService = any_svc.client.app.state.service  # type: ignore[attr-defined]
    reviewer = Principal("k", "reviewer", "审核员", None)
    raw = json.dumps(json_body()).encode()

    def score(_n: int) -> str:
        return service.create(
            reviewer, from_json_body(raw), rubric_ref=RUBRIC, mode="bureau", as_of=None
        ).id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(score, range(12)))
    target = ids[0]

    def adjust(n: int) -> None:
        service.adjust(
            reviewer,
            target,
            clause="problems.quality",
            score=Decimal(16 + n % 3),
            reason=f"第{n}次",
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(adjust, range(12)))
    report = any_svc.client.get(
        f"/v1/evaluations/{target}", headers=any_svc.auth("reviewer")
    ).json()
    item = next(i for i in report["items"] if i["id"] == "problems")
    assert sorted(a["reason"] for a in item["assessment"]["adjustments"]) == sorted(
        f"第{n}次" for n in range(12)
    )
    with any_svc.store.read() as session:
        result = audit.verify(session)
    assert result.ok, result.problems
    assert result.events == 24


def test_the_models_match_the_migrations(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from service.store import Base, ours

    store = Store(database_url)
    store.migrate()
    with store.engine.connect() as conn:
        # The task queue's tables (procrastinate, migration 0016) are the library's, not models.
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    store.dispose()
    assert diff == [], "models and migrations differ: write a new Alembic revision"
