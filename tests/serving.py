"""The one helper for a real `jixiao serve`: start it on a free port, wait for /readyz, stop it.

Used by the service, reliability and web tests and by bench/http_bench.py. The server runs in
its own process group (the supervisor and every worker), so stopping it ends all of them and
nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Serve:
    """A `jixiao serve` process group on loopback.

    `env` holds its `JIXIAO_*` settings: the caller's own `JIXIAO_*` variables are dropped, so a
    developer's environment never leaks into a test.
    """

    log: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    cwd: Path = REPO_ROOT
    command: tuple[str, ...] = (sys.executable, "-m", "service.cli")
    base: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 60) -> None:
        """Start on a free port and wait until /readyz answers 200 (RuntimeError with the log)."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env |= {"JIXIAO_BOOTSTRAP_ADMIN": "false", "JIXIAO_LOG_LEVEL": "WARNING"} | self.env
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(self.workers)],
                cwd=self.cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the supervisor and every worker
            )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "jixiao serve did not start:\n" + self.log.read_text("utf-8", "replace")
                )
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL every process of the server at once: a crash, nothing gets to clean up."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._wait_group_gone()

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._wait_group_gone()
        self.process = None

    def _wait_group_gone(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
