"""The score sheet as PDF (WeasyPrint), with a CJK font embedded.

Without a font that has Chinese glyphs WeasyPrint does not fail: it prints empty boxes. So the
font is not left to fontconfig's fallback: a known CJK font file is looked up and loaded with
@font-face, and its absence is an ExportError naming the package to install.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from engine.export._sheet import ScoreSheet, Table

# Debian/Ubuntu package paths, most likely first. JIXIAO_CJK_FONT overrides them.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)


class ExportError(RuntimeError):
    """The sheet cannot be written (e.g. no CJK font for the PDF)."""


def cjk_font() -> Path:
    """The CJK font file the PDF embeds."""
    override = os.environ.get("JIXIAO_CJK_FONT")
    candidates = (override,) if override else CJK_FONT_FILES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ExportError(
        "PDF 评分表需要中文字体：请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei）"
        "或设置 JIXIAO_CJK_FONT / the PDF score sheet needs a CJK font: install "
        "fonts-wqy-microhei or set JIXIAO_CJK_FONT to a font file"
    )


def _cell(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def _table(table: Table, css_class: str = "") -> str:
    total = sum(table.widths)
    cols = "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in table.widths)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    body = list(table.rows) + ([table.total] if table.total else [])
    for r, values in enumerate(body, start=1):
        cells = "".join(
            f'<td class="{"num" if i in table.numeric else ""}">{_cell(v)}</td>'
            for i, v in enumerate(values)
        )
        cls = ' class="total"' if table.total and r == len(body) else ""
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<h2>{html.escape(table.title)}</h2><table class="{css_class}"><colgroup>{cols}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def sheet_html(sheet: ScoreSheet, font: Path) -> str:
    """The sheet as one HTML page for WeasyPrint (thead rows repeat on every page)."""
    header = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in sheet.header
    )
    signatures = "".join(
        f'<div class="sign">{html.escape(s)}'
        + ('<span class="line"></span>' if s.endswith("：") else "")
        + "</div>"
        for s in sheet.signatures
    )
    tables = _table(sheet.items, "items") + "".join(_table(t) for t in sheet.extra)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(sheet.title)}</title>
<style>
@font-face {{ font-family: "JixiaoCJK"; src: url("{font.as_uri()}"); }}
@page {{ size: A4 landscape; margin: 12mm 12mm 14mm 12mm;
  @bottom-center {{ content: "第 " counter(page) " 页，共 " counter(pages) " 页";
                    font-family: "JixiaoCJK"; font-size: 8pt; }} }}
body {{ font-family: "JixiaoCJK", sans-serif; font-size: 8.5pt; line-height: 1.35; }}
h1 {{ font-size: 14pt; text-align: center; margin: 0 0 2mm 0; }}
p.sub {{ text-align: center; margin: 0 0 3mm 0; }}
h2 {{ font-size: 10.5pt; margin: 4mm 0 1.5mm 0; }}
table {{ width: 100%; border-collapse: collapse; table-layout: fixed; }}
th, td {{ border: 0.6pt solid #000; padding: 1mm 1.2mm; vertical-align: top;
          overflow-wrap: anywhere; }}
th {{ background: #e7e6e6; }}
thead {{ display: table-header-group; }}
thead tr {{ page-break-inside: avoid; }}
td.num {{ text-align: right; white-space: nowrap; }}
tr.total td {{ font-weight: bold; }}
table.fields th {{ width: 28mm; text-align: left; }}
.sign {{ display: inline-block; width: 32%; margin-top: 10mm; font-weight: bold; }}
.sign .line {{ display: inline-block; width: 40mm; border-bottom: 0.6pt solid #000; }}
</style></head><body>
<h1>{html.escape(sheet.title)}</h1><p class="sub">{html.escape(sheet.subtitle)}</p>
<table class="fields"><tbody>{header}</tbody></table>
{tables}
<div class="signatures">{signatures}</div>
</body></html>"""


def write_pdf(sheet: ScoreSheet) -> bytes:
    """The PDF, rendered by WeasyPrint with the CJK font embedded."""
    font = cjk_font()
    return _render(sheet_html(sheet, font), font)


def table_html(table: Table, css_class: str = "") -> str:
    """A titled table as HTML, its header row repeated on every page."""
    return _table(table, css_class)


def render_pdf(title: str, body: str) -> bytes:
    """An A4 landscape page of `body` HTML (e.g. the results table) in the sheet's style."""
    font = cjk_font()
    document = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
@font-face {{ font-family: "JixiaoCJK"; src: url("{font.as_uri()}"); }}
@page {{ size: A4 landscape; margin: 10mm 10mm 12mm 10mm;
  @bottom-center {{ content: "第 " counter(page) " 页，共 " counter(pages) " 页";
                    font-family: "JixiaoCJK"; font-size: 8pt; }} }}
body {{ font-family: "JixiaoCJK", sans-serif; font-size: 8pt; line-height: 1.3; }}
h1 {{ font-size: 14pt; text-align: center; margin: 0 0 2mm 0; }}
p.sub {{ text-align: center; margin: 0 0 3mm 0; }}
h2 {{ display: none; }}
table {{ width: 100%; border-collapse: collapse; table-layout: fixed; }}
th, td {{ border: 0.6pt solid #000; padding: 0.8mm 1mm; vertical-align: top;
          overflow-wrap: anywhere; }}
th {{ background: #e7e6e6; }}
thead {{ display: table-header-group; }}
tr {{ page-break-inside: avoid; }}
td.num {{ text-align: right; white-space: nowrap; }}
</style></head><body>{body}</body></html>"""
    return _render(document, font)


def _render(document: str, font: Path) -> bytes:
    import weasyprint  # type: ignore[import-untyped]

    allowed = font.as_uri()

    def fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
        # The page is ours, but its text is the package's: fetch nothing but the font.
        if url != allowed:
            raise ExportError(f"refusing to fetch {url!r} while rendering the PDF")
        return {"string": font.read_bytes(), "mime_type": "font/collection"}

    pdf = weasyprint.HTML(string=document, base_url=None, url_fetcher=fetch).write_pdf()
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf() without a target returns bytes
        raise ExportError("WeasyPrint returned no PDF")
    return pdf
