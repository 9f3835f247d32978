"""Initial schema: API keys, rubric snapshots, evaluations, the audit chain.

Revision ID: 0001
Revises:
Create Date: 2024-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    """Create the tables, the chain head, and triggers that keep events append-only."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "rubric_snapshots",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rubric_sha256", sa.String(64), nullable=False),
        sa.Column("rubric_id", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_rubric_snapshots_rubric_sha256", "rubric_snapshots", ["rubric_sha256"])
    op.create_table(
        "evaluations",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.String(100), nullable=False),
        sa.Column("rubric_version", sa.String(100), nullable=False),
        sa.Column("rubric_sha256", sa.String(64), nullable=False),
        sa.Column(
            "snapshot_id", sa.String(64), sa.ForeignKey("rubric_snapshots.id"), nullable=False
        ),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("total_max", sa.String(20), nullable=False),
        sa.Column("automatic_score", sa.String(20), nullable=False),
        sa.Column("score", sa.String(20), nullable=False),
        sa.Column("adjustments", sa.Integer(), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("automatic_report", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
    )
    op.create_index("ix_evaluations_department_year", "evaluations", ["department", "fiscal_year"])
    op.create_index("ix_evaluations_rubric", "evaluations", ["rubric_id", "rubric_version"])
    op.create_table(
        "events",
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
    op.create_index("ix_events_evaluation_id", "events", ["evaluation_id"])
    chain_head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "hash": GENESIS}])

    # Defence in depth: the application never updates or deletes an event, and the database
    # refuses to. The hash chain still detects tampering by anyone who drops these triggers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION jixiao_events_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'events are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
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


def downgrade() -> None:
    """Drop everything (loses the audit trail: only for a throw-away database)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS jixiao_events_append_only()")
    for table in ("chain_head", "events", "evaluations", "rubric_snapshots", "api_keys"):
        op.drop_table(table)
