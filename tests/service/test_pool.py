"""The engine pool: at most `threads` jobs at once, the others in arrival order."""

from __future__ import annotations

import asyncio
import threading

import pytest
import structlog

from service.pool import EnginePool


def test_jobs_run_one_at_a_time_in_arrival_order() -> None:
    pool = EnginePool(1)
    running = 0
    most = 0
    order: list[int] = []
    guard = threading.Lock()
    released = threading.Event()

    def job(i: int) -> int:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        if i == 0:  # hold the first job until every job is queued: a second thread would run one
            released.wait(10)
        order.append(i)
        with guard:
            running -= 1
        return i * i

    async def main() -> list[int]:
        jobs = [asyncio.ensure_future(pool.run(job, i)) for i in range(20)]
        await asyncio.sleep(0)  # every job handed to the pool
        released.set()
        return await asyncio.gather(*jobs)

    try:
        assert asyncio.run(main()) == [i * i for i in range(20)]
    finally:
        pool.shutdown()
    assert order == list(range(20))
    assert most == 1


def test_a_job_sees_the_request_log_context_and_errors_propagate() -> None:
    pool = EnginePool(2)

    def context() -> object:
        return structlog.contextvars.get_contextvars().get("request_id")

    def fails() -> None:
        raise ValueError("bad package")

    async def main() -> object:
        structlog.contextvars.bind_contextvars(request_id="r-1")
        with pytest.raises(ValueError, match="bad package"):
            await pool.run(fails)
        return await pool.run(context)

    try:
        assert asyncio.run(main()) == "r-1"
    finally:
        pool.shutdown()
    # Shut down, it still runs work for an app started again.
    assert asyncio.run(pool.run(lambda: 3)) == 3
    pool.shutdown()
