"""Scanned renditions (image-only PDFs with a red stamp, 300 and 150 dpi) read by OCR score like
the text rendition: the same total, sections, items (deductions and their evidence values) and
findings (at 150 dpi one finding's evidence differs: see the xfail). Only warnings differ: those naming low-confidence OCR figures, the OCR'd wording of
lines the text rendition warns about too, and at 150 dpi a stamp character that survives as an
unplaced line. Each scan is read once per module: OCR takes seconds a page, and the two backends
score the same import."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from documents_support import AS_OF, EXAMPLE, FIXTURES, report_of, rubric, strip_locations

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.model import Package

SCANS = {"300dpi": EXAMPLE / "package-scan.pdf", "150dpi": FIXTURES / "scan-150.pdf"}


@cache
def scanned(dpi: str, tmp: str) -> Package:
    """The scan dossier with the scan of that resolution as its document."""
    folder = Path(tmp)
    manifest = (EXAMPLE / "dossier-scan.toml").read_text("utf-8")
    (folder / "dossier.toml").write_text(manifest, "utf-8")
    (folder / "package-scan.pdf").write_bytes(SCANS[dpi].read_bytes())
    return load_package(folder / "dossier.toml", rubric().layout)


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("scans"))


def _score(package: Package, backend: str, mode: str = "bureau") -> dict[str, Any]:
    engine = PythonBackend() if backend == "python" else DurableBackend()
    result: dict[str, Any] = Evaluator(engine).evaluate(package, rubric(), mode=mode, as_of=AS_OF)
    return result


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize("dpi", sorted(SCANS))
def test_a_scan_scores_like_the_text(dpi: str, backend: str, scan_dir: str) -> None:
    report = _score(scanned(dpi, scan_dir), backend)
    text = report_of("dossier.toml")
    assert report["total"] == text["total"]
    for key in ("sections", "items", "needs_input"):
        assert strip_locations(report[key]) == strip_locations(text[key]), key
    if dpi == "300dpi":  # at 150 dpi see the xfail below
        assert strip_locations(report["findings"]) == strip_locations(text["findings"])
    # Every warning the text rendition has, the scan has too (its text as OCR read it); the
    # scan's own are low-confidence figures and lines outside the package (stamp remains).
    codes = Counter(w["code"] for w in report["warnings"])
    expected = Counter(w["code"] for w in text["warnings"])
    assert not expected - codes
    assert set(codes - expected) <= {"IMPORT_LOW_CONFIDENCE", "IMPORT_LINE_UNPLACED"}
    evidence = [
        e["location"] for item in report["items"] for d in item["deductions"] for e in d["evidence"]
    ]
    assert all(loc.startswith(("package-scan.pdf:第", "dossier.toml")) for loc in evidence)


@pytest.mark.parametrize("dpi", sorted(SCANS))
def test_low_confidence_figures_need_input_in_precheck(dpi: str, scan_dir: str) -> None:
    package = scanned(dpi, scan_dir)
    flagged = [w for w in package.warnings if w.code == "IMPORT_LOW_CONFIDENCE"]
    precheck = _score(package, "python", "precheck")
    asked = [n for n in precheck["needs_input"] if n["item"].startswith("package-scan.pdf:第")]
    assert len(asked) == len({(w.location.render(), w.text) for w in flagged})
    assert all("表" in n["item"] and "列" in n["item"] for n in asked)


@pytest.mark.xfail(
    strict=True,
    reason="known gap: at 150 dpi the detector misses a lone '0' in one basic-data cell, so one "
    "finding's evidence reads （空） where the text has 0 (same score, same deductions)",
)
def test_the_150dpi_scan_gives_the_same_findings(scan_dir: str) -> None:
    report = _score(scanned("150dpi", scan_dir), "python")
    assert strip_locations(report["findings"]) == strip_locations(
        report_of("dossier.toml")["findings"]
    )
