"""The engine pool: where CPU-bound work (reading, scoring, rendering a package) runs.

One process runs Python on one core at a time (the GIL), so running 32 requests' scoring at
once on anyio's 40 threads only makes them share that core and finish together, late. The
pool has a fixed number of threads (`JIXIAO_ENGINE_THREADS`, default 1: one per process, and
one process per core, see docs/deploy.md); requests beyond it wait in its queue, first come
first served, while the event loop and the I/O threads (authentication, database writes) stay
free. See docs/decisions.md, "Performance: bounded engine pool".
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class EnginePool:
    """A fixed number of threads with a first-in, first-out queue."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="jixiao-engine")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in the pool and wait for it (the request's log context goes along)."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def shutdown(self) -> None:
        """Finish the queued work and stop the threads (an app started again gets new ones)."""
        old, self._executor = self._executor, ThreadPoolExecutor(
            self.threads, thread_name_prefix="jixiao-engine"
        )
        old.shutdown(wait=True)
