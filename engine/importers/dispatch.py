"""Pick the importer for a document by its file type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from engine.diagnostics import PackageError, PackageProblem
from engine.importers._container import check_size
from engine.importers._layout import TextLayout
from engine.importers.docx import import_docx
from engine.importers.pdf import import_pdf
from engine.importers.sheets import import_xls, import_xlsx
from engine.importers.text import ImportedDocuments, default_layout, import_text

SUPPORTED = (".txt", ".docx", ".xlsx", ".xls", ".pdf")

_Reader = Callable[..., ImportedDocuments]
_READERS: dict[str, _Reader] = {
    ".docx": import_docx,
    ".xlsx": import_xlsx,
    ".xls": import_xls,
    ".pdf": import_pdf,
}


def import_document(
    name: str, data: bytes, *, layout: TextLayout | None = None
) -> ImportedDocuments:
    """Parse one document of a package (.txt, .docx, .xlsx, .xls or .pdf).

    Raises PackageError, with a Chinese and an English message, for an unsupported type or an
    unreadable, encrypted, oversized or otherwise hostile file; never anything else for bad input.
    """
    imported = _read(name, data, layout or default_layout())
    _check_readable(name, data, imported)
    return imported


def _check_readable(name: str, data: bytes, imported: ImportedDocuments) -> None:
    """Refuse a document with nothing to read: every reader's result passes through here.

    A blank file, or one that yields no table and no report section, is almost always the wrong
    file attached; scoring it would quietly deduct everything, so it is refused by name.
    """
    found = (
        imported.basic_data or imported.department_table or imported.project_tables
    ) or imported.report
    if found:
        return
    if not data.strip() or (imported.rows_read == 0 and not imported.warnings):
        zh, en = "文档为空，没有可读取的文字或表格", "the document is empty: no text and no table"
    else:
        zh = "文档中没有找到任何自评表格或自评报告，请确认附上的文件是否正确"
        en = "the document yields no table and no report section"
    raise PackageError(name, [PackageProblem("documents", zh, en)])


def _read(name: str, data: bytes, layout: TextLayout) -> ImportedDocuments:
    suffix = PurePath(name).suffix.lower()
    if suffix == ".txt":
        check_size(name, data, layout.limits)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PackageError(
                name,
                [
                    PackageProblem(
                        "documents",
                        "无法读取文档（需为 UTF-8 文本）",
                        f"cannot decode document as UTF-8: {exc}",
                    )
                ],
            ) from None
        return import_text(text, document=name, layout=layout)
    reader = _READERS.get(suffix)
    if reader is not None:
        try:
            return reader(data, document=name, layout=layout)
        except PackageError:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a corrupt file may panic inside the Rust/C readers
            # (python-calamine raises a BaseException on some truncated .xls; zlib.error on a bad
            # deflate stream): bad input is a PackageError, never a crash or a 5xx.
            raise PackageError(
                name,
                [
                    PackageProblem(
                        "documents",
                        "文档已损坏，无法读取",
                        f"corrupt document: {type(exc).__name__}: {exc}"[:300],
                    )
                ],
            ) from None
    supported = ", ".join(SUPPORTED)
    raise PackageError(
        name,
        [
            PackageProblem(
                "documents",
                f"不支持的文档类型（支持 {supported}）",
                f"unsupported document type {suffix!r} (supported: {supported})",
            )
        ],
    )
