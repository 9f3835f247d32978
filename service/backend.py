"""The rule-matching backend of this process: one per process, shared by every app.

durable_rules is not thread-safe and keeps process-wide state (domain.md §7); the adapter runs
it under one lock (dispatcher threads off), so the service must never make a second one. This is the only
service module that imports the adapter (an import-linter contract keeps durable_rules behind
the adapter).
"""

from __future__ import annotations

import threading

from engine.backends import PythonBackend
from engine.backends.plan import Backend

_BACKENDS: dict[str, Backend] = {}
_LOCK = threading.Lock()


def process_backend(name: str) -> Backend:
    """The process's backend called `name` ("durable" or "python"), created on first use."""
    with _LOCK:
        backend = _BACKENDS.get(name)
        if backend is None:
            if name == "python":
                backend = PythonBackend()
            elif name == "durable":
                from engine.backends.durable_adapter import DurableBackend

                backend = DurableBackend()
            else:
                raise ValueError(f"unknown backend {name!r}")
            _BACKENDS[name] = backend
        return backend


def engine_errors() -> tuple[type[Exception], ...]:
    """Errors the rule engine raises for a fact it refuses (e.g. a value too large for it)."""
    from engine.backends.durable_adapter import EngineError

    return (EngineError,)
