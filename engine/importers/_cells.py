"""Text and number normalisation shared by the importers."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from engine.model.package import Cell, Location, trusted_cell

# A plain figure only: optional sign, digits with optional thousands commas, optional
# decimals, optional percent. ASCII digits only (after NFKC), so Decimal never sees
# other scripts' digits and "新增5个" is not a figure.
_NUMBER = re.compile(r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?%?")
_FIGURE_START = frozenset("+-0123456789")


# Pure and called for every cell several times per import (header matching, row reading,
# the cell itself): about 2,000 calls for 300 cells. A bounded cache makes the repeats lookups.
@lru_cache(maxsize=1 << 14)
def normalize_text(s: str) -> str:
    """NFKC, strip every line (U+3000 included) and join wrapped lines with "".

    Word wraps Chinese text inside a cell at arbitrary characters, so a line break inside a
    cell is not a word boundary: "年度预\\n算申请" -> "年度预算申请".
    """
    # Most cell text is already NFKC and on one line: the check and the one strip are cheaper
    # than normalising and splitting it (same result).
    text = s if unicodedata.is_normalized("NFKC", s) else unicodedata.normalize("NFKC", s)
    if "\n" not in text and "\r" not in text:
        return text.strip()
    return "".join(part.strip() for part in text.replace("\r", "").split("\n")).strip()


MAX_FIGURE = Decimal("1e15")


def parse_number(text: str) -> tuple[Decimal | None, bool]:
    """(figure, is_percent) of a cell holding only a figure; (None, False) otherwise.

    "92.86%" -> (92.86, True); "1,157.5" -> (1157.5, False); "——", "/", "不适用", "" -> None.
    """
    return _figure(normalize_text(text))


def _figure(normalized: str) -> tuple[Decimal | None, bool]:
    """`parse_number` of text already normalised."""
    value = normalized.replace(" ", "")
    # A figure starts with a sign or a digit: most cells (Chinese text) fail this before the regex.
    if not value or value[0] not in _FIGURE_START or not _NUMBER.fullmatch(value):
        return None, False
    percent = value.endswith("%")
    digits = value.rstrip("%").replace(",", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None, False
    # No amount in these forms reaches 10^15 (万元); a longer figure is a typing accident, and
    # Decimal arithmetic at 28 digits or durable_rules' floats could not carry it.
    if abs(number) >= MAX_FIGURE:
        return None, False
    return number, percent


def make_cell(raw: str, location: Location) -> Cell:
    """A Cell from raw cell text: normalised text, the raw text and its figure if any."""
    text = normalize_text(raw)
    number, percent = _figure(text)
    # Every value is of its declared type by construction: no validation (a few hundred cells
    # per document). `number` is a finite Decimal or None, `percent` a bool.
    return trusted_cell(text, raw, number, percent, location)


def empty_cell(location: Location) -> Cell:
    """A cell that the layout implies but the document left out (merged or missing)."""
    return Cell(text="", raw="", location=location)
