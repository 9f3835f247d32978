"""The one table of Chinese labels that every reader-facing view uses.

The CLI table (engine/sheet.py), the web pages (service/web/*) and the three sheet formats
(engine/export/*) look words up here, so a severity, mode, band or status reads the same
everywhere. The report (JSON) keeps its stable English keys; only what people read is Chinese.
Times people read are shown in one configurable zone (Asia/Shanghai by default); the UTC
instant stays in JSON and in the audit chain.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"

MODES: dict[str, str] = {"bureau": "财政评审", "precheck": "部门预审"}
MODE_NOTES: dict[str, str] = {
    "bureau": "缺少佐证按未完成扣分",
    "precheck": "缺少佐证列为待补充，不扣分",
}
ASSESSMENTS: dict[str, str] = {
    "rule": "按规则计分",
    "auto": "自动评估（酌情，待复核）",
    "reviewer": "已复核调整",
}
SEVERITIES: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}
STATUSES: dict[str, str] = {
    "auto": "自动评分",
    "reviewed": "已复核",
    "needs_input": "待补充材料",
    "late": "逾期报送",
    "withdrawn": "已撤回",
}
CHANGES: dict[str, str] = {"added": "新增", "removed": "删除", "changed": "修改"}
CHANGED_PARTS: dict[str, str] = {
    "total": "总分",
    "item": "评分项",
    "clause": "评分条款",
    "rule": "规则",
    "band": "酌情档次",
    "parameter": "参数",
    "calendar": "日历",
    "rule_set": "规则集",
    "assessment": "自动评估",
}
ROLES: dict[str, str] = {"department": "部门", "reviewer": "复核人员", "admin": "管理员"}
RUBRIC_STATES: dict[str, str] = {"published": "已发布", "staged": "待发布"}

# The parts of a package, named as the forms name them (the model's field names as keys).
PARTS: dict[str, str] = {
    "basic_data": "基础数据表",
    "department": "部门整体支出绩效自评表",
    "project": "项目支出绩效自评表",
    "report": "自评报告",
}

# The needs_input item of a part missing from the whole package (no rubric item owns it).
PACKAGE_ITEM = "整套材料"

# Import warnings by code: the Chinese a person reads (the English message stays in the JSON).
IMPORT_WARNINGS: dict[str, str] = {
    "IMPORT_FORMULA_NOT_CALCULATED": "单元格是未计算的公式，没有读取到数值",
    "IMPORT_HEADER_UNPLACED": "表头中有无法对应到任何列的单元格（版式中没有这个叫法），该列未计入",
    "IMPORT_LINE_UNPLACED": "此行不在任何表格内，也不在自评报告中，未计入",
    "IMPORT_LOW_CONFIDENCE": "扫描件中的数字识别置信度低，请核对",
    "IMPORT_ROW_EXTRA_CELLS": "此行的单元格多于表头列数，多出的单元格未计入",
    "IMPORT_ROW_UNPLACED": "此行无法归入表格的任何部分，未计入",
    "IMPORT_RUBRIC_TABLE_IGNORED": "财政局的考核评分表不属于自评材料，已跳过",
    "IMPORT_TABLE_UNPLACED": "无法识别此表格属于哪一张自评表，未计入",
    "PACKAGE_PART_MISSING": "材料中缺少整张表格或整篇报告",
}

# The fields that measures yield, which a discretionary deduction's reason cites as its
# grounds: their Chinese names (tests check every registered measure field has one).
FACTS: dict[str, str] = {
    "areas_covered": "覆盖方面数",
    "attachment": "附件",
    "by_meaning": "按含义认定标题",
    "cap": "上限",
    "capped": "已封顶",
    "category_share": "类别占比",
    "cause_share": "说明原因占比",
    "check": "检查项",
    "claimed": "已声明",
    "compliant": "符合要求",
    "concrete_share": "具体内容占比",
    "copied_count": "照抄条数",
    "count_out_of_range": "超出范围条数",
    "days_late": "逾期工作日数",
    "deadline_known": "截止日期已知",
    "deviation_filled": "已填偏差原因",
    "done": "已完成",
    "duplicate_count": "重复条数",
    "element": "要素",
    "exceeded": "已超出",
    "expected": "应有数",
    "expected_score": "应得分",
    "explanation": "说明",
    "figure_share": "含数据占比",
    "found": "找到数",
    "heading": "所取标题",
    "has_evidence": "有佐证",
    "holds": "成立",
    "kind": "类型",
    "known_kind": "类型在列",
    "level2_count": "二级指标数",
    "max_ratio": "最大比值",
    "measurable": "可量化",
    "measurable_share": "可量化指标占比",
    "only_funding": "仅提资金问题",
    "only_more_funding": "仅要求增加资金",
    "over_score": "超出分值",
    "points": "分值",
    "present": "已提供",
    "problem_match_share": "问题对应占比",
    "problems": "问题条数",
    "rate": "比率",
    "received": "已收到",
    "refined_count": "细化指标数",
    "refined_share": "细化指标占比",
    "score_above_points": "得分高于分值",
    "section": "部分",
    "self_score": "自评得分",
    "share": "占比",
    "short_of_points": "得分低于分值",
    "suggestions": "建议条数",
    "total": "总数",
    "unmeasurable_count": "不可量化指标数",
}


def label(table: dict[str, str], key: object) -> str:
    """`table[key]`, else the key itself (an unknown key is shown rather than hidden)."""
    text = str(key if key is not None else "")
    return table.get(text, text)


def import_warning(code: str, message: str) -> str:
    """The Chinese text of an import warning; the English message only for an unknown code."""
    return IMPORT_WARNINGS.get(code, message)


def zone(name: str | None = None) -> ZoneInfo:
    """The zone times are shown in: `name`, else Asia/Shanghai. Raises ValueError if unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_time(instant: dt.datetime | str | None, tz: str | None = None) -> str:
    """A UTC instant (datetime or ISO text) as people read it: "2026年11月30日 07:58"."""
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        try:
            instant = dt.datetime.fromisoformat(instant)
        except ValueError:
            return str(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)  # the store keeps naive UTC on SQLite
    shown = instant.astimezone(zone(tz))
    return f"{shown.year}年{shown.month}月{shown.day}日 {shown:%H:%M}"


def zone_label(tz: str | None = None) -> str:
    """The zone's name as a column heading shows it: 北京时间 for Asia/Shanghai."""
    name = tz or DEFAULT_TIMEZONE
    return "北京时间" if name == DEFAULT_TIMEZONE else name
