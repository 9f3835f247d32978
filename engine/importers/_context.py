"""The layout's keywords normalised and its patterns compiled, once per import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from engine.importers._cells import normalize_text
from engine.importers._layout import TextLayout
from engine.model.package import ImportWarning, Location, trusted_location

TableKind = Literal["rubric", "basic_data", "department", "project"]


def _norm(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in (normalize_text(word) for word in words) if w)


def strip_colon(text: str) -> str:
    """A label without its trailing colon ("项目支出:" -> "项目支出")."""
    return text.rstrip(": ").strip()


@dataclass
class Context:
    """Normalised keywords, compiled patterns, the document name and the warnings so far."""

    layout: TextLayout
    document: str
    titles: tuple[tuple[TableKind, tuple[str, ...]], ...]
    attachment_re: re.Pattern[str]
    section_labels: tuple[str, ...]
    note_prefixes: tuple[str, ...]
    signature_prefixes: tuple[str, ...]
    date_re: re.Pattern[str]
    # Position -> anchor ("表2行4列3", "自评表!C12") for documents without line numbers. A
    # position is then an opaque key handed out by the reader, and a Location names the anchor
    # in its document ("package.docx:表2行4列3") instead of a line.
    anchors: dict[int, str] | None = None
    # A character every title keyword contains ("表"), or "": a line without it holds no title
    # keyword, which spares the keyword search on every line of text (stops_table).
    title_char: str = ""
    warnings: list[ImportWarning] = field(default_factory=list)
    _order: list[int] = field(default_factory=list)
    _position: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls, layout: TextLayout, document: str, anchors: dict[int, str] | None = None
    ) -> Context:
        tables = layout.tables
        titles: tuple[tuple[TableKind, tuple[str, ...]], ...] = (
            ("rubric", _norm(tables.rubric_titles)),
            ("basic_data", _norm(tables.basic_data_titles)),
            ("department", _norm(tables.department_titles)),
            ("project", _norm(tables.project_titles)),
        )
        words = [word for _, kind_words in titles for word in kind_words]
        common = set.intersection(*(set(word) for word in words)) if words else set()
        return cls(
            layout=layout,
            document=document,
            anchors=anchors,
            titles=titles,
            title_char=min(common) if common else "",
            attachment_re=re.compile(tables.attachment_label_pattern),
            section_labels=_norm(tables.section_labels),
            note_prefixes=_norm(layout.lines.note_prefixes),
            signature_prefixes=_norm(layout.lines.signature_prefixes),
            date_re=re.compile(layout.lines.date_pattern),
        )

    # --- classification of lines ---------------------------------------------------------

    def title_kind(self, text: str) -> TableKind | None:
        """The table kind whose title keyword occurs in normalised `text` (rubric first)."""
        if self.title_char and self.title_char not in text:
            return None
        for kind, words in self.titles:
            if any(word in text for word in words):
                return kind
        return None

    def title_keyword(self, kind: TableKind) -> str:
        """The first title keyword of a kind: the table's name when it has no title."""
        for each, words in self.titles:
            if each == kind and words:
                return words[0]
        return kind

    def is_attachment_label(self, text: str) -> bool:
        return bool(self.attachment_re.match(text))

    def is_note(self, text: str) -> bool:
        return text.startswith(self.note_prefixes) if self.note_prefixes else False

    def is_signature(self, text: str) -> bool:
        return text.startswith(self.signature_prefixes) if self.signature_prefixes else False

    def is_date(self, text: str) -> bool:
        return bool(self.date_re.match(text))

    def stops_table(self, line: str) -> bool:
        """A non-tab line that cannot be cell text: a title, attachment label, note, signature."""
        text = normalize_text(line)
        return bool(text) and (
            self.title_kind(text) is not None
            or self.is_attachment_label(text)
            or self.is_note(text)
            or self.is_signature(text)
            or self.is_date(text)
        )

    # --- output helpers ------------------------------------------------------------------

    def loc(
        self,
        *,
        line: int | None,
        table: str | None = None,
        row: str | None = None,
        column: str | None = None,
        section: str | None = None,
    ) -> Location:
        document = self.document
        if self.anchors is not None:
            anchor = self.anchors.get(line) if line is not None else None
            if anchor:
                document = f"{document}:{anchor}"
                self._position.setdefault(document, line or 0)
            line = None
        # Strings (or None) and an int line (or None), by the signature: built without
        # validation, as every cell and row of a document has one.
        return trusted_location(
            document, table or None, row or None, column or None, section or None, line
        )

    def warn(self, code: str, message: str, location: Location, text: str = "") -> None:
        self.warnings.append(
            ImportWarning(code=code, message=message, location=location, text=text)
        )
        order = location.line
        if order is None:
            order = self._position.get(location.document, 0)
        self._order.append(order)

    def sorted_warnings(self) -> list[ImportWarning]:
        """The warnings in document order (stable for warnings at the same place)."""
        keyed = sorted(zip(self._order, range(len(self.warnings)), strict=True))
        return [self.warnings[index] for _, index in keyed]
