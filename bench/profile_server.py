"""Profile one `jixiao serve` process under sequential stored evaluations, with py-spy.

Run: .venv/bin/pip install py-spy; .venv/bin/python -m bench.profile_server [--db sqlite]
     [--seconds 20] [--out profile.txt]

Starts this tree's server on a fresh store (bench.compare.serve), warms it with 20 requests,
then records the process with `py-spy record --gil -r 200 -f raw` (only the thread holding
the GIL: where the CPU goes) while POSTing the example one request at a time, and prints the
functions with the largest share of samples (each counted once per stack).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.compare import HERE, group_pids, reviewer_key, serve
from bench.http_bench import RUBRIC, body, database


def shares(raw: Path, top: int) -> list[tuple[float, str]]:
    """(percent of samples, function) for the `top` functions, inclusive."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        total += int(n)
        for frame in {f.split(" (")[0] for f in stack.split(";")}:
            counts[frame] += int(n)
    return [(100 * c / max(total, 1), f) for f, c in counts.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("profile.txt"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    payload = body("json").encode("utf-8")
    with database(args.db) as url, tempfile.TemporaryDirectory() as tmp:
        key = reviewer_key(HERE, url)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with serve(HERE, url, Path(tmp) / "server.log") as (base, pgid), httpx.Client(
            base_url=base, headers=headers, timeout=60
        ) as client:
            target = f"/v1/evaluations?rubric={RUBRIC}"
            for _ in range(20):
                client.post(target, content=payload).raise_for_status()
            spy = subprocess.Popen(
                [str(HERE / ".venv" / "bin" / "py-spy"), "record", "-p", str(group_pids(pgid)[0]),
                 "--gil", "-r", "200", "-d", str(args.seconds), "-f", "raw", "-o", str(args.out),
                 "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            started, requests = time.monotonic(), 0
            while time.monotonic() - started < args.seconds - 1:
                client.post(target, content=payload).raise_for_status()
                requests += 1
            spy.wait()
    print(f"{requests} stored evaluations; py-spy samples in {args.out}")
    for share, frame in shares(args.out, args.top):
        print(f"{share:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
