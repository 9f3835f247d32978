"""Alembic migrations of the service's store (run at startup by `Store.migrate`)."""
