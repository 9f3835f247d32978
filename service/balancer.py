"""`jixiao serve --processes N`: N single-worker processes behind HAProxy, on one address.

uvicorn's own `--workers` share one listening socket: whichever process accepts a connection
keeps it, and a client with keep-alive connections (a browser, a load balancer, wrk) stays on
one process, so two workers used 1.04 cores. HAProxy (Debian package `haproxy`) accepts the
connections instead and hands each *request* to the process with the fewest in flight; with
at most `PER_PROCESS` requests in each process, the others wait in HAProxy's queue, in
arrival order. See docs/deploy.md and docs/decisions.md ("Performance: …").
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# Requests handed to one process at once: one being scored, the next ones already read and
# waiting in its engine pool or storing, so the core never idles between two requests.
PER_PROCESS = 4


class BalancerError(RuntimeError):
    """HAProxy is missing, or a process did not start."""


def haproxy_config(host: str, port: int, ports: Sequence[int]) -> str:
    """The HAProxy configuration: listen on host:port, balance over 127.0.0.1:ports."""
    servers = "\n".join(
        f"  server p{i} 127.0.0.1:{p} maxconn {PER_PROCESS} check inter 2s"
        for i, p in enumerate(ports, 1)
    )
    return f"""global
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  option forwardfor
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout queue 300s
  timeout http-request 60s

frontend jixiao
  bind {host}:{port}
  default_backend processes

backend processes
  balance leastconn
  option httpchk GET /healthz
{servers}
"""


def free_ports(count: int) -> list[int]:
    """`count` free TCP ports on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_ready(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BalancerError(f"the process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise BalancerError(f"the process on port {port} did not start")


def _wait_listening(host: str, port: int, child: subprocess.Popen[bytes], deadline: float) -> None:
    """Wait until `host:port` accepts a TCP connection (HAProxy has bound its front end)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host  # the wildcard binds loopback too
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise BalancerError(f"haproxy exited with {child.returncode}")
        try:
            with socket.create_connection((target, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise BalancerError(f"haproxy did not listen on port {port}")


def serve_balanced(host: str, port: int, processes: int) -> int:
    """Start `processes` single-worker servers and HAProxy in front; run until signalled.

    The store is already migrated (by the caller). Any child exiting stops the others, and the
    exit code says so, so a supervisor (systemd, Docker) restarts the whole group.
    """
    # Debian installs it in /usr/sbin, which is not on every user's PATH.
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        raise BalancerError("haproxy is not installed (Debian: apt-get install haproxy)")
    ports = free_ports(processes)
    # Each child is one plain process (JIXIAO_PROCESSES=1), on a store already migrated.
    env = os.environ | {"JIXIAO_BOOTSTRAP_ADMIN": "false", "JIXIAO_PROCESSES": "1"}
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(_signum: int = 0, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with tempfile.TemporaryDirectory(prefix="jixiao-haproxy-") as tmp:
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(haproxy_config(host, port, ports), "utf-8")
        try:
            deadline = time.monotonic() + 120
            for p in ports:
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
                         "--port", str(p), "--workers", "1"],
                        env=env,
                    )
                )
            for p, child in zip(ports, children, strict=True):
                _wait_ready(p, child, deadline)
            # -db: stay in the foreground (a child of this process), logs on stderr.
            children.append(subprocess.Popen([haproxy, "-db", "-f", str(config)]))
            # Announced only once HAProxy accepts connections: a client that starts on the line
            # below must never meet a refused connection.
            _wait_listening(host, port, children[-1], deadline)
            print(
                f"jixiao: {processes} processes behind HAProxy on http://{host}:{port}",
                flush=True,
            )
            while not stopping and all(c.poll() is None for c in children):
                time.sleep(0.5)
            return 0 if stopping else 1
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
