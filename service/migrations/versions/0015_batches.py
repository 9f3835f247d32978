"""Batches: an uploaded zip of dossiers, and one item per dossier to score exactly once.

Revision ID: 0015_batches
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_batches"
down_revision = "0014_withdrawn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The batch and its items (an item's evaluation id is fixed when it is queued)."""
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("actor_key", sa.String(32), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_department", sa.String(200), nullable=True),
        sa.Column("rubric", sa.String(200), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
    )
    op.create_table(
        "batch_items",
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(1000), nullable=False),
        sa.Column("submission", sa.Text(), nullable=False),
        sa.Column("evaluation_id", sa.String(36), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("total", sa.String(20), nullable=True),
        sa.Column("grade", sa.String(40), nullable=True),
    )
    op.create_index("ix_batch_items_status", "batch_items", ["batch_id", "status"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_batch_items_status", "batch_items")
    op.drop_table("batch_items")
    op.drop_table("batches")
