"""The printable score sheet as plain data: one model, three writers (.xlsx, .docx, .pdf).

Built from the report dict (docs/report-format.md), whether it holds Decimals (fresh from the
evaluator) or JSON numbers (read back from `render_json`). Nothing is recomputed: every figure
is the report's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.decimals import plain, q2
from engine.labels import (
    ASSESSMENTS,
    IMPORT_WARNINGS,
    MODE_NOTES,
    MODES,
    SEVERITIES,
    local_time,
    zone_label,
)

MODE_LABELS = {key: f"{MODES[key]}（{MODE_NOTES[key]}）" for key in MODES}
ASSESSMENT_LABELS = ASSESSMENTS
SEVERITY_LABELS = SEVERITIES
EVIDENCE_TABLE = "证据附表"
MAX_EVIDENCE = 3  # evidence lines per deduction on paper; the JSON report keeps them all


def number(value: Any) -> Decimal:
    """A report number (Decimal, int, float or numeric string) as a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    try:
        return Decimal(str(value))  # str() of a 2-place float is its exact 2-place text
    except InvalidOperation:
        return Decimal(0)


def points(value: Any) -> str:
    """Points as printed: "10", "13.87", "0.63" (四舍五入 to 2 places, no trailing zeros)."""
    return plain(q2(number(value)))


@dataclass
class Table:
    """A titled table: column names, rows of cell texts, and relative column widths."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    widths: list[int]
    numeric: frozenset[int] = frozenset()  # columns holding points (right-aligned)
    total: list[str] | None = None


@dataclass
class ScoreSheet:
    """Everything printed, in order."""

    title: str
    subtitle: str
    header: list[tuple[str, str]]
    items: Table
    extra: list[Table] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    # the item rows' numbers, for writers that store numbers as numbers (xlsx)
    item_numbers: list[tuple[Decimal, Decimal, Decimal]] = field(default_factory=list)
    total_numbers: tuple[Decimal, Decimal, Decimal] = (Decimal(0), Decimal(0), Decimal(0))


def _evidence(entries: list[dict[str, Any]], overflow: list[list[str]] | None) -> list[str]:
    """The first MAX_EVIDENCE evidence lines; the rest go to the evidence table (`overflow`),
    which the sheet prints after the items, so a paper reader sees every one."""
    lines = []
    for entry in entries[:MAX_EVIDENCE]:
        value = str(entry.get("value", "") or "")
        where = str(entry.get("location", "") or "")
        lines.append(f"　证据：{where}" + (f"（{value}）" if value else ""))
    rest = entries[MAX_EVIDENCE:]
    if rest and overflow is not None:
        group = len({row[0] for row in overflow}) + 1
        for entry in rest:
            overflow.append(
                [str(group), str(entry.get("location", "") or ""), str(entry.get("value", "") or "")]
            )
        lines.append(f"　…另有 {len(rest)} 处证据，见「{EVIDENCE_TABLE}」第 {group} 组")
    elif rest:
        lines.append(f"　…另有 {len(rest)} 处证据")
    return lines


def deduction_text(deduction: dict[str, Any], overflow: list[list[str]] | None = None) -> str:
    """One deduction as printed: points, rule id, reason, evidence locations."""
    head = f"−{points(deduction.get('points'))} 分 [{deduction.get('rule', '')}] {deduction.get('reason', '')}"
    if deduction.get("capped"):
        head += "（已达扣分上限，不再扣分）"
    if deduction.get("adjusted_by"):
        head += f"（复核人：{deduction['adjusted_by']}）"
    return "\n".join([head, *_evidence(list(deduction.get("evidence") or []), overflow)])


def build_sheet(report: dict[str, Any], tz: str | None = None) -> ScoreSheet:
    """The score sheet of a report; times in zone `tz` (default Asia/Shanghai)."""
    rubric = report.get("rubric", {})
    package = report.get("package", {})
    mode = str(report.get("mode", ""))
    header = [
        ("被评单位", str(package.get("department", ""))),
        ("年度", f"{package.get('fiscal_year', '')} 年度"),
        (
            "评分表",
            f"{rubric.get('title', '')}  {rubric.get('id', '')}@{rubric.get('version', '')}",
        ),
        ("评分表 sha256", str(rubric.get("sha256", ""))),
        ("评分模式", MODE_LABELS.get(mode, mode)),
        ("评价日期", str(report.get("as_of", ""))),
    ]
    # The HTTP layer stores reports under an evaluation id; the engine's own report has none.
    evaluation = report.get("evaluation_id")
    if not evaluation and isinstance(report.get("evaluation"), dict):
        evaluation = report["evaluation"].get("id")
    if evaluation:
        header.append(("评价编号", str(evaluation)))
    header.append(("决定编号", str(report.get("decision_id", ""))))
    if package.get("received_on") or package.get("deadline"):
        header.append(
            (
                "报送日期 / 截止日期",
                f"{package.get('received_on') or '（未提供）'} / {package.get('deadline') or '（未提供）'}",
            )
        )
    total = report.get("total", {})
    header.append(("总分", f"{points(total.get('score'))} / {points(total.get('max'))}"))
    if total.get("grade"):
        header.append(("考核等级", str(total["grade"])))

    rows: list[list[str]] = []
    numbers: list[tuple[Decimal, Decimal, Decimal]] = []
    adjustments: list[list[str]] = []
    overflow: list[list[str]] = []
    lost_total = Decimal(0)
    for item in report.get("items", []):
        deductions = list(item.get("deductions") or [])
        lost = sum((number(d.get("points")) for d in deductions), Decimal(0))
        lost_total += lost
        criteria = "\n".join(str(c.get("text", "")) for c in item.get("clauses", []))
        assessment = item.get("assessment") or {}
        reasons = [deduction_text(d, overflow) for d in deductions]
        label = ASSESSMENT_LABELS.get(str(assessment.get("mode", "")), "")
        if assessment.get("band") and assessment.get("mode") in ("auto", "reviewer"):
            reasons.append(f"（{label}：{assessment['band']}）")
        elif label and assessment.get("mode") != "rule":
            reasons.append(f"（{label}）")
        rows.append(
            [
                str(item.get("section", "")),
                str(item.get("name", "")),
                points(item.get("max")),
                criteria,
                points(lost),
                points(item.get("score")),
                "\n".join(reasons) if reasons else "无扣分",
            ]
        )
        numbers.append((q2(number(item.get("max"))), q2(lost), q2(number(item.get("score")))))
        for adj in assessment.get("adjustments") or []:
            adjustments.append(
                [
                    str(item.get("name", "")),
                    str(adj.get("clause", "")),
                    f"{adj.get('label', '')} [{adj.get('band', '')}]",
                    points(adj.get("score")),
                    str(adj.get("reason", "")),
                    str(adj.get("actor", "")),
                    local_time(str(adj.get("at", "")), tz),
                ]
            )
    items = Table(
        title="评分明细",
        columns=[
            "一级指标",
            "二级指标",
            "分值",
            "评分标准",
            "扣分",
            "得分",
            "扣分原因（规则编号、证据位置）",
        ],
        rows=rows,
        widths=[8, 9, 5, 38, 5, 5, 48],
        numeric=frozenset({2, 4, 5}),
        total=[
            "合计",
            "",
            points(total.get("max")),
            "",
            points(lost_total),
            points(total.get("score")),
            "",
        ],
    )
    extra: list[Table] = []
    extra.append(
        Table(
            title="复核调整",
            columns=["二级指标", "条款", "档次", "评定分", "理由", "复核人", f"时间（{zone_label(tz)}）"],
            rows=adjustments or [["无", "", "", "", "", "", ""]],
            widths=[9, 16, 22, 6, 40, 10, 15],
            numeric=frozenset({3}),
        )
    )
    if overflow:
        extra.append(
            Table(EVIDENCE_TABLE, ["组", "证据位置", "内容"], overflow, widths=[5, 50, 60])
        )
    findings = [
        [
            str(f.get("id", index)),
            SEVERITY_LABELS.get(str(f.get("severity", "")), str(f.get("severity", ""))),
            str(f.get("rule", "")),
            str(f.get("message", "")),
            str(f.get("location", "")),
        ]
        for index, f in enumerate(report.get("findings", []), start=1)
    ]
    extra.append(
        Table(
            title="发现的问题",
            columns=["编号", "级别", "规则编号", "说明", "位置"],
            rows=findings or [["—", "", "", "无", ""]],
            widths=[5, 5, 20, 60, 40],
        )
    )
    needs = [
        [str(n.get("item", "")), str(n.get("what", ""))] for n in report.get("needs_input", [])
    ]
    if needs:
        extra.append(Table("需补充的材料", ["二级指标", "需补充"], needs, widths=[15, 100]))
    warnings = [
        [
            str(w.get("code", "")),
            str(w.get("location", "")),
            IMPORT_WARNINGS.get(str(w.get("code", "")), str(w.get("message", ""))),
            str(w.get("text", "")),
        ]
        for w in report.get("warnings", [])
    ]
    if warnings:
        extra.append(
            Table(
                "文档导入提示", ["代码", "位置", "说明", "原文"], warnings, widths=[20, 35, 40, 40]
            )
        )
    return ScoreSheet(
        title=f"{package.get('department', '')} {package.get('fiscal_year', '')} 年度部门整体支出绩效自评工作考核评分表",
        subtitle=str(rubric.get("title", "")),
        header=header,
        items=items,
        extra=extra,
        signatures=["评分人（签字）：", "复核人（签字）：", "日期：＿＿＿＿年＿＿月＿＿日"],
        item_numbers=numbers,
        total_numbers=(
            q2(number(total.get("max"))),
            q2(lost_total),
            q2(number(total.get("score"))),
        ),
    )
