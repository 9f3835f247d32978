"""The audit lanes: appends of different evaluations take different locks, and `verify` still
proves each lane's order and finds any edited, inserted, removed, reordered or moved event.
A chain stored before lanes (migration 0001) still verifies after migration 0013."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from service import audit
from service.audit import Actor
from service.store import GENESIS, MIGRATIONS, Event, Store

ACTOR = Actor("k1", "reviewer", "审核员")
RUBRIC = ("r", "1", "s")


def _no_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only ON events"))


def _append(store: Store, evaluation_id: str, kind: str = "created", **payload: Any) -> Event:
    with store.write() as session:
        return audit.append(
            session,
            evaluation_id=evaluation_id,
            kind=kind,
            actor=ACTOR,
            at="2024-07-01T00:00:00Z",
            rubric=RUBRIC,
            payload=payload,
        )


def _chain_problems(store: Store) -> list[str]:
    """verify's problems, without the orphans (these events name no stored evaluation)."""
    with store.read() as session:
        result = audit.verify(session)
    return [p for p in result.problems if "missing from the store" not in p]


def _two_in_one_lane() -> tuple[str, str]:
    """Two evaluation ids that share a lane (found by counting, not by chance)."""
    seen: dict[int, str] = {}
    for n in range(1000):
        lane = audit.lane_of(f"ev-{n}")
        if lane in seen:
            return seen[lane], f"ev-{n}"
        seen[lane] = f"ev-{n}"
    raise AssertionError("unreachable: 1000 ids over 16 lanes")


def test_events_spread_over_lanes_and_follow_their_evaluation(store: Store) -> None:
    created = [_append(store, f"ev-{n}") for n in range(40)]
    assert len({e.lane for e in created}) > 4
    later = _append(store, "ev-3", "replayed", reproduced=True)
    assert later.lane == created[3].lane
    assert _chain_problems(store) == []


@pytest.mark.parametrize(
    "tamper", ["edit", "insert", "delete middle", "delete tail", "swap", "move"]
)
def test_verify_finds_every_kind_of_tampering(store: Store, tamper: str) -> None:
    a, b = _two_in_one_lane()
    first = _append(store, a)
    _append(store, a, "replayed", reproduced=True)
    last = _append(store, b)
    lane = first.lane
    assert last.lane == lane
    assert _chain_problems(store) == []
    _no_triggers(store)
    statements = {
        "edit": f"UPDATE events SET actor_name = 'x' WHERE lane = {lane} AND seq = 2",
        # A forged event after the last one, hashed and linked correctly, head left alone.
        "insert": None,
        "delete middle": f"DELETE FROM events WHERE lane = {lane} AND seq = 2",
        "delete tail": f"DELETE FROM events WHERE lane = {lane} AND seq = 3",
        "swap": None,
        "move": f"UPDATE events SET lane = {lane % audit.LANES + 1} WHERE lane = {lane} AND seq = 3",
    }
    with store.engine.begin() as conn:
        if tamper == "insert":
            forged = Event(
                lane=lane,
                seq=4,
                evaluation_id=b,
                kind="replayed",
                actor_key="k1",
                actor_role="reviewer",
                actor_name="x",
                at="t",
                rubric_id="r",
                rubric_version="1",
                rubric_sha256="s",
                payload="{}",
                prev_hash=last.hash,
            )
            forged.hash = audit.event_hash(last.hash, forged)
            conn.execute(
                Event.__table__.insert().values(
                    {c.name: getattr(forged, c.name) for c in Event.__table__.columns}
                )
            )
        elif tamper == "swap":
            # The key is checked per row: go through a free number.
            for old, new in ((1, 99), (2, 1), (99, 2)):
                conn.execute(
                    text(f"UPDATE events SET seq = {new} WHERE lane = {lane} AND seq = {old}")
                )
        else:
            conn.execute(text(statements[tamper] or ""))
    problems = _chain_problems(store)
    assert problems, tamper


def _upgrade_to(store: Store, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def test_a_chain_stored_before_lanes_still_verifies_after_the_migration(
    database_url: str, make_event_rows: Callable[[Store], str]
) -> None:
    store = Store(database_url)
    _upgrade_to(store, "0001")
    legacy_id = make_event_rows(store)
    store.migrate()  # 0013: lanes, report stored once
    with store.read() as session:
        result = audit.verify(session)
        lanes = set(session.scalars(select(Event.lane)))
        report = session.execute(text("SELECT report FROM evaluations")).scalar_one()
    assert result.ok, result.problems
    assert result.events == 2
    assert result.evaluations == 1
    assert lanes == {audit.LEGACY_LANE}
    assert report is None  # equal to the automatic report: now stored once
    # New events: the old evaluation's stay in its lane; a new evaluation gets its own lane.
    assert _append(store, legacy_id, "replayed", reproduced=True).lane == audit.LEGACY_LANE
    with store.read() as session:
        assert audit.verify(session).ok
    store.dispose()


@pytest.fixture
def make_event_rows() -> Callable[[Store], str]:
    """Rows as the code before lanes wrote them: one evaluation, its created and adjusted events."""

    def make(store: Store) -> str:
        evaluation_id = "legacy-0001"
        body, package, report = '{"rubric":1}', '{"package":1}', '{"total":1}'
        snapshot_id = _sha(body)
        prev = GENESIS
        events = []
        for seq, kind, payload in (
            (
                1,
                "created",
                {
                    "package_sha256": _sha(package),
                    "report_sha256": _sha(report),
                    "snapshot_sha256": snapshot_id,
                },
            ),
            (2, "replayed", {"reproduced": True}),
        ):
            event = Event(
                lane=audit.LEGACY_LANE,
                seq=seq,
                evaluation_id=evaluation_id,
                kind=kind,
                actor_key="k1",
                actor_role="reviewer",
                actor_name="审核员",
                at="t",
                rubric_id="r",
                rubric_version="1",
                rubric_sha256="s",
                payload=audit.canonical(payload),
                prev_hash=prev,
            )
            event.hash = audit.event_hash(prev, event)
            prev = event.hash
            events.append(event)
        with store.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO rubric_snapshots VALUES (:id, 's', 'r', '1', 't', :body, 't')"),
                {"id": snapshot_id, "body": body},
            )
            conn.execute(
                text(
                    "INSERT INTO evaluations (id, decision_id, department, fiscal_year, "
                    "rubric_id, rubric_version, rubric_sha256, snapshot_id, mode, as_of, "
                    "created_at, created_by, total_max, automatic_score, score, adjustments, "
                    "package, automatic_report, report) VALUES (:id, 'd', '部门', 2023, 'r', "
                    "'1', 's', :snap, 'bureau', '2024-06-28', 't', 'k1', '100', '90', '90', 0, "
                    ":package, :report, :report)"
                ),
                {"id": evaluation_id, "snap": snapshot_id, "package": package, "report": report},
            )
            for e in events:  # the 0001 table: no lane column
                conn.execute(
                    text(
                        "INSERT INTO events (seq, evaluation_id, kind, actor_key, actor_role, "
                        "actor_name, at, rubric_id, rubric_version, rubric_sha256, payload, "
                        "prev_hash, hash) VALUES (:seq, :evaluation_id, :kind, :actor_key, "
                        ":actor_role, :actor_name, :at, :rubric_id, :rubric_version, "
                        ":rubric_sha256, :payload, :prev_hash, :hash)"
                    ),
                    {
                        c: getattr(e, c)
                        for c in (
                            "seq",
                            "evaluation_id",
                            "kind",
                            "actor_key",
                            "actor_role",
                            "actor_name",
                            "at",
                            "rubric_id",
                            "rubric_version",
                            "rubric_sha256",
                            "payload",
                            "prev_hash",
                            "hash",
                        )
                    },
                )
            conn.execute(
                text("UPDATE chain_head SET seq = 2, hash = :hash WHERE id = 1"), {"hash": prev}
            )
        return evaluation_id

    return make


def test_the_migration_goes_back_while_only_lane_1_is_used(
    database_url: str, make_event_rows: Callable[[Store], str]
) -> None:
    store = Store(database_url)
    _upgrade_to(store, "0001")
    make_event_rows(store)
    store.migrate()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chain_head")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 2
        assert conn.execute(text("SELECT report FROM evaluations")).scalar_one() is not None
    store.migrate()  # and forward again: the same chain, still intact
    with store.read() as session:
        assert audit.verify(session).ok
    # Once another lane has events, going back would fork the chain: refused.
    other = next(f"ev-{n}" for n in range(100) if audit.lane_of(f"ev-{n}") != audit.LEGACY_LANE)
    _append(store, other)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        with pytest.raises(RuntimeError, match="lanes other than 1"):
            command.downgrade(config, "0001")
    store.dispose()
