"""Isolation: many concurrent evaluations through a real `jixiao serve` (2 workers, durable_rules).

Packages of every form (JSON with text, already parsed Package JSON, multipart TOML), both modes,
both bundled rubrics and several dates are first scored one at a time; then the same requests
are sent all at once, shuffled, many times over. Each concurrent answer must equal its
sequential one (the evaluation id aside), and the evaluation ids must all differ.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import httpx

from bench.corpus import example, variant
from tests.reliability.conftest import Server, reviewer_key
from tests.service.conftest import MANIFEST_TOML, json_body, multipart, report_of

REPEATS = 6
CONNECTIONS = 48


def requests() -> list[dict[str, Any]]:
    """Distinct requests: (rubric, mode, as_of) × package form and content."""
    base = example()
    out: list[dict[str, Any]] = []
    for n, (rubric, mode) in enumerate(
        [("yueyang-fujian5@2024.1", "bureau"), ("yueyang-fujian5@2024.1", "precheck"),
         ("yitihua-platform@2024.1", "bureau")]
    ):
        params = {"rubric": rubric, "mode": mode}
        for i in range(3):
            out.append({"params": params | {"as_of": f"2024-07-{1 + 3 * i + n:02d}"},
                        "json": {"package": json.loads(variant(base, 10 * n + i).model_dump_json())}})
        out.append({"params": params, "json": json_body(received_on=f"2024-07-0{n + 1}")})
        out.append({"params": params, "files": multipart(MANIFEST_TOML)})
    return out


def test_concurrent_answers_equal_sequential_ones(
    sqlite_url: str, server_factory: Callable[..., Server]
) -> None:
    key = reviewer_key(sqlite_url)
    server = server_factory(sqlite_url, workers=2)
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{server.base}/v1/evaluations"
    cases = requests()
    with httpx.Client(timeout=60, headers=headers) as http:
        sequential = []
        for case in cases:
            response = http.post(url, **case)
            assert response.status_code == 201, response.text
            sequential.append(report_of(response.json()))
    assert len({r["decision_id"] for r in sequential}) > len(cases) // 2

    order = [i for i in range(len(cases)) for _ in range(REPEATS)]
    random.Random(7).shuffle(order)

    async def burst() -> list[tuple[int, httpx.Response]]:
        limits = httpx.Limits(max_connections=CONNECTIONS)
        async with httpx.AsyncClient(timeout=120, limits=limits, headers=headers) as http:

            async def one(i: int) -> tuple[int, httpx.Response]:
                return i, await http.post(url, **cases[i])

            return await asyncio.gather(*(one(i) for i in order))

    results = asyncio.run(burst())
    ids = set()
    for i, response in results:
        assert response.status_code == 201, response.text
        body = response.json()
        ids.add(body["id"])
        assert report_of(body) == sequential[i], f"request {i} differs under load"
    assert len(ids) == len(results)
