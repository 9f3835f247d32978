"""PDF import: time per page of the example's text PDF and of its scan (OCR).

Run: .venv/bin/python -m bench.pdf_bench [--rounds 5] [--ocr-rounds 1] [--json pdf.json]

Text: `import_document` on package.pdf, `rounds` times after a warm-up; the figure is the median
divided by the page count. OCR: `import_document` on package-scan.pdf (300 dpi, read at the
layout's ocr_dpi), after the OCR engine has loaded its models once; per page from the same
division. Load on the machine changes the OCR figure most: say what else ran. Not a test: the
figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.corpus import EXAMPLE
from bench.engine_bench import machine, quantile
from engine.importers.dispatch import import_document


def _pages(data: bytes) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return len(document)
    finally:
        document.close()


def _times(name: str, data: bytes, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        import_document(name, data)
        out.append(time.perf_counter() - start)
    return out


def run(rounds: int, ocr_rounds: int) -> dict[str, Any]:
    """Every figure of the PDF benchmark, as a dict."""
    from engine.importers._ocr import _engine

    results: dict[str, Any] = {"machine": machine(), "renditions": {}}
    _engine()  # the OCR models load once per process: not a page's cost
    for name, count in (("package.pdf", rounds), ("package-scan.pdf", ocr_rounds)):
        data = (EXAMPLE / name).read_bytes()
        pages = _pages(data)
        if name == "package.pdf":
            import_document(name, data)  # warm-up (pdfminer's caches); OCR is too slow to repeat
        times = _times(name, data, count)
        median = quantile(times, 0.5)
        results["renditions"][name] = {
            "bytes": len(data),
            "pages": pages,
            "rounds": count,
            "median_ms": median,
            "per_page_ms": median / pages,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ocr-rounds", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    r = run(args.rounds, args.ocr_rounds)
    print(f"machine: {r['machine']}")
    for name, f in r["renditions"].items():
        print(
            f"{name:18s} {f['bytes']:>8} bytes, {f['pages']} pages, {f['rounds']} rounds: "
            f"median {f['median_ms']:.0f} ms, {f['per_page_ms']:.0f} ms per page"
        )
    if args.json:
        args.json.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
