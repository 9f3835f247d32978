"""Against a real `jixiao serve` (uvicorn, 2 workers) on loopback: concurrency and the curl example.

200 concurrent requests over 20 different packages: each answer must equal the answer to the
same package sent alone, with no 5xx, and the audit chain must stay intact across processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
from typing import Any

import httpx
import pytest

from engine.rubric.registry import REPO_ROOT
from service.cli import main as cli_main
from tests.service.conftest import RUBRIC, Live, json_body, report_of

ELEMENTS = ["自评范围", "自评主要依据", "自评主要内容", "自评程序和步骤", "有关要求", "附件"]
PACKAGES = 20
REPEATS = 10


def variation(i: int) -> dict[str, Any]:
    """Package i of 20: received on another day, fewer notice elements, an extra unit."""
    base = json_body()
    units = list(base["units"])
    if i >= 10:
        units.append({"name": f"岳阳市下属单位{i}", "kind": "所属单位", "self_checked": i % 3 != 0})
    return json_body(
        received_on=(dt.date(2024, 6, 24) + dt.timedelta(days=i % 10)).isoformat(),
        notice={"issued": True, "elements": ELEMENTS[: 6 - i % 4], "evidence": ["通知.pdf"]},
        units=units,
    )


def test_200_concurrent_requests_equal_their_sequential_results(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"Authorization": f"Bearer {live.keys.reviewer}"}
    url = f"{live.base_url}/v1/evaluations"
    bodies = [variation(i) for i in range(PACKAGES)]
    with httpx.Client(timeout=60) as client:
        sequential = []
        for body in bodies:
            response = client.post(url, params={"rubric": RUBRIC}, json=body, headers=headers)
            assert response.status_code == 201, response.text
            sequential.append(report_of(response.json()))
    assert len({r["decision_id"] for r in sequential}) == PACKAGES  # 20 different packages
    assert len({r["total"]["score"] for r in sequential}) > 1

    async def run() -> list[tuple[int, httpx.Response]]:
        limits = httpx.Limits(max_connections=PACKAGES * REPEATS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def one(n: int) -> tuple[int, httpx.Response]:
                i = n % PACKAGES
                response = await client.post(
                    url, params={"rubric": RUBRIC}, json=bodies[i], headers=headers
                )
                return i, response

            return await asyncio.gather(*(one(n) for n in range(PACKAGES * REPEATS)))

    results = asyncio.run(run())
    statuses = [r.status_code for _i, r in results]
    assert all(s < 500 for s in statuses), statuses
    assert statuses == [201] * len(results)
    ids = set()
    for i, response in results:
        body = response.json()
        ids.add(body["id"])
        assert report_of(body) == sequential[i]
    assert len(ids) == len(results)
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--database-url", live.database_url]) == 0
    assert f"{PACKAGES * (REPEATS + 1)} events" in capsys.readouterr().out


def _curl_examples() -> list[tuple[str, str]]:
    """The `curl-score` example of docs/http.md, and of README.md once it has one."""
    out = []
    for doc in ("docs/http.md", "README.md"):
        text = (REPO_ROOT / doc).read_text("utf-8")
        found = re.search(r"<!-- example: curl-score -->\n```\w*\n(.*?)```", text, re.S)
        if found:
            out.append((doc, found.group(1)))
    assert [doc for doc, _ in out][:1] == ["docs/http.md"], "docs/http.md: no example curl-score"
    return out


def test_the_documented_curl_line_scores_the_example(live: Live) -> None:
    for doc, example in _curl_examples():
        script = example.replace("http://127.0.0.1:8000", live.base_url)
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            cwd=REPO_ROOT,
            env={"KEY": live.keys.reviewer, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, (doc, done.stderr)
        body = httpx.Response(200, content=done.stdout.encode()).json()
        assert body["rubric"]["id"] == "yueyang-fujian5", doc
        assert body["package"]["department"] == "岳阳市科学技术局", doc
        assert body["id"], doc
