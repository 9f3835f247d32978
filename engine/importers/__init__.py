"""Importers: read a package's documents into the model of engine.model.package."""

from engine.importers.text import (
    ImportedDocuments,
    TextLayout,
    default_layout,
    import_text,
    load_layout,
    normalize_text,
    parse_number,
)

__all__ = [
    "ImportedDocuments",
    "TextLayout",
    "default_layout",
    "import_text",
    "load_layout",
    "normalize_text",
    "parse_number",
]
