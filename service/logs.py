"""Structured logs: one JSON object per line on stdout, the request id bound to every line.

structlog events and the standard library's records (uvicorn's) go through the same JSON
renderer. Nothing from a package's contents is logged: events name ids, rubric references,
hashes, totals and rule ids only.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(level: str = "INFO") -> None:
    """Send structlog events and stdlib records to stdout as JSON lines."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # The app writes its own `request` line (with the request id); uvicorn's is redundant.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    # Alembic narrates every step of every start at INFO; keep its warnings only.
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        # Not cached: tests swap the processors with structlog.testing.capture_logs.
        cache_logger_on_first_use=False,
    )


def get_logger() -> Any:
    """The service's structlog logger (typed loosely: structlog's bound loggers are dynamic)."""
    return structlog.get_logger("jixiao")
