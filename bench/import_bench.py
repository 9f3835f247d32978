"""Import: time to read the example's renditions (.docx, .xlsx, .txt) into a Package.

Run: .venv/bin/python -m bench.import_bench [--rounds 50]

For each rendition: `import_document` on the file's bytes (the importer alone) and
`load_package` on its dossier (manifest + import + assembly), median and p99, after a warm-up.
Also one cold run of the .docx in a fresh interpreter (imports of python-docx / docx2python
included), as `jixiao score` pays it. Not a test: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.corpus import EXAMPLE
from bench.engine_bench import machine, quantile
from engine.dossier import load_package
from engine.importers.dispatch import import_document
from engine.rubric.registry import REPO_ROOT

RENDITIONS = {
    ".docx": ("package.docx", "dossier-docx.toml"),
    ".xlsx": ("package.xlsx", "dossier-xlsx.toml"),
    ".txt": ("package.txt", "dossier.toml"),
}
_COLD = (
    "import time; t = time.perf_counter(); from pathlib import Path; "
    "from engine.dossier import load_package; "
    "load_package(Path({path!r})); print(time.perf_counter() - t)"
)


def _times(fn: Any, rounds: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def run(rounds: int) -> dict[str, Any]:
    """Every figure of the import benchmark, as a dict."""
    results: dict[str, Any] = {"machine": machine(), "rounds": rounds, "renditions": {}}
    for suffix, (document, dossier) in RENDITIONS.items():
        data = (EXAMPLE / document).read_bytes()
        importer = _times(lambda d=data, n=document: import_document(n, d), rounds)
        whole = _times(lambda p=EXAMPLE / dossier: load_package(p), rounds)
        results["renditions"][suffix] = {
            "bytes": len(data),
            "import_document_median_ms": quantile(importer, 0.5),
            "import_document_p99_ms": quantile(importer, 0.99),
            "load_package_median_ms": quantile(whole, 0.5),
            "load_package_p99_ms": quantile(whole, 0.99),
        }
    cold = subprocess.run(
        [sys.executable, "-c", _COLD.format(path=str(EXAMPLE / "dossier-docx.toml"))],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )
    results["docx_cold_process_ms"] = float(cold.stdout.strip().splitlines()[-1]) * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    r = run(args.rounds)
    print(f"machine: {r['machine']}; {r['rounds']} rounds each")
    for suffix, f in r["renditions"].items():
        print(
            f"{suffix:5s} {f['bytes']:>7} bytes: import_document median {f['import_document_median_ms']:.1f} ms "
            f"p99 {f['import_document_p99_ms']:.1f} ms; load_package median {f['load_package_median_ms']:.1f} ms "
            f"p99 {f['load_package_p99_ms']:.1f} ms"
        )
    print(f".docx in a fresh process (library imports included): {r['docx_cold_process_ms']:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
