"""A report section cut into points by its enumeration, whatever its form.

Numbered sub-headings, marks inside a line (一是 / (1) / ① / 首先 …, from the concepts file),
paragraphs, or `；` inside a single paragraph. Lead-in and closing sentences, page numbers and
running headers are not points; a section that only says "nothing" has no points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from engine.text.words import Lexicon


@dataclass(frozen=True)
class Line:
    """One line of a section as imported: a sub-heading starts a point of its own."""

    text: str
    where: str  # the line's location, as evidence shows it
    heading: bool = False


@dataclass(frozen=True)
class Point:
    """One point: its simplified text and where it was written (line, character span)."""

    text: str
    where: str
    start: int  # character span inside the line (0-based, end exclusive)
    end: int

    def location(self) -> str:
        """`where` with the span, for a reader: 「第3–25字」."""
        return f"{self.where} 第{self.start + 1}–{self.end}字"


class _Rules:
    def __init__(self, lexicon: Lexicon) -> None:
        seg = lexicon.concepts.spec.segmentation
        self.seg = seg
        self.markers = re.compile("|".join(f"(?:{m})" for m in seg.markers))
        self.lead_in = [re.compile(p) for p in seg.lead_in]
        self.closing = [re.compile(p) for p in seg.closing]
        self.noise = [re.compile(p) for p in seg.noise]
        self.null = [re.compile(p) for p in seg.null]

    @cached_property
    def sentence_end(self) -> re.Pattern[str]:
        return re.compile(r"(?<=[。！？!?])")

    def is_noise(self, text: str) -> bool:
        return any(p.search(text) for p in self.noise)

    def is_lead_in(self, text: str) -> bool:
        return any(p.search(text) for p in self.lead_in)

    def is_closing(self, text: str) -> bool:
        return any(p.search(text) for p in self.closing)

    def is_null(self, text: str) -> bool:
        bare = "".join(text.split())
        return any(p.search(bare) for p in self.null)

    def marks(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of enumeration marks at the line's start or after a boundary character."""
        out = []
        for found in self.markers.finditer(text):
            at = found.start()
            if at == 0 or text[at - 1] in self.seg.marker_after:
                out.append((at, found.end()))
        return out


def is_lead_in(text: str, lexicon: Lexicon) -> bool:
    """A line that introduces the points (「……以下几个方面：」)."""
    return _Rules(lexicon).is_lead_in(lexicon.simplify(text.strip()))


def read_points(lines: list[Line], lexicon: Lexicon) -> list[Point]:
    """The section's points, in order."""
    rules = _Rules(lexicon)
    points: list[Point] = []
    current: tuple[str, str, int] | None = None  # (text, where, start) of a point still open
    paragraphs = 0  # points that are whole unmarked paragraphs
    for raw in lines:
        text = lexicon.simplify(raw.text.strip())
        if not text or rules.is_noise(text):
            continue
        if raw.heading:
            if current:
                points.append(_point(*current))
            current = (text, raw.where, 0)
            continue
        marks = rules.marks(text)
        if marks:
            if current:
                points.append(_point(*current))
                current = None
            # Text before the first mark introduces the enumeration: it is not a point.
            # The mark itself ("（2）", "二是") is not content: a number in it is not a figure.
            ends = [start for start, _ in marks[1:]] + [len(text)]
            for (_, start), end in zip(marks, ends, strict=True):
                points.append(_point(text[start:end], raw.where, start))
            continue
        if rules.is_lead_in(text) or rules.is_closing(text):
            continue
        if current:  # the body of a sub-heading: same point
            current = (current[0] + text, current[1], current[2])
            continue
        points.append(_point(text, raw.where, 0))
        paragraphs += 1
    if current:
        points.append(_point(*current))
    points = [_trim_closing(p, rules) for p in points]
    points = [p for p in points if not rules.is_null(p.text)]
    if len(points) == 1 and paragraphs == 1:
        points = _split_single(points[0], rules)
    return [p for p in points if len(_bare(p.text)) >= rules.seg.min_point_chars]


def _point(text: str, where: str, start: int) -> Point:
    stripped = text.rstrip()
    return Point(stripped, where, start, start + len(stripped))


def _trim_closing(point: Point, rules: _Rules) -> Point:
    """A closing sentence written after the last point on its line is not part of it."""
    sentences = [s for s in rules.sentence_end.split(point.text) if s]
    while len(sentences) > 1 and rules.is_closing(sentences[-1]):
        sentences.pop()
    text = "".join(sentences)
    return Point(text, point.where, point.start, point.start + len(text))


def _split_single(point: Point, rules: _Rules) -> list[Point]:
    """One unmarked paragraph whose points are separated by `；`."""
    sep = rules.seg.split_single_paragraph_on
    if not sep or sep not in point.text:
        return [point]
    out, offset = [], point.start
    for piece in point.text.split(sep):
        if len(_bare(piece)) >= rules.seg.min_point_chars and not rules.is_lead_in(piece):
            out.append(Point(piece, point.where, offset, offset + len(piece)))
        offset += len(piece) + len(sep)
    return out if len(out) >= 2 else [point]


def _bare(text: str) -> str:
    return re.sub(r"[\s，。；：、,.;:！？!?（）()\-—]", "", text)
