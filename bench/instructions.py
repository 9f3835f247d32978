"""Instructions per cold round (callgrind), before and after: a figure the machine's load does
not change.

Run: .venv/bin/python -m bench.instructions [--base /tmp/jixiao-base] [--low 2 --high 10]

For each tree (the base tree, then this one) it runs `bench/instructions.py --round` under
`valgrind --tool=callgrind` twice, with `--low` and `--high` cold rounds (every engine cache
emptied, the example's package.txt imported, evaluated with durable_rules and rendered), and
once more importing only; (high − low) / (high − low rounds) is the instruction count of one
round, start-up excluded. Slow (valgrind runs Python ≈ 50× slower: a few minutes per tree).
Needs `valgrind` (Debian: apt-get install -y valgrind).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()


def rounds(count: int, what: str) -> None:
    """`count` cold rounds of import (+ evaluate + render when `what` is "all"), in this tree."""
    sys.path.insert(0, str(Path.cwd()))
    import tomllib

    from bench.probe import AS_OF, EXAMPLE, RUBRIC, clear_engine_caches
    from engine.backends.durable_adapter import DurableBackend
    from engine.dossier import assemble, parse_manifest
    from engine.evaluate import Evaluator, render_json
    from engine.rubric.load import load_rubric
    from engine.rubric.registry import BUNDLED_RULES

    manifest = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    names = manifest.get("documents", [])
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    dossier = parse_manifest(manifest, file="dossier.toml")
    rubric = load_rubric(RUBRIC, [BUNDLED_RULES])
    evaluator = Evaluator(DurableBackend())
    for _ in range(count):
        clear_engine_caches()
        package = assemble(dossier, [(n, text) for n in names])
        if what == "all":
            render_json(evaluator.evaluate(package, rubric, mode="bureau", as_of=AS_OF))


def count(tree: Path, n: int, what: str) -> int:
    """Instructions callgrind counts for `n` rounds in `tree` (its own venv and code)."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            str(tree / ".venv" / "bin" / "python"),
            str(SCRIPT),
            "--round",
            str(n),
            what,
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(out.stderr)
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=Path("/tmp/jixiao-base"))
    parser.add_argument("--low", type=int, default=2)
    parser.add_argument("--high", type=int, default=10)
    parser.add_argument("--round", nargs=2, metavar=("COUNT", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.round:
        rounds(int(args.round[0]), args.round[1])
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install -y valgrind)")
    per: dict[str, dict[str, float]] = {}
    for name, tree in (("before", args.base.resolve()), ("after", HERE)):
        per[name] = {}
        for what in ("all", "import"):
            low, high = count(tree, args.low, what), count(tree, args.high, what)
            per[name][what] = (high - low) / (args.high - args.low)
        per[name]["evaluate+render"] = per[name]["all"] - per[name]["import"]
        print(name, {k: f"{v / 1e6:.1f}M" for k, v in per[name].items()}, flush=True)
    for what in ("all", "import", "evaluate+render"):
        b, a = per["before"][what], per["after"][what]
        print(f"  {what}: {b / 1e6:.1f}M → {a / 1e6:.1f}M instructions per round (×{a / b:.3f})")


if __name__ == "__main__":
    main()
