"""The terminal score sheet: a Chinese, column-aligned rendering of a report."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

from engine.decimals import plain, q2
from engine.labels import ASSESSMENTS, MODES, SEVERITIES, import_warning, label


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _num(value: Decimal) -> str:
    return plain(q2(value)) if value == value.to_integral_value() else f"{q2(value):.2f}"


def render_sheet(report: dict[str, Any]) -> str:
    """Item, max, score, and each deduction with its reason and rule id."""
    rubric, package = report["rubric"], report["package"]
    lines = [
        f"{package['department']} {package['fiscal_year']} 年度 · {rubric['title']}",
        f"评分表 {rubric['id']}@{rubric['version']}  sha256 {rubric['sha256'][:12]}  "
        f"模式 {label(MODES, report['mode'])}  评价日期 {report['as_of']}  "
        f"决定 {report['decision_id']}",
        "",
        _pad("一级指标", 10) + _pad("二级指标", 16) + _pad("分值", 8) + "得分",
    ]
    for item in report["items"]:
        lines.append(
            _pad(item["section"], 10)
            + _pad(item["name"], 16)
            + _pad(_num(item["max"]), 8)
            + _num(item["score"])
            + (f"  （{ASSESSMENTS['auto']}）" if item["assessment"]["mode"] == "auto" else "")
        )
        for d in item["deductions"]:
            capped = "（已达本条扣分上限）" if "capped" in d else ""
            lines.append(f"    −{_num(d['points'])}{capped}  [{d['rule']}] {d['reason']}")
            if d["evidence"]:
                first = d["evidence"][0]
                lines.append(f"           证据：{first['location']}  {first['value']}")
    lines.append(
        _pad("合计", 26) + _pad(_num(report["total"]["max"]), 8) + _num(report["total"]["score"])
    )
    if report["total"].get("grade"):
        lines.append(f"考核等级：{report['total']['grade']}")
    if report["findings"]:
        lines += ["", f"发现（{len(report['findings'])}）"]
        for f in report["findings"]:
            severity = label(SEVERITIES, f["severity"])
            lines.append(f"  [{severity}] [{f['rule']}] {f['message']}  @ {f['location']}")
    if report["needs_input"]:
        lines += ["", "需补充材料"]
        lines += [f"  {n['item']}：{n['what']}" for n in report["needs_input"]]
    if report["warnings"]:
        lines += ["", f"导入提示（{len(report['warnings'])}）"]
        lines += [
            f"  {w['location']} {import_warning(w['code'], w['message'])}"
            + (f"：{w['text']}" if w.get("text") else "")
            for w in report["warnings"]
        ]
    return "\n".join(lines) + "\n"
