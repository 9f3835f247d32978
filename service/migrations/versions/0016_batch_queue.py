"""The batch queue: procrastinate's schema on PostgreSQL; the home-made claim columns retired.

Revision ID: 0016_batch_queue
Revises: 0015_batches
Create Date: 2026-11-30

On PostgreSQL this installs the schema procrastinate ships (procrastinate/sql/schema.sql, the
version pinned in pyproject.toml). A later procrastinate release with schema changes needs a new
revision applying the library's own migration files (procrastinate/sql/migrations). On SQLite
batches are dispatched in-process, so there is nothing to install.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_batch_queue"
down_revision = "0015_batches"
branch_labels = None
depends_on = None


def _driver() -> object:
    """The psycopg connection under alembic's, in the migration's transaction."""
    return op.get_bind().connection.driver_connection


def upgrade() -> None:
    """Install procrastinate (PostgreSQL); `batch_items` keeps who ran an item, not a lease."""
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # The raw driver: the schema is many statements with `%` and `:` in its function bodies,
        # which SQLAlchemy's text() or a parameter style would try to interpret.
        _driver().execute(SchemaManager.get_schema())  # type: ignore[attr-defined]
    with op.batch_alter_table("batch_items") as batch:
        batch.drop_column("claimed_at")
        batch.alter_column("claimed_by", new_column_name="worker", existing_type=sa.String(100))


def downgrade() -> None:
    """Back to 0015: the claim columns, and no procrastinate objects."""
    with op.batch_alter_table("batch_items") as batch:
        batch.alter_column("worker", new_column_name="claimed_by", existing_type=sa.String(100))
        batch.add_column(sa.Column("claimed_at", sa.Float(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    # Every procrastinate object in the current schema (their names all start so); functions
    # first, since they depend on the tables' types.
    functions = bind.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
        )
    ).scalars()
    for signature in list(functions):
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for table in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    types = bind.execute(
        sa.text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'"
            " AND t.typtype IN ('e', 'c')"
        )
    ).scalars()
    for name in list(types):
        op.execute(f"DROP TYPE IF EXISTS {name} CASCADE")
