"""Alembic environment: runs on the connection `Store.migrate` passes in, else on the settings' URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.store import Base, Store, ours


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, include_name=ours)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Used from the `alembic` command line (service/alembic.ini), e.g. to write a new revision.
    from service.settings import Settings

    url = context.config.get_main_option("sqlalchemy.url") or Settings().url()
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            _run(conn)
    finally:
        store.dispose()


_main()
