"""Build the PDF renditions of the seed package: a text PDF and scanned-looking image PDFs.

    .venv/bin/python scripts/make_pdf_fixtures.py            # rebuild everything
    .venv/bin/python scripts/make_pdf_fixtures.py --check    # only say whether the files exist

The seed is laid out exactly as for package.docx (scripts/make_fixtures.py: `seed_items`,
`lay_out`: the same rows of cells on the same column grid with the same merged cells) and
printed with WeasyPrint as a department prints its Word file: A4, ruled tables, a running
header and a page number on every page, a table's first row repeated at the top of each page
it continues on, report paragraphs with a first-line indent that wrap at the margin.

The scanned renditions are those pages rendered by PDFium (pypdfium2) at 150 and 300 dpi,
with a red stamp (红章) drawn over the signature line with Pillow, as images in a PDF with no
text layer.

Outputs:
- examples/yueyang-kjj-2023/package.pdf (text PDF)
- tests/documents/fixtures/scan-150.pdf, examples/yueyang-kjj-2023/package-scan.pdf (300 dpi)
- tests/documents/fixtures/encrypted.pdf (password "jixiao"), broken.pdf (truncated),
  basic-data.pdf (the first table only: a one-page PDF for the fuzzers)

Needs weasyprint (with a CJK font: fonts-wqy-microhei), pypdfium2, pypdf and Pillow.
"""

from __future__ import annotations

import html
import io
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_fixtures import (  # noqa: E402
    EXAMPLE,
    FIXTURES,
    PASSWORD,
    GridTable,
    lay_out,
    seed_items,
)

from engine.importers._scan import BlankLine, FreeLine, Item, RawTable  # noqa: E402

RUNNING_HEADER = "岳阳市科学技术局 2023年度部门整体支出绩效自评材料"
STAMP_TEXT = "岳阳市科学技术局"
SIGNATURE_PREFIX = "部门（单位）名称"

CSS = """
@page {
  size: A4;
  margin: 22mm 18mm 20mm 18mm;
  @top-center { content: "%(header)s"; font-size: 8pt; color: #444; }
  @bottom-center { content: "第 " counter(page) " 页"; font-size: 8pt; }
}
body { font-family: "WenQuanYi Micro Hei", sans-serif; font-size: 10pt; line-height: 1.5; }
p { margin: 0; text-indent: 2em; text-align: left; white-space: pre-wrap; }
p.blank { height: 1.5em; }
table { border-collapse: collapse; width: 100%%; margin: 0; }
td { border: 0.6pt solid #000; padding: 1.5pt 3pt; vertical-align: middle; font-size: 9pt;
     line-height: 1.35; white-space: pre-wrap; box-decoration-break: clone; }
td:first-child { min-width: 6em; }
tr { break-inside: avoid; }
"""


def _cell_html(lines: list[str]) -> str:
    # Leading spaces indent a label as the department typed them (其中 rows); U+3000 padding
    # around figures is invisible anyway.
    return "<br>".join(html.escape(line.strip("\u3000").rstrip()) for line in lines)


def _table_html(grid: GridTable) -> str:
    out = ["<table>"]
    first = grid.rows[0] if grid.rows else []
    # A form's first row is repeated on every page the table continues on (Word's "repeat as
    # header row"), unless a merged cell runs down from it.
    repeat = bool(first) and all(cell.merge_down == 0 for cell in first)
    for r, row in enumerate(grid.rows):
        if r == 0 and repeat:
            out.append("<thead>")
        if r == 1 and repeat:
            out.append("</thead><tbody>")
        out.append("<tr>")
        for cell in row:
            if cell.continued:
                continue
            attrs = ""
            if cell.span > 1:
                attrs += f' colspan="{cell.span}"'
            if cell.merge_down:
                attrs += f' rowspan="{cell.merge_down + 1}"'
            out.append(f"<td{attrs}>{_cell_html(cell.lines)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>" if repeat and len(grid.rows) > 1 else "</table>")
    return "".join(out)


def seed_html(items: list[Item]) -> str:
    """The seed as one HTML document, in the seed's order."""
    parts = [
        '<html><head><meta charset="utf-8"><style>',
        CSS % {"header": RUNNING_HEADER},
        "</style></head><body>",
    ]
    for item in items:
        if isinstance(item, RawTable):
            parts.append(_table_html(lay_out(item)))
        elif isinstance(item, FreeLine):
            parts.append(f"<p>{html.escape(item.text.strip())}</p>")
        elif isinstance(item, BlankLine):
            parts.append('<p class="blank"></p>')
    parts.append("</body></html>")
    return "".join(parts)


def build_text_pdf(items: list[Item]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=seed_html(items)).write_pdf(
        metadata=False, custom_metadata=False, uncompressed_pdf=False
    )
    return pdf


def _signature_boxes(pdf: bytes) -> dict[int, tuple[float, float, float, float]]:
    """page index -> the signature line's box (PDF points, top-left origin)."""
    import pdfplumber

    boxes: dict[int, tuple[float, float, float, float]] = {}
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for index, page in enumerate(document.pages):
            for line in page.extract_text_lines():
                if line["text"].strip().startswith(SIGNATURE_PREFIX):
                    boxes[index] = (line["x0"], line["top"], line["x1"], line["bottom"])
    return boxes


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    for path in (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    ):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def _stamp(image, centre: tuple[float, float], radius: float):  # type: ignore[no-untyped-def]
    """A red seal (a ring, a star, the department's name along the top) pressed on the page:
    ink multiplies, so black text under it stays black and white paper turns red."""
    from PIL import Image, ImageChops, ImageDraw

    layer = Image.new("RGB", image.size, (255, 255, 255))
    draw = ImageDraw.Draw(layer)
    cx, cy = centre
    red = (225, 35, 35)
    width = max(2, int(radius / 14))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=red, width=width)
    star = []
    for k in range(10):
        reach = radius * 0.28 * (1 if k % 2 == 0 else 0.4)
        angle = math.pi / 2 + k * math.pi / 5
        star.append((cx + reach * math.cos(angle), cy - reach * math.sin(angle)))
    draw.polygon(star, fill=red)
    font = _font(max(8, int(radius / 4)))
    n = len(STAMP_TEXT)
    for k, char in enumerate(STAMP_TEXT):
        angle = math.pi * (1.1 - 1.2 * k / max(n - 1, 1))
        x = cx + radius * 0.72 * math.cos(angle)
        y = cy - radius * 0.72 * math.sin(angle)
        draw.text((x, y), char, fill=red, font=font, anchor="mm")
    return ImageChops.multiply(image, layer)


def build_scan_pdf(pdf: bytes, dpi: int) -> bytes:
    """The text PDF's pages as greyish images with a red stamp over the signature line."""
    import pypdfium2 as pdfium
    from PIL import Image

    boxes = _signature_boxes(pdf)
    scale = dpi / 72
    pages: list[Image.Image] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            bitmap = document[index].render(scale=scale, grayscale=True)
            image = bitmap.to_pil().convert("RGB")
            if index in boxes:
                x0, top, x1, bottom = (v * scale for v in boxes[index])
                image = _stamp(image, ((x0 + x1) / 2, (top + bottom) / 2), 40 * scale)
            pages.append(image)
    finally:
        document.close()
    return image_pdf(pages, dpi)


# White paper, black toner, grey anti-aliasing, the stamp's red: 2 bits a pixel, deflated, keeps
# a 300 dpi page near 200 KB (a JPEG scan is four times that).
PALETTE = (255, 255, 255, 0, 0, 0, 150, 150, 150, 220, 40, 40)


def _packed(image) -> tuple[bytes, int, int]:  # type: ignore[no-untyped-def]
    """An RGB image as 2-bit palette indices, rows padded to whole bytes, deflated."""
    import zlib

    import numpy as np
    from PIL import Image

    palette = Image.new("P", (1, 1))
    palette.putpalette(list(PALETTE) + [0] * (768 - len(PALETTE)))
    indices = np.asarray(image.quantize(palette=palette, dither=Image.Dither.NONE), dtype=np.uint8)
    height, width = indices.shape
    padded = np.zeros((height, (width + 3) // 4 * 4), np.uint8)
    padded[:, :width] = indices
    packed = (padded[:, 0::4] << 6) | (padded[:, 1::4] << 4) | (padded[:, 2::4] << 2) | padded[:, 3::4]
    return zlib.compress(packed.tobytes(), 9), width, height


def image_pdf(pages: list, dpi: int) -> bytes:  # type: ignore[type-arg]
    """A PDF whose every page is one image and nothing else (no text layer), as a scanner makes."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids: list[str] = []
    lookup = "".join(f"{v:02x}" for v in PALETTE)
    for image in pages:
        data, width, height = _packed(image)
        w_pt, h_pt = width * 72 / dpi, height * 72 / dpi
        page_no = len(objects) + 1
        kids.append(f"{page_no} 0 R")
        content = f"q {w_pt:.2f} 0 0 {h_pt:.2f} 0 0 cm /Im0 Do Q".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt:.2f} {h_pt:.2f}] "
            f"/Resources << /XObject << /Im0 {page_no + 2} 0 R >> >> /Contents {page_no + 1} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
        objects.append(
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
            f"/ColorSpace [/Indexed /DeviceRGB 3 <{lookup}>] /BitsPerComponent 2 "
            f"/Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
            + data
            + b"\nendstream"
        )
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def encrypted_pdf(pdf: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=PASSWORD, owner_password=PASSWORD, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def outputs() -> dict[Path, bytes]:
    items = seed_items()
    text_pdf = build_text_pdf(items)
    return {
        EXAMPLE / "package.pdf": text_pdf,
        FIXTURES / "encrypted.pdf": encrypted_pdf(text_pdf),
        FIXTURES / "broken.pdf": text_pdf[: len(text_pdf) // 3],
        FIXTURES / "basic-data.pdf": build_text_pdf(_first_table(items)),
        EXAMPLE / "package-scan.pdf": build_scan_pdf(text_pdf, 300),
        FIXTURES / "scan-150.pdf": build_scan_pdf(text_pdf, 150),
    }


def _first_table(items: list[Item]) -> list[Item]:
    """The seed up to its first table (the 基础数据表 and its title): a small PDF to fuzz."""
    end = next(i for i, item in enumerate(items) if isinstance(item, RawTable))
    return items[: end + 1]


def main(argv: list[str]) -> int:
    paths = list(outputs().keys()) if "--check" not in argv else []
    if "--check" in argv:
        names = [
            EXAMPLE / "package.pdf",
            FIXTURES / "encrypted.pdf",
            FIXTURES / "broken.pdf",
            FIXTURES / "basic-data.pdf",
        ]
        missing = [str(p.relative_to(ROOT)) for p in names if not p.exists()]
        print("missing: " + ", ".join(missing) if missing else "all PDF fixtures present")
        return 1 if missing else 0
    del paths
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for path, data in outputs().items():
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}  {len(data):>7} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
