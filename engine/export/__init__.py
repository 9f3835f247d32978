"""Export a report's score sheet for printing and signing: .xlsx, .docx or .pdf.

`export_sheet(report, path)` writes the file the path's suffix names; `sheet_bytes(report,
fmt)` returns the bytes (for the HTTP layer). `report` is the evaluator's dict
(docs/report-format.md), with Decimals or with JSON numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from engine.export._docx import write_docx
from engine.export._pdf import ExportError, cjk_font, write_pdf
from engine.export._sheet import ScoreSheet, build_sheet
from engine.export._xlsx import write_xlsx

Format = Literal["xlsx", "docx", "pdf"]
FORMATS: tuple[Format, ...] = ("xlsx", "docx", "pdf")
MEDIA_TYPES: dict[Format, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
_WRITERS: dict[str, Callable[[ScoreSheet], bytes]] = {
    "xlsx": write_xlsx,
    "docx": write_docx,
    "pdf": write_pdf,
}

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportError",
    "Format",
    "build_sheet",
    "cjk_font",
    "export_sheet",
    "sheet_bytes",
]


def sheet_bytes(report: dict[str, Any], fmt: str, tz: str | None = None) -> bytes:
    """The score sheet in `fmt` ("xlsx", "docx" or "pdf"), times in zone `tz` (default
    Asia/Shanghai). Raises ValueError for another format and ExportError when the format
    cannot be produced here (no CJK font for the PDF)."""
    writer = _WRITERS.get(fmt.lower().lstrip("."))
    if writer is None:
        raise ValueError(f"unknown sheet format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return writer(build_sheet(report, tz))


def export_sheet(report: dict[str, Any], path: Path, tz: str | None = None) -> None:
    """Write the score sheet to `path`; the suffix (.xlsx, .docx, .pdf) chooses the format.

    The file is written whole or not at all (a temporary file renamed into place)."""
    data = sheet_bytes(report, path.suffix, tz)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
