"""Importer for the package's text layout (Word tables extracted as tab-prefixed cell lines).

`import_text` is pure: it reads only the text and the layout passed in. Tables are recognised by
their title keywords, their parts by header keywords; nothing is read by position. Every value
keeps its Location; whatever cannot be placed becomes an ImportWarning, never silently dropped.
"""

from __future__ import annotations

from engine.importers._cells import normalize_text, parse_number
from engine.importers._context import Context
from engine.importers._layout import TextLayout, default_layout, load_layout
from engine.importers._pipeline import ImportedDocuments, recognise
from engine.importers._scan import scan

__all__ = [
    "ImportedDocuments",
    "TextLayout",
    "default_layout",
    "import_text",
    "load_layout",
    "normalize_text",
    "parse_number",
]


def import_text(text: str, *, document: str, layout: TextLayout) -> ImportedDocuments:
    """Parse a package's text: basic data, department and project tables, report, warnings."""
    ctx = Context.build(layout, document)
    text = text.removeprefix("\ufeff")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return recognise(scan(lines, ctx.stops_table), ctx)
