"""Pick the importer for a document by its file type."""

from __future__ import annotations

from pathlib import PurePath

from engine.diagnostics import PackageError, PackageProblem
from engine.importers.text import ImportedDocuments, default_layout, import_text

SUPPORTED = (".txt",)


def import_document(name: str, data: bytes) -> ImportedDocuments:
    """Parse one document of a package. Raises PackageError for an unreadable or unsupported file."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".txt":
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
        return import_text(text, document=name, layout=default_layout())
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
