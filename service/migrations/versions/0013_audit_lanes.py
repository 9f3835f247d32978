"""Audit lanes (several hash chains, one lock each) and each report stored once.

- `events` gets a `lane` column and the primary key (lane, seq): an event's seq counts within
  its lane. The existing chain becomes lane 1, unchanged (its events keep their seq, prev_hash
  and hash, and hash as before), so stored chains still verify. `chain_head` gets one row per
  lane (id = lane), lanes 2..LANES starting at the genesis hash.
- `evaluations.report` may be NULL: the current report is the automatic one until a reviewer
  adjusts it, so a new evaluation stores its report once. Existing rows whose two reports are
  equal are converted (report set to NULL).

Revision ID: 0013_audit_lanes
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_lanes"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
LANES = 16  # service.audit.LANES: the number of chain heads this revision creates

_COLUMNS = (
    "evaluation_id, kind, actor_key, actor_role, actor_name, at, rubric_id, rubric_version, "
    "rubric_sha256, payload, prev_hash, hash"
)


def _drop_triggers(postgresql: bool) -> None:
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")


def _create_triggers(postgresql: bool) -> None:
    # As in 0001: the database refuses UPDATE and DELETE on events (the function is kept).
    if postgresql:
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION jixiao_events_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events "
                "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
            )


def _events_table(name: str, *, lanes: bool) -> None:
    """`events` as 0001 made it (seq alone the key), or with lanes (key lane, seq)."""
    key = [sa.Column("lane", sa.Integer(), primary_key=True, autoincrement=False)] if lanes else []
    op.create_table(
        name,
        *key,
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("evaluation_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor_key", sa.String(32), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("rubric_id", sa.String(100), nullable=False),
        sa.Column("rubric_version", sa.String(100), nullable=False),
        sa.Column("rubric_sha256", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


def _replace_events(new: str, copy: str) -> None:
    """Fill the new events table from the old one, then put it in the old one's place."""
    op.execute(f"INSERT INTO {new} {copy} FROM events")
    op.drop_index("ix_events_evaluation_id", table_name="events")
    op.drop_table("events")
    op.rename_table(new, "events")
    op.create_index("ix_events_evaluation_id", "events", ["evaluation_id"])


def upgrade() -> None:
    """Rebuild `events` with lanes (rows copied as lane 1), add the lane heads, free `report`."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(postgresql)
    _events_table("events_lanes", lanes=True)
    _replace_events("events_lanes", f"(lane, seq, {_COLUMNS}) SELECT 1, seq, {_COLUMNS}")
    _create_triggers(postgresql)
    heads = sa.table(
        "chain_head",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("hash", sa.String),
    )
    op.bulk_insert(heads, [{"id": lane, "seq": 0, "hash": GENESIS} for lane in range(2, LANES + 1)])
    with op.batch_alter_table("evaluations") as batch:
        batch.alter_column("report", existing_type=sa.Text(), nullable=True)
    op.execute("UPDATE evaluations SET report = NULL WHERE report = automatic_report")


def downgrade() -> None:
    """Back to one chain: only while lanes 2.. are empty (else the chain would fork)."""
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    used = bind.execute(sa.text("SELECT count(*) FROM events WHERE lane <> 1")).scalar_one()
    if used:
        raise RuntimeError("events in lanes other than 1: cannot go back to a single chain")
    op.execute("UPDATE evaluations SET report = automatic_report WHERE report IS NULL")
    with op.batch_alter_table("evaluations") as batch:
        batch.alter_column("report", existing_type=sa.Text(), nullable=False)
    op.execute("DELETE FROM chain_head WHERE id <> 1")
    _drop_triggers(postgresql)
    _events_table("events_single", lanes=False)
    _replace_events("events_single", f"(seq, {_COLUMNS}) SELECT seq, {_COLUMNS}")
    _create_triggers(postgresql)
