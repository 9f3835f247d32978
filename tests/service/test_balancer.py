"""`jixiao serve --processes N`: N single-worker processes behind HAProxy, one address."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.rubric.registry import REPO_ROOT
from service.balancer import PER_PROCESS, haproxy_config
from service.store import Store
from tests.service.conftest import RUBRIC, json_body, make_keys
from tests.serving import free_port


def _documented_command() -> list[str]:
    """docs/deploy.md's `serve-processes` example, as arguments ("--processes 0")."""
    text = (REPO_ROOT / "docs" / "deploy.md").read_text("utf-8")
    found = re.search(r"<!-- example: serve-processes -->\n```sh\n(.*?)\n```", text, re.S)
    assert found
    args = found.group(1).split("#")[0].split()
    assert args[:2] == [".venv/bin/jixiao", "serve"]
    return args[1:]


def test_the_configuration_balances_requests_over_every_process() -> None:
    config = haproxy_config("0.0.0.0", 8000, [41001, 41002, 41003])
    assert "bind 0.0.0.0:8000" in config
    assert "balance leastconn" in config
    assert "mode http" in config  # requests are balanced, not only connections
    servers = re.findall(r"server p\d 127\.0\.0\.1:(\d+) maxconn (\d+)", config)
    assert servers == [(str(p), str(PER_PROCESS)) for p in (41001, 41002, 41003)]


@pytest.mark.skipif(
    shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
    reason="haproxy is not installed (scripts/setup.sh installs it)",
)
def test_one_keep_alive_client_reaches_every_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    store = Store(url)
    store.migrate()
    keys = make_keys(store)
    store.dispose()
    port = free_port()
    cores = os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env |= {"JIXIAO_DB_PATH": str(tmp_path / "j.db"), "JIXIAO_BOOTSTRAP_ADMIN": "false"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *_documented_command(), "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while "processes behind HAProxy" not in log.read_text("utf-8", "replace"):
            assert process.poll() is None, log.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.2)
        with httpx.Client(base_url=base, headers=keys.header("reviewer"), timeout=60) as client:
            for _ in range(3 * cores):  # one client, one keep-alive connection
                response = client.post(
                    "/v1/evaluations", params={"rubric": RUBRIC}, json=json_body()
                )
                assert response.status_code == 201, response.text
        ports = re.findall(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text())
        assert len(ports) == cores  # --processes 0: one per core
        served = []
        for p in ports:
            metrics = httpx.get(f"http://127.0.0.1:{p}/metrics", timeout=10).text
            counts = re.findall(r"^jixiao_evaluations_total\{[^}]*\} (\S+)$", metrics, re.M)
            served.append(sum(float(c) for c in counts))
        assert sum(served) == 3 * cores
        assert all(n > 0 for n in served), served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0
