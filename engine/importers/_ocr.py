"""OCR of a scanned PDF page: RapidOCR (PaddleOCR's PP-OCRv4 models on ONNX Runtime), offline.

The rapidocr-onnxruntime wheel ships its detection, direction and recognition models inside
the package (rapidocr_onnxruntime/models/*.onnx): nothing is downloaded at run time.

A page is rendered at the layout's ocr_dpi and read from its red channel only: a red stamp
(红章) is bright in red, so it vanishes, while black text (under the stamp too) stays black.
The table's ruling lines are found in the image (long horizontal and vertical runs of ink,
by morphological opening) and handed to pdfplumber's table finder as explicit lines, so a
scanned table gets the same cells, merges and continuations as a printed one. Each text box
the OCR finds goes to the cell (or free line) its centre falls in; a cell's confidence is the
lowest of its boxes'.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from engine.importers._container import refuse
from engine.importers._layout import TextLayout
from engine.importers._pdfpage import Page, PageLine

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points


class _Text:
    """One OCR text box, in points."""

    __slots__ = ("bottom", "score", "text", "top", "x0", "x1")

    def __init__(self, text: str, score: float, x0: float, top: float, x1: float, bottom: float):
        self.text, self.score = text, score
        self.x0, self.top, self.x1, self.bottom = x0, top, x1, bottom

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.top + self.bottom) / 2


@lru_cache(maxsize=1)
def _engine() -> Any:
    """The OCR engine, loaded once per process (its models take a second to load)."""
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    return RapidOCR()


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


def _inside(text: _Text, box: Box) -> bool:
    x, y = text.centre
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def ocr_page(number: int, page: Any, *, document: str, layout: TextLayout) -> Page:
    """A scanned page read by OCR: its ruled tables and its free lines, with confidences."""
    import numpy as np

    from engine.importers.pdf import page_table

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
    ink = np.ascontiguousarray(np.asarray(rendered)[:, :, 0])  # red channel: the stamp vanishes
    scale = 72 / dpi

    result, _ = _engine()(ink)
    texts = [
        _Text(
            str(text),
            float(score),
            min(p[0] for p in box) * scale,
            min(p[1] for p in box) * scale,
            max(p[0] for p in box) * scale,
            max(p[1] for p in box) * scale,
        )
        for box, text, score in (result or [])
        if str(text).strip()
    ]

    horizontal, vertical = _rulings(ink, max(8, round(settings.ruling_min_points / scale)))
    out = Page(number, float(page.width), float(page.height))
    found = []
    if len(horizontal) >= 2 and len(vertical) >= 2:
        found = page.find_tables(
            {
                "vertical_strategy": "explicit",
                "horizontal_strategy": "explicit",
                "explicit_vertical_lines": _edges(vertical, scale, horizontal=False),
                "explicit_horizontal_lines": _edges(horizontal, scale, horizontal=True),
                "snap_tolerance": 2 * scale * 3,
                "join_tolerance": 2 * scale * 3,
                "intersection_tolerance": 2 * scale * 3,
            }
        )

    def cell_text(box: Box) -> tuple[str, float | None]:
        inside = [t for t in texts if _inside(t, box)]
        if not inside:
            return "", None
        lines = ["".join(t.text for t in line) for line in _lines_of(inside)]
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
