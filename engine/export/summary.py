"""The season's results table (考核结果汇总表): one row per package, as .csv, .xlsx or .pdf.

Built from reports (docs/report-format.md) and the packages that could not be scored. Rows are
ranked by total (ties share a rank, then department and path order them), so the same reports
give the same bytes in every format; nothing reads the clock (the date is given, or the latest
`as_of` of the reports).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.export._sheet import Table, number, points

SUMMARY_FORMATS = ("csv", "xlsx", "pdf")
SUMMARY_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
MODE_SHORT = {"bureau": "财政局评分", "precheck": "部门预检"}
STATUS_AUTO, STATUS_REVIEWED, STATUS_NEEDS_INPUT, STATUS_LATE = (
    "自动评分",
    "已复核",
    "待补充材料",
    "逾期报送",
)
STATUS_FAILED = "未能评分"
TOP_DEDUCTIONS = 3


@dataclass(frozen=True)
class SummaryEntry:
    """A package in the table: its report, or why it has none."""

    name: str  # the package's path or stored id: orders ties and names failures
    report: dict[str, Any] | None = None
    error: str = ""


@dataclass
class ResultsTable:
    """The table as plain data: title, date line, columns and rows of cell texts."""

    title: str
    subtitle: str
    table: Table
    numbers: list[list[Decimal | None]] = field(default_factory=list)  # per row, per numeric col


def status(report: dict[str, Any]) -> str:
    """待补充材料 (evidence listed as missing), else 逾期报送 (received after the deadline), else
    已复核 (a reviewer adjusted an item), else 自动评分 (docs/decisions.md)."""
    if report.get("needs_input"):
        return STATUS_NEEDS_INPUT
    package = report.get("package") or {}
    received, deadline = package.get("received_on"), package.get("deadline")
    if received and deadline and str(received) > str(deadline):  # ISO dates order as text
        return STATUS_LATE
    if any((i.get("assessment") or {}).get("mode") == "reviewer" for i in report["items"]):
        return STATUS_REVIEWED
    return STATUS_AUTO


def largest_deductions(report: dict[str, Any], count: int = TOP_DEDUCTIONS) -> list[str]:
    """The `count` largest deductions: `−points 项目 [rule]`, largest first (ties: item order)."""
    found = [
        (number(d.get("points")), position, item.get("name", ""), str(d.get("rule", "")))
        for position, item in enumerate(report["items"])
        for d in item.get("deductions") or []
        if number(d.get("points")) > 0
    ]
    found.sort(key=lambda entry: (-entry[0], entry[1], entry[3]))
    return [f"−{points(p)} {name} [{rule}]" for p, _, name, rule in found[:count]]


def _ranks(totals: list[Decimal]) -> list[int]:
    """Competition ranks (1, 2, 2, 4) of totals already sorted from high to low."""
    ranks: list[int] = []
    for index, total in enumerate(totals):
        ranks.append(ranks[-1] if index and total == totals[index - 1] else index + 1)
    return ranks


def results_table(entries: list[SummaryEntry], date: dt.date | None = None) -> ResultsTable:
    """The table: scored packages ranked by total, then those that could not be scored."""
    scored = [e for e in entries if e.report is not None]
    failed = sorted((e for e in entries if e.report is None), key=lambda e: e.name)
    scored.sort(
        key=lambda e: (
            -number(_report(e)["total"]["score"]),
            str(_report(e)["package"].get("department", "")),
            e.name,
        )
    )
    item_names: list[str] = []
    for entry in scored:
        for item in _report(entry)["items"]:
            if item["name"] not in item_names:
                item_names.append(item["name"])
    columns = ["排名", "被评单位", *item_names, "总分", "等级", "评分模式", "状态", "主要扣分"]
    numeric = frozenset(range(2, 3 + len(item_names)))
    ranks = _ranks([number(_report(e)["total"]["score"]) for e in scored])
    rows: list[list[str]] = []
    numbers: list[list[Decimal | None]] = []
    for rank, entry in zip(ranks, scored, strict=True):
        report = _report(entry)
        by_name = {i["name"]: number(i["score"]) for i in report["items"]}
        figures: list[Decimal | None] = [by_name.get(n) for n in item_names]
        figures.append(number(report["total"]["score"]))
        numbers.append(figures)
        rows.append(
            [
                str(rank),
                str(report["package"].get("department", "")),
                *("" if f is None else points(f) for f in figures),
                str(report["total"].get("grade") or ""),
                MODE_SHORT.get(str(report.get("mode")), str(report.get("mode", ""))),
                status(report),
                "\n".join(largest_deductions(report)),
            ]
        )
    for entry in failed:
        numbers.append([None] * (len(item_names) + 1))
        rows.append(
            ["", entry.name, *[""] * (len(item_names) + 1), "", "", STATUS_FAILED, entry.error]
        )
    years = sorted({str(_report(e)["package"].get("fiscal_year", "")) for e in scored})
    dates = [str(_report(e).get("as_of", "")) for e in scored]
    shown_date = date.isoformat() if date else (max(dates) if dates else "")
    title = f"{'、'.join(years)}年度部门整体支出绩效自评考核结果汇总表" if years else "考核结果汇总表"
    rubrics = sorted(
        {f"{_report(e)['rubric'].get('id')}@{_report(e)['rubric'].get('version')}" for e in scored}
    )
    subtitle = (
        f"评分表：{'、'.join(rubrics) or '—'}　共 {len(entries)} 个材料包，"
        f"{len(scored)} 个已评分，{len(failed)} 个未能评分　日期：{shown_date}"
    )
    widths = [4, 16, *[5] * len(item_names), 6, 4, 7, 7, 30]
    return ResultsTable(title, subtitle, Table("考核结果汇总表", columns, rows, widths, numeric), numbers)


def _report(entry: SummaryEntry) -> dict[str, Any]:
    if entry.report is None:  # pragma: no cover - callers pass scored entries only
        raise ValueError(entry.name)
    return entry.report


# -- writers ----------------------------------------------------------------------------------


def write_csv(results: ResultsTable) -> bytes:
    """UTF-8 with a byte-order mark (so Excel opens the Chinese correctly); title rows first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([results.title])
    writer.writerow([results.subtitle])
    writer.writerow(results.table.columns)
    for row in results.table.rows:
        writer.writerow([cell.replace("\n", "；") for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# Fixed timestamps inside the xlsx zip, so the same table gives the same bytes.
_ZIP_EPOCH = (2000, 1, 1, 0, 0, 0)


def write_xlsx(results: ResultsTable) -> bytes:
    """A4 landscape workbook with title, date line and the table (numbers stored as numbers)."""
    import openpyxl

    from engine.export._xlsx import _page_setup, _styles, _table

    styles = _styles()
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.title = "考核结果汇总表"
    width = len(results.table.columns)
    sheet.cell(1, 1, results.title).font = styles["title"]
    sheet.cell(1, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(2, 1, results.subtitle).alignment = styles["center"]
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    header = _table(sheet, 4, results.table, styles, list(results.numbers))
    _page_setup(sheet, header, results.table.widths)
    book.properties.created = dt.datetime(*_ZIP_EPOCH)
    buffer = io.BytesIO()
    book.save(buffer)
    return _stable_zip(buffer.getvalue())


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _stable_zip(data: bytes) -> bytes:
    """The same zip with the clock taken out: openpyxl stamps each entry and the workbook's
    `modified` property with the current time; both are set to a fixed one."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, content)
    return out.getvalue()


def write_pdf(results: ResultsTable) -> bytes:
    """A4 landscape PDF (WeasyPrint) with the CJK font embedded, the header row on every page."""
    from engine.export._pdf import render_pdf, table_html

    body = (
        f'<h1>{_escape(results.title)}</h1><p class="sub">{_escape(results.subtitle)}</p>'
        + table_html(results.table, "results")
    )
    return render_pdf(results.title, body)


def _escape(text: str) -> str:
    import html

    return html.escape(text)


_WRITERS: dict[str, Callable[[ResultsTable], bytes]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
    "pdf": write_pdf,
}


def summary_bytes(results: ResultsTable, fmt: str) -> bytes:
    """The table in `fmt` (csv, xlsx, pdf); ValueError for another format."""
    writer = _WRITERS.get(fmt.lower().lstrip("."))
    if writer is None:
        raise ValueError(
            f"unknown results table format {fmt!r} (expected one of {', '.join(SUMMARY_FORMATS)})"
        )
    return writer(results)
