"""Service settings, from `JIXIAO_*` environment variables (read in `create_app`, never at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.labels import DEFAULT_TIMEZONE, zone
from engine.rubric.registry import REPO_ROOT

# The SQLite file when no URL is set: in the project's data folder (beside rubrics/), so
# `jixiao serve` and `jixiao keys` find the same store from any current folder. The image
# sets JIXIAO_DB_PATH=/data/jixiao.db (a volume).
DEFAULT_DB_PATH = REPO_ROOT / "data" / "jixiao.db"


class Settings(BaseSettings):
    """Everything the service can be told; every field is `JIXIAO_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="JIXIAO_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db"
    )
    db_path: Path = Field(
        default=DEFAULT_DB_PATH,
        description="the SQLite file used when database_url is unset (default: data/jixiao.db "
        "in the project folder, never the current folder)",
    )
    rubrics: str | None = Field(
        default=None, description="rubric folder(s), os.pathsep-separated; default: bundled"
    )
    rules: str | None = Field(
        default=None, description="rule set folder(s), os.pathsep-separated; default: bundled"
    )
    backend: Literal["durable", "python"] = "durable"
    watch_rubrics: bool = Field(
        default=True,
        description="reload rubrics when their files change (a broken edit is refused)",
    )
    suites_on_reload: bool = Field(
        default=True,
        description="run a rubric's case suites before a new or changed version goes live",
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=200, ge=1)
    bootstrap_admin: bool = Field(
        default=True, description="print a one-time admin key when the key store is empty"
    )
    session_secret: str | None = Field(
        default=None,
        description="signs the web workbench's session cookies; share it across workers and replicas",
    )
    timezone: str = Field(
        default=DEFAULT_TIMEZONE,
        description="the zone of every time people read (web, sheets); JSON and the audit "
        "chain keep the UTC instant",
    )
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    processes: int = Field(
        default=1,
        ge=0,
        description="`jixiao serve` processes behind HAProxy; 0: one per core; 1: no HAProxy",
    )
    key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="seconds a valid API key is trusted without the database (0: never); "
        "a key revoked by another process stops working within this time",
    )
    engine_threads: int = Field(
        default=1,
        ge=1,
        description="threads that score packages in each process; more requests wait in order",
    )

    # Batches (POST /v1/batches): the zip's bounds, and the worker processes that score it.
    batch_max_zip_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    batch_max_entries: int = Field(default=2000, ge=1)
    batch_max_entry_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    batch_max_total_bytes: int = Field(
        default=500 * 1024 * 1024, ge=1024, description="the zip's entries, uncompressed"
    )
    batch_workers: int = Field(
        default=1,
        ge=0,
        description="worker processes per replica, and packages it scores at once (0: a thread)",
    )
    batch_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="how often a replica's queue worker says it is alive"
    )
    batch_stalled_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a replica silent this long is lost: its packages are retried elsewhere",
    )
    batch_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how often a replica looks for queued and stalled packages (besides NOTIFY)",
    )

    @model_validator(mode="after")
    def _stalled_after_heartbeats(self) -> Settings:
        # A live replica must never look lost: several heartbeats fit in the stalled delay.
        if self.batch_stalled_seconds < 3 * self.batch_heartbeat_seconds:
            raise ValueError("batch_stalled_seconds must be at least 3 × batch_heartbeat_seconds")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)  # raises ValueError for an unknown zone: the service refuses to start
        return value

    def url(self) -> str:
        """The database URL: `database_url`, else the SQLite file at `db_path`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.db_path.expanduser().resolve()}"
