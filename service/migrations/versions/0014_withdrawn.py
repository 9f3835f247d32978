"""Withdrawn evaluations (撤回): when and why; the row and its events stay.

Revision ID: 0014_withdrawn
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_withdrawn"
down_revision = "0013_audit_lanes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Two nullable columns: a withdrawn evaluation leaves the season views, nothing is deleted."""
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the two columns (the `withdrawn` audit events stay in the chain)."""
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("withdrawn_reason")
        batch.drop_column("withdrawn_at")
