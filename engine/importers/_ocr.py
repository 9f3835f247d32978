"""OCR of a scanned PDF page: RapidOCR (PaddleOCR's PP-OCRv4 models on ONNX Runtime), offline.

The rapidocr-onnxruntime wheel ships its detection, direction and recognition models inside
the package (rapidocr_onnxruntime/models/*.onnx): nothing is downloaded at run time.

A page is rendered at the layout's ocr_dpi and read from its red channel, with clearly red
pixels whitened: a red stamp (红章) vanishes, while black text (under the stamp too) stays black.
The table's ruling lines are found in the image (long horizontal and vertical runs of ink,
by morphological opening) and handed to pdfplumber's table finder as explicit lines, so a
scanned table gets the same cells, merges and continuations as a printed one. Each text box
the OCR finds goes to the cell (or free line) its centre falls in; a cell's confidence is the
lowest of its boxes'.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache
from typing import Any

from engine.importers._container import refuse
from engine.importers._layout import TextLayout
from engine.importers._pdfpage import Page, PageLine

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points


class _Text:
    """One OCR text box, in points; `centres` the x of each character's centre when the
    recogniser placed every character (else None)."""

    __slots__ = ("bottom", "centres", "score", "text", "top", "x0", "x1")

    def __init__(
        self,
        text: str,
        score: float,
        x0: float,
        top: float,
        x1: float,
        bottom: float,
        centres: list[float] | None = None,
    ):
        self.text, self.score = text, score
        self.x0, self.top, self.x1, self.bottom = x0, top, x1, bottom
        self.centres = centres if centres is not None and len(centres) == len(text) else None

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.top + self.bottom) / 2


@lru_cache(maxsize=1)
def _engine() -> Any:
    """The OCR engine, loaded once per process (its models take a second to load).

    It reads the page at the resolution it was rendered at: by default RapidOCR shrinks an
    image to 2,000 pixels a side first, which at 200 dpi can run two lines of a paragraph into
    one box and lose one of them. The layout's max_page_pixels bounds the image instead.
    """
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    return RapidOCR(max_side_len=100_000)


def _read(ink: Any, scale: float) -> list[_Text]:
    """OCR of the whole page: text boxes in points, each character's centre when known."""
    # No direction classifier: it turns an upright line upside down now and then (and a scan
    # is read upright), which loses the line.
    result, _ = _engine()(ink, use_cls=False, return_word_box=True)
    texts: list[_Text] = []
    for found in result or []:
        box, text, score = found[0], str(found[1]), float(found[2])
        if not text.strip():
            continue
        chars = found[3] if len(found) > 3 and found[3] else None
        texts.append(
            _Text(
                text,
                score,
                min(p[0] for p in box) * scale,
                min(p[1] for p in box) * scale,
                max(p[0] for p in box) * scale,
                max(p[1] for p in box) * scale,
                [sum(p[0] for p in c) / len(c) * scale for c in chars] if chars else None,
            )
        )
    return texts


def _rulings(ink: Any, min_length: int) -> tuple[list[Box], list[Box]]:
    """Horizontal and vertical ruling lines of an image (pixel boxes)."""
    import cv2

    dark = (ink < 160).astype("uint8") * 255
    out: list[list[Box]] = []
    for size in ((min_length, 1), (1, min_length)):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
        lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        out.append(
            [
                (float(x), float(y), float(x + w), float(y + h))
                for x, y, w, h, _ in stats[1:count].tolist()
            ]
        )
    return out[0], out[1]


def _edges(boxes: list[Box], scale: float, horizontal: bool) -> list[dict[str, Any]]:
    """Ruling boxes (pixels) as pdfplumber line objects (points)."""
    edges: list[dict[str, Any]] = []
    for x0, top, x1, bottom in boxes:
        if horizontal:
            y = (top + bottom) / 2 * scale
            a, b, c, d = x0 * scale, y, x1 * scale, y
        else:
            x = (x0 + x1) / 2 * scale
            a, b, c, d = x, top * scale, x, bottom * scale
        edges.append(
            {
                "object_type": "line",
                "x0": a,
                "top": b,
                "x1": c,
                "bottom": d,
                "width": c - a,
                "height": d - b,
            }
        )
    return edges


def _lines_of(texts: list[_Text]) -> list[list[_Text]]:
    """Text boxes grouped into lines (vertical overlap), each line left to right."""
    lines: list[list[_Text]] = []
    for text in sorted(texts, key=lambda t: (t.top, t.x0)):
        if lines:
            last = lines[-1]
            top = min(t.top for t in last)
            bottom = max(t.bottom for t in last)
            middle = (text.top + text.bottom) / 2
            if top <= middle <= bottom:
                last.append(text)
                continue
        lines.append([text])
    return [sorted(line, key=lambda t: t.x0) for line in lines]


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _cut(text: _Text, cuts: list[float]) -> list[_Text]:
    """A text box split at the x positions of cell borders it runs across: at the character
    boundary nearest each border, by character widths (a CJK character is two Latin ones)."""
    chars = text.text
    total = sum(_width(c) for c in chars) or 1
    reach = [0]
    for char in chars:
        reach.append(reach[-1] + _width(char))
    span = max(text.x1 - text.x0, 1e-6)
    bounds = [0]
    for cut in sorted(cuts):
        if text.centres is not None:  # the characters' own places
            best = sum(1 for x in text.centres if x < cut)
        else:
            share = (cut - text.x0) / span
            best = min(range(len(reach)), key=lambda k: abs(reach[k] / total - share))
        if best > bounds[-1]:
            bounds.append(best)
    bounds.append(len(chars))
    pieces = []
    for a, b in itertools.pairwise(bounds):
        part = chars[a:b].strip()
        if part:
            x0 = text.x0 + span * reach[a] / total
            x1 = text.x0 + span * reach[b] / total
            centres = text.centres[a:b] if text.centres is not None else None
            pieces.append(_Text(part, text.score, x0, text.top, x1, text.bottom, centres))
    return pieces


def _split_across_cells(texts: list[_Text], cells: list[Box]) -> list[_Text]:
    """OCR reads text in neighbouring cells as one box when the border between them is thin:
    such a box is cut at the borders of the cells it overlaps."""
    out: list[_Text] = []
    for text in texts:
        _, y = text.centre
        height = text.bottom - text.top
        row = sorted(
            (
                box
                for box in cells
                if box[1] <= y <= box[3]
                and min(box[2], text.x1) - max(box[0], text.x0) > height / 2
            ),
            key=lambda box: box[0],
        )
        if len(row) < 2:
            out.append(text)
            continue
        out += _cut(text, [box[2] for box in row[:-1]])
    return out


def _dash(ink: Any, box: Box, scale: float, em: float) -> str:
    """A cell OCR found no text in, holding only a dash ("—", "——": not applicable): the
    recogniser drops a lone dash, so it is read from the ink, one "—" per em of its length."""
    import numpy as np

    inset = 3 / scale  # pixels: keep the cell's own borders out
    x0, top, x1, bottom = (round(v / scale) for v in box)
    area = ink[top + round(inset) : bottom - round(inset), x0 + round(inset) : x1 - round(inset)]
    if area.size == 0:
        return ""
    dark = np.argwhere(area < 160)
    if len(dark) == 0:
        return ""
    rows, cols = dark[:, 0], dark[:, 1]
    height = (rows.max() - rows.min() + 1) * scale
    width = (cols.max() - cols.min() + 1) * scale
    if height > em * 0.25 or width < em * 0.6:
        return ""  # not one thin stroke: a mark OCR could not read, left empty
    return "—" * max(1, round(float(width) / em))


def _inside(text: _Text, box: Box) -> bool:
    x, y = text.centre
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def ocr_page(number: int, page: Any, *, document: str, layout: TextLayout) -> Page:
    """A scanned page read by OCR: its ruled tables and its free lines, with confidences."""
    import numpy as np

    from engine.importers.pdf import closing_lines, page_table

    limits, settings = layout.limits, layout.pdf
    dpi = settings.ocr_dpi
    for image in page.images:
        width, height = image.get("srcsize") or (0, 0)
        if width * height > limits.max_page_pixels:
            raise refuse(
                document,
                f"第{number}页图像过大（{width}×{height} 像素，上限 {limits.max_page_pixels}）",
                f"page {number}: image too large ({width}x{height} pixels, limit "
                f"{limits.max_page_pixels})",
            )
    pixels = float(page.width) * float(page.height) * (dpi / 72) ** 2
    if pixels > limits.max_page_pixels:
        raise refuse(
            document,
            f"第{number}页幅面过大（按 {dpi} dpi 为 {pixels:.0f} 像素，上限 {limits.max_page_pixels}）",
            f"page {number} too large to read ({pixels:.0f} pixels at {dpi} dpi, limit "
            f"{limits.max_page_pixels})",
        )
    rendered = page.to_image(resolution=dpi).original.convert("RGB")
    pixels_ = np.asarray(rendered).astype(np.int16)
    # The red channel: red ink is bright there, black text (under the stamp too) stays dark;
    # what is clearly red (red well above green and blue) is paper.
    red = pixels_[:, :, 0]
    reddish = red - np.maximum(pixels_[:, :, 1], pixels_[:, :, 2]) > settings.stamp_red_margin
    ink = np.ascontiguousarray(np.where(reddish, 255, red).astype(np.uint8))
    scale = 72 / dpi

    texts = _read(ink, scale)

    horizontal, vertical = _rulings(ink, max(8, round(settings.ruling_min_points / scale)))
    out = Page(number, float(page.width), float(page.height))
    found = []
    if len(horizontal) >= 2 and len(vertical) >= 2:
        verticals = _edges(vertical, scale, horizontal=False)
        horizontals = _edges(horizontal, scale, horizontal=True)
        settings_: dict[str, Any] = {
            "vertical_strategy": "explicit",
            "horizontal_strategy": "explicit",
            "explicit_vertical_lines": verticals,
            "explicit_horizontal_lines": horizontals,
            "snap_tolerance": 6 * scale,
            "join_tolerance": 6 * scale,
            "intersection_tolerance": 6 * scale,
        }
        found = page.find_tables(settings_)
        if found:
            # as on a printed page: a cell cut by the page break is closed where the rulings end
            settings_["explicit_horizontal_lines"] = horizontals + closing_lines(verticals, found)
            found = page.find_tables(settings_)

    cells = [box for table in found for box in table.cells]
    texts = _split_across_cells(texts, cells)
    placed = {box: [t for t in texts if _inside(t, box)] for box in cells}
    # A label indented with spaces (其中 rows) shows as an offset from the cell's edge: count it
    # in half line heights above the smallest offset in the same column (the cell padding).
    offsets = {
        box: min(t.x0 for t in _lines_of(inside)[0]) - box[0]
        for box, inside in placed.items()
        if inside
    }
    padding: dict[float, float] = {}
    for box, offset in offsets.items():
        key = round(box[0])
        padding[key] = min(padding.get(key, offset), offset)

    heights = sorted(t.bottom - t.top for t in texts) or [10.0]
    em = heights[len(heights) // 2] / settings.ocr_line_height

    def cell_text(box: Box) -> tuple[str, float | None]:
        inside = placed.get(box) or [t for t in texts if _inside(t, box)]
        if not inside:
            return _dash(ink, box, scale, em), None
        rows = _lines_of(inside)
        lines = ["".join(t.text for t in line) for line in rows]
        height = max(rows[0][0].bottom - rows[0][0].top, 1.0)
        extra = offsets.get(box, 0.0) - padding.get(round(box[0]), 0.0)
        lines[0] = " " * max(0, round(extra / (height / 2))) + lines[0]
        return "\n".join(lines), min(t.score for t in inside)

    out.tables = [page_table(table, cell_text) for table in found]
    boxes = [table.bbox for table in found]
    free = [t for t in texts if not any(_inside(t, box) for box in boxes)]
    for line in _lines_of(free):
        out.lines.append(
            PageLine(
                "".join(t.text for t in line),
                min(t.x0 for t in line),
                min(t.top for t in line),
                max(t.x1 for t in line),
                max(t.bottom for t in line),
                confidence=min(t.score for t in line),
            )
        )
    return out
