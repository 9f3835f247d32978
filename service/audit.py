"""The audit trail: append-only events, each chained to the one before by SHA-256.

An event's hash covers its own fields and the previous event's hash, so changing, removing or
reordering any event breaks every hash after it. There are `LANES` chains ("lanes"), each with
its own head row and lock, so that appends of different evaluations do not all wait for one
lock: an evaluation's events all go to one lane (its `created` event's, chosen from its id),
so each evaluation's history is one ordered piece of one chain. Every lane is global in the
sense that matters: it holds events of many evaluations, and its head names its last event,
so a deleted evaluation, event or tail of events is detected. `verify` walks every lane, and
checks that the stored package, reports and rubric snapshots still hash to what their events
recorded. Lane 1 is the chain as it was before lanes (migration 0013); its events hash
without a lane field, exactly as they did.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from service.store import GENESIS, ChainHead, Evaluation, Event, RubricSnapshot

# `published`: a staged rubric version published by an admin; its evaluation_id is "".
# `sampled`: a 抽查 draw of a season (its evaluation_id names the draw).
KINDS = ("created", "adjusted", "replayed", "withdrawn", "published", "sampled")
# Chain heads made by migration 0013 (one row each): more lanes, less waiting between writers
# of different evaluations. A different number needs a new migration adding head rows.
LANES = 16
LEGACY_LANE = 1  # the chain from before lanes: its events hash without a `lane` field
_EVENT_COLUMNS = tuple(c.key for c in Event.__table__.columns)


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text. What every hash is taken over."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(value: str) -> str:
    """SHA-256 of UTF-8 text, as hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who did something: the API key's id, role and name."""

    key: str
    role: str
    name: str

    def as_dict(self) -> dict[str, str]:
        """`{key, role, name}`."""
        return {"key": self.key, "role": self.role, "name": self.name}


def _hashed_fields(event: Event) -> dict[str, Any]:
    lane = {} if event.lane == LEGACY_LANE else {"lane": event.lane}
    return {
        **lane,
        "seq": event.seq,
        "evaluation_id": event.evaluation_id,
        "kind": event.kind,
        "actor": {"key": event.actor_key, "role": event.actor_role, "name": event.actor_name},
        "at": event.at,
        "rubric": {
            "id": event.rubric_id,
            "version": event.rubric_version,
            "sha256": event.rubric_sha256,
        },
        "payload": json.loads(event.payload),
    }


def event_hash(prev_hash: str, event: Event) -> str:
    """sha256(prev_hash + "\\n" + canonical JSON of the event's fields)."""
    return sha256_text(prev_hash + "\n" + canonical(_hashed_fields(event)))


def lane_of(evaluation_id: str) -> int:
    """The lane of a new evaluation: spread evenly over the lanes by its id."""
    return 1 + int(hashlib.sha256(evaluation_id.encode("utf-8")).hexdigest()[:8], 16) % LANES


def lane_for(session: Session, evaluation_id: str) -> int:
    """The lane of an evaluation's events: its `created` event's, else `lane_of` its id."""
    lane = session.scalar(
        select(Event.lane).where(Event.evaluation_id == evaluation_id, Event.kind == "created")
    )
    return lane if lane is not None else lane_of(evaluation_id)


def lock(session: Session, lane: int = LEGACY_LANE) -> ChainHead:
    """Lock one lane's head for this transaction and return it.

    FOR UPDATE serialises that lane's writers on PostgreSQL (other lanes go on); SQLite writers
    are already serialised by BEGIN IMMEDIATE (service.store). Taken again in the same
    transaction, it is a no-op.
    """
    return session.execute(
        select(ChainHead).where(ChainHead.id == lane).with_for_update()
    ).scalar_one()


def append(
    session: Session,
    *,
    evaluation_id: str,
    kind: str,
    actor: Actor,
    at: str,
    rubric: tuple[str, str, str],
    payload: dict[str, Any],
) -> Event:
    """Append one event to its evaluation's lane, inside the caller's transaction.

    Called last in the transaction, so that the lane's lock is held only until the commit.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    lane = lane_of(evaluation_id) if kind == "created" else lane_for(session, evaluation_id)
    # Core statements, not the ORM's unit of work: this runs under the lane's lock.
    head_seq, head_hash = session.execute(
        select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == lane).with_for_update()
    ).one()
    rubric_id, version, sha = rubric
    event = Event(
        lane=lane,
        seq=head_seq + 1,
        evaluation_id=evaluation_id,
        kind=kind,
        actor_key=actor.key,
        actor_role=actor.role,
        actor_name=actor.name,
        at=at,
        rubric_id=rubric_id,
        rubric_version=version,
        rubric_sha256=sha,
        payload=canonical(payload),
        prev_hash=head_hash,
    )
    event.hash = event_hash(head_hash, event)
    session.execute(insert(Event).values({c: getattr(event, c) for c in _EVENT_COLUMNS}))
    session.execute(
        update(ChainHead).where(ChainHead.id == lane).values(seq=event.seq, hash=event.hash)
    )
    return event


@dataclass(frozen=True)
class NewEvent:
    """A `created` event waiting to be appended: `payload` is already canonical JSON."""

    evaluation_id: str
    actor: Actor
    rubric: tuple[str, str, str]
    payload: str


# The group commit's statements, built once: it runs them under the lane's lock, on the
# Core connection (no ORM unit of work, no statement construction per batch).
_HEADS = cast(Table, ChainHead.__table__)
_EVENTS = cast(Table, Event.__table__)
_FREE_HEAD = (
    select(_HEADS.c.id, _HEADS.c.seq, _HEADS.c.hash)
    .order_by((_HEADS.c.id + bindparam("shift")) % LANES)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_HEAD = (
    select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == bindparam("lane")).with_for_update()
)
_INSERT_EVENTS = insert(_EVENTS)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.id == bindparam("lane"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def _head_for_batch(conn: Connection, first_id: str) -> tuple[int, int, str]:
    """(lane, seq, hash) of a lane head, locked: on PostgreSQL any lane no one holds.

    A new evaluation may go to any lane (its later events follow its `created` event, see
    `lane_for`), so a batch of them takes the first free lane, starting at `lane_of` its
    first id (spread), instead of waiting for a lane another process holds: writers of
    different processes never wait for each other. SQLite serialises writers anyway.
    """
    start = lane_of(first_id)
    if conn.dialect.name == "postgresql":
        found = conn.execute(_FREE_HEAD, {"shift": LANES - start}).first()
        if found is not None:
            return found[0], found[1], found[2]
    seq, head = conn.execute(_HEAD, {"lane": start}).one()
    return start, seq, head


def append_created(session: Session, entries: list[NewEvent], at: str) -> list[Event]:
    """Append several `created` events to one lane, in order, inside the caller's transaction.

    Called last in the transaction (the lane's lock is held only until the commit): one lock,
    one multi-row insert and one head update for the lot (service.groupcommit).
    """
    if not entries:
        return []
    conn = session.connection()
    lane, seq, prev = _head_for_batch(conn, entries[0].evaluation_id)
    events = []
    for entry in entries:
        seq += 1
        rubric_id, version, sha = entry.rubric
        event = Event(
            lane=lane,
            seq=seq,
            evaluation_id=entry.evaluation_id,
            kind="created",
            actor_key=entry.actor.key,
            actor_role=entry.actor.role,
            actor_name=entry.actor.name,
            at=at,
            rubric_id=rubric_id,
            rubric_version=version,
            rubric_sha256=sha,
            payload=entry.payload,
            prev_hash=prev,
        )
        event.hash = prev = event_hash(prev, event)
        events.append(event)
    conn.execute(_INSERT_EVENTS, [{c: getattr(e, c) for c in _EVENT_COLUMNS} for e in events])
    conn.execute(_MOVE_HEAD, {"lane": lane, "new_seq": seq, "new_hash": prev})
    return events


def event_json(event: Event) -> dict[str, Any]:
    """An event as the API shows it, with its place in the chain."""
    return {
        "lane": event.lane,
        **_hashed_fields(event),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "hash_ok": event_hash(event.prev_hash, event) == event.hash,
    }


def _sample_problems(payload: dict[str, Any], created: dict[str, dict[str, Any]]) -> list[str]:
    """Recompute a recorded 抽查 draw from its seed, share and population (engine.sampling)."""
    from decimal import Decimal, InvalidOperation

    from engine.sampling import draw

    try:
        members = [(str(i), str(s)) for i, s in payload["population"]]
        result = draw(str(payload["seed"]), Decimal(str(payload["share"])), members)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        return [f"the sample cannot be recomputed ({type(exc).__name__})"]
    problems = []
    if result.drawn != payload.get("drawn"):
        problems.append("the recorded sample is not what its seed, share and population draw")
    unknown = [i for i, _ in members if i not in created]
    if unknown:
        problems.append(f"the sample's population names {len(unknown)} unknown evaluation(s)")
    return problems


@dataclass
class Verification:
    """The outcome of `verify`: how much was checked and every problem found."""

    events: int = 0
    evaluations: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def verify(session: Session) -> Verification:
    """Walk every lane and cross-check every evaluation against its events."""
    out = Verification()
    last_report: dict[str, str] = {}  # evaluation id -> report sha256 of its newest event
    created: dict[str, dict[str, Any]] = {}
    heads = {head.id: head for head in session.scalars(select(ChainHead))}
    ends: dict[int, tuple[int, str]] = {}  # lane -> (seq, hash) of its last event
    lanes_of: dict[str, set[int]] = {}  # evaluation id -> the lanes its events are in
    samples: list[tuple[str, dict[str, Any]]] = []  # 抽查 draws: (where, payload)
    lane, prev, expected_seq = None, GENESIS, 1
    events = select(Event).order_by(Event.lane, Event.seq)
    for event in session.scalars(events).yield_per(500):
        if event.lane != lane:
            lane, prev, expected_seq = event.lane, GENESIS, 1
        out.events += 1
        where = f"event {event.lane}.{event.seq} ({event.kind}, evaluation {event.evaluation_id})"
        if event.seq != expected_seq:
            out.problems.append(f"{where}: expected sequence number {expected_seq}")
        if event.prev_hash != prev:
            out.problems.append(f"{where}: prev_hash does not match the hash of the event before")
        if event_hash(event.prev_hash, event) != event.hash:
            out.problems.append(f"{where}: hash does not match the event's content")
        try:
            payload = json.loads(event.payload)
        except ValueError:
            payload = {}
        if event.kind == "created":
            created[event.evaluation_id] = payload | {"_rubric_sha256": event.rubric_sha256}
        lanes_of.setdefault(event.evaluation_id, set()).add(event.lane)
        if event.kind == "sampled":
            samples.append((where, payload))  # checked once every lane's `created` is known
        if "report_sha256" in payload and event.kind in ("created", "adjusted"):
            last_report[event.evaluation_id] = payload["report_sha256"]
        prev = event.hash
        expected_seq = event.seq + 1
        ends[event.lane] = (event.seq, event.hash)
    for where, payload in samples:
        out.problems.extend(f"{where}: {p}" for p in _sample_problems(payload, created))
    for evaluation_id, lanes in lanes_of.items():
        if len(lanes) > 1:
            # An evaluation's history is one piece of one chain, or its order is not proven.
            out.problems.append(
                f"evaluation {evaluation_id}: events in several lanes {sorted(lanes)}"
            )
    for number in sorted(set(range(1, LANES + 1)) | set(heads) | set(ends)):
        head = heads.get(number)
        end = ends.get(number, (0, GENESIS))
        if head is None or (head.seq, head.hash) != end:
            out.problems.append(
                f"lane {number}: chain head does not name the last event (events removed at "
                "the end?)"
            )
    for ev in session.scalars(select(Evaluation).order_by(Evaluation.seq)).yield_per(200):
        out.evaluations += 1
        where = f"evaluation {ev.id}"
        record = created.pop(ev.id, None)
        if record is None:
            out.problems.append(f"{where}: no `created` event")
            continue
        checks = {
            "package": (sha256_text(ev.package), record.get("package_sha256")),
            "automatic report": (sha256_text(ev.automatic_report), record.get("report_sha256")),
            "current report": (sha256_text(ev.current_report), last_report.get(ev.id)),
            "rubric sha256": (ev.rubric_sha256, record.get("_rubric_sha256")),
        }
        snapshot = session.get(RubricSnapshot, ev.snapshot_id)
        checks["rubric snapshot"] = (
            sha256_text(snapshot.body) if snapshot else "(missing)",
            record.get("snapshot_sha256"),
        )
        checks["snapshot id"] = (ev.snapshot_id, record.get("snapshot_sha256"))
        for what, (actual, recorded) in checks.items():
            if actual != recorded:
                out.problems.append(f"{where}: {what} does not match its audit event")
    for orphan in created:
        out.problems.append(f"evaluation {orphan}: has events but is missing from the store")
    return out
