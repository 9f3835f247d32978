"""TextLayout: the keywords and patterns of the text layout, loaded from rules/layout/*.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.bundled import bundled

# The layout of a rubric that names none: every version written before the rubric's `layout`
# key existed was scored with it (docs/decisions.md, "Sealed rubric bundle").
DEFAULT_LAYOUT = "2024.1"


class _Layout(BaseModel):
    # Not strict: TOML arrays arrive as lists and become tuples, which keeps the model hashable.
    model_config = ConfigDict(frozen=True, extra="forbid")


Synonyms = tuple[tuple[str, tuple[str, ...]], ...]


def _synonym_pairs(value: object) -> object:
    """A TOML table {word: [synonyms]} as pairs (the layout stays hashable)."""
    if isinstance(value, dict):
        return tuple((str(k), tuple(v)) for k, v in value.items())
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


class TablesLayout(_Layout):
    """How tables are recognised by their titles."""

    rubric_titles: tuple[str, ...]
    basic_data_titles: tuple[str, ...]
    department_titles: tuple[str, ...]
    project_titles: tuple[str, ...]
    attachment_label_pattern: str
    max_title_lines: int = Field(ge=1)
    section_labels: tuple[str, ...] = ()

    @field_validator("attachment_label_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class BasicDataLayout(_Layout):
    """Keywords of the 基础数据表."""

    block_titles: tuple[str, ...]
    column_keywords: tuple[str, ...]
    text_rows: tuple[str, ...] = ()
    text_row_min_length: int = Field(default=20, ge=1)
    qizhong_prefix: str
    number_pattern: str

    @field_validator("number_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class FundingLayout(_Layout):
    """Keywords of the funding block of a self-evaluation table."""

    columns: tuple[str, ...]
    header_min_matches: int = Field(ge=1)
    row_labels: tuple[str, ...]
    income_marker: str
    spending_marker: str
    qizhong_prefix: str
    split_pattern: str
    # Other templates' words for a column: column keyword -> synonyms ("全年预算数": ["预算数"]).
    synonyms: Synonyms = ()

    _pairs = field_validator("synonyms", mode="before")(_synonym_pairs)

    @field_validator("split_pattern")
    @classmethod
    def _split_groups(cls, value: str) -> str:
        pattern = re.compile(_check_regex(value))
        if not {"label", "amount"} <= set(pattern.groupindex):
            raise ValueError("split_pattern needs the named groups 'label' and 'amount'")
        return value


class GoalLayout(_Layout):
    """Cells of the 年度总体目标 header row."""

    marker: str
    expected: str
    actual: str


class IndicatorLayout(_Layout):
    """Header keywords of the indicator block."""

    level1: str
    level2: str
    level3: str
    target: str
    actual: str
    points: str
    score: str
    deviation: str
    header_min_matches: int = Field(ge=1)
    level1_points_pattern: str
    total_marker: str
    # Other templates' words for a column: field name -> synonyms ("target": ["年度目标值"]).
    synonyms: Synonyms = ()

    _pairs = field_validator("synonyms", mode="before")(_synonym_pairs)

    @field_validator("level1_points_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class SelfEvalLayout(_Layout):
    """Keywords of the department and project self-evaluation tables."""

    header_fields: tuple[str, ...]
    department_name_fields: tuple[str, ...]
    project_name_fields: tuple[str, ...]
    funding: FundingLayout
    goal: GoalLayout
    indicators: IndicatorLayout


class LinesLayout(_Layout):
    """Non-table lines outside the report: notes, signature, date."""

    note_prefixes: tuple[str, ...]
    signature_prefixes: tuple[str, ...]
    date_pattern: str

    @field_validator("date_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class HeadingPattern(_Layout):
    """A report heading pattern and the section level it gives."""

    pattern: str
    level: int = Field(ge=1)

    @field_validator("pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class ReportLayout(_Layout):
    """How the report title and its section headings are recognised."""

    title_keywords: tuple[str, ...]
    max_title_length: int = Field(ge=1)
    max_heading_length: int = Field(default=40, ge=1)
    heading_forbidden_endings: tuple[str, ...] = ("。",)
    headings: tuple[HeadingPattern, ...]
    unnumbered_headings: tuple[str, ...] = ()


class LimitsLayout(_Layout):
    """Caps that keep a hostile Word or Excel file from exhausting memory or time.

    Checked before parsing (file size, zip entries, declared uncompressed sizes and ratios) and
    while reading (rows, columns, cells, paragraphs). The defaults are far above any real
    package (the seed has ~150 table rows) and far below what hurts a 2-core, 24 GiB machine.
    """

    max_document_bytes: int = Field(default=20_000_000, ge=1)
    max_zip_entries: int = Field(default=2_000, ge=1)
    max_uncompressed_bytes: int = Field(default=100_000_000, ge=1)
    max_entry_ratio: int = Field(default=100, ge=1)
    ratio_checked_above_bytes: int = Field(default=1_000_000, ge=0)
    max_rows: int = Field(default=5_000, ge=1)
    max_columns: int = Field(default=200, ge=1)
    max_cells: int = Field(default=200_000, ge=1)
    max_paragraphs: int = Field(default=50_000, ge=1)
    max_sheets: int = Field(default=50, ge=1)
    # PDF: pages of one file, pixels of one page image (a scan's embedded image, or a page
    # rendered for OCR), and the time one page may take (checked after each page).
    max_pdf_pages: int = Field(default=100, ge=1)
    max_page_pixels: int = Field(default=40_000_000, ge=1)
    max_seconds_per_page: float = Field(default=300.0, ge=0)


class PdfLayout(_Layout):
    """How a PDF page's lines become the items of the text layout (see rules/layout)."""

    page_number_pattern: str = ""
    running_band: float = Field(default=0.08, ge=0, le=0.5)
    blank_line_gap: float = Field(default=1.0, gt=0)
    indent_chars: float = Field(default=1.0, ge=0)
    wrap_reach_chars: float = Field(default=3.0, ge=0)
    column_tolerance: float = Field(default=2.0, ge=0)
    repeat_similarity: float = Field(default=0.85, gt=0, le=1)
    min_text_chars: int = Field(default=10, ge=0)
    ocr_dpi: int = Field(default=200, ge=72, le=600)
    ruling_min_points: float = Field(default=13.0, gt=0)
    ocr_line_height: float = Field(default=1.3, gt=0)
    stamp_red_margin: int = Field(default=50, ge=0, le=255)
    min_confidence: float = Field(default=0.9, ge=0, le=1)

    @field_validator("page_number_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)


class TextLayout(_Layout):
    """Everything the importers need to know about the layout; no keyword lives in Python."""

    version: str
    tables: TablesLayout
    basic_data: BasicDataLayout
    self_eval: SelfEvalLayout
    lines: LinesLayout
    report: ReportLayout
    limits: LimitsLayout = LimitsLayout()
    pdf: PdfLayout = PdfLayout()


def load_layout(path: Path) -> TextLayout:
    """Read and validate a layout TOML file."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return TextLayout.model_validate(data)


_DEFAULT: list[TextLayout] = []


def default_layout() -> TextLayout:
    """The bundled rules/layout/<DEFAULT_LAYOUT>.toml, for reading a document without a rubric
    (tests, the evidence viewer); scoring reads with the rubric bundle's own layout.

    Read once per process. Kept in a plain list, not an lru_cache: it is bundled data, not
    derived from any package, so emptying the text caches (bench/probe.py's cold rounds, a
    package never seen) must not re-read and re-validate it."""
    if not _DEFAULT:
        _DEFAULT.append(load_layout(bundled("rules") / "layout" / f"{DEFAULT_LAYOUT}.toml"))
    return _DEFAULT[0]
