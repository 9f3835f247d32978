"""Measures over the 自评报告 and the package's attachments."""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from engine.decimals import q2
from engine.measures.base import (
    Evidence,
    Fact,
    FieldType,
    FieldValue,
    MeasureContext,
    Params,
    measure,
)
from engine.measures.text import contains_any, norm, same_name
from engine.model import Package, ReportSection

_DIGIT = re.compile(r"\d")
_TRAILING_NOTE = re.compile(r"[(（][^()（）]*[)）]$")


class NamedKeywords(BaseModel):
    """A required part and the keywords that find it (default: its own name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    keywords: list[str] = Field(default_factory=list)

    def words(self) -> list[str]:
        """The keywords, or the name itself."""
        return self.keywords or [self.name]


class SectionsParams(Params):
    """The report sections the template requires, in order."""

    sections: list[NamedKeywords] = Field(min_length=1)


@measure("report_sections", params=SectionsParams, fields={"present": "bool", "section": "string"})
def report_sections(package: Package, params: SectionsParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per required section: is there a heading with one of its keywords, whatever the numbering."""
    headings = package.report.sections if package.report else []
    facts = []
    for part in params.sections:
        found = next((h for h in headings if contains_any(h.title, part.words())), None)
        evidence = (
            (Evidence.at(found.location, f"{found.numbering}{found.title}"),)
            if found
            else (Evidence("自评报告", "未找到标题含「" + "、".join(part.words()) + "」的部分"),)
        )
        facts.append(
            Fact(
                key=part.name,
                subject=f"自评报告「{part.name}」部分",
                fields={"present": found is not None, "section": part.name},
                evidence=evidence,
            )
        )
    return facts


class AttachmentsParams(Params):
    """The attachments the template requires, and how to find the 一级项目 that each need a table."""

    basic_data: str = Field(min_length=1)  # attachment names, as the rubric says them
    department_table: str = Field(min_length=1)
    project_table: str = Field(min_length=1)
    projects_parent_row: str = Field(
        min_length=1
    )  # the basic data row whose numbered rows are the 一级项目
    stop_rows: list[str] = Field(default_factory=list)  # template rows that end the project list
    amount_column_keyword: str = (
        "决算"  # the fiscal year's column whose amount decides "has spending"
    )
    exempt_zero_amount: bool = True


@measure(
    "attachments", params=AttachmentsParams, fields={"present": "bool", "attachment": "string"}
)
def attachments(package: Package, params: AttachmentsParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per required attachment, and one per 一级项目 with spending that needs its own table."""
    facts = [
        _attachment(
            params.basic_data,
            package.basic_data is not None,
            package.basic_data.location.render() if package.basic_data else "",
        ),
        _attachment(
            params.department_table,
            package.department_table is not None,
            package.department_table.location.render() if package.department_table else "",
        ),
    ]
    for name, cell_text, location in _projects(package, params, ctx):
        table = next((t for t in package.project_tables if same_name(t.name, name)), None)
        facts.append(
            Fact(
                key=f"project:{name}",
                subject=f"{params.project_table}「{name}」",
                fields={
                    "present": table is not None,
                    "attachment": f"{params.project_table}「{name}」",
                },
                evidence=(Evidence(location, f"{name}：{cell_text}"),)
                + ((Evidence.at(table.location, table.name),) if table else ()),
            )
        )
    if not package.project_tables and not any(f.key.startswith("project:") for f in facts):
        facts.append(_attachment(params.project_table, False, ""))
    return facts


def _attachment(name: str, present: bool, where: str) -> Fact:
    return Fact(
        key=name,
        subject=f"附件「{name}」",
        fields={"present": present, "attachment": name},
        evidence=(Evidence(where or "package", name if present else "未提供"),),
    )


def _projects(
    package: Package, params: AttachmentsParams, ctx: MeasureContext
) -> list[tuple[str, str, str]]:
    """The numbered rows under the projects' parent row, with spending in the fiscal year's column."""
    if package.basic_data is None:
        return []
    year = str(package.dossier.fiscal_year)
    out: list[tuple[str, str, str]] = []
    for block in package.basic_data.blocks:
        column = next(
            (
                i
                for i, c in enumerate(block.columns)
                if year in c and params.amount_column_keyword in c
            ),
            None,
        )
        inside = False
        for row in block.rows:
            if same_name(row.name, params.projects_parent_row) and not row.number:
                inside = True
                continue
            if not inside:
                continue
            if any(same_name(row.name, stop) for stop in params.stop_rows):
                break
            if not row.number:
                continue
            cell = row.cells[column] if column is not None and column < len(row.cells) else None
            amount = cell.number if cell is not None else None
            if params.exempt_zero_amount and (amount is None or amount == 0):
                continue
            # "市级专项资金（一个专项一行）": the bracketed note is the form's instruction, not the name.
            name = _TRAILING_NOTE.sub("", row.name) or row.name
            out.append((name, cell.text if cell else "", row.location.render()))
    return out


class ProblemsParams(Params):
    """Where the problems are, the five areas' keywords, and the words that signal a cause."""

    section_keywords: list[str] = Field(min_length=1)
    areas: dict[str, list[str]] = Field(min_length=1)
    cause_keywords: list[str] = Field(min_length=1)
    only_keywords: list[str] = Field(min_length=1)  # "只提出资金不足问题"


_PROBLEM_FIELDS: dict[str, FieldType] = {
    "present": "bool",
    "problems": "number",
    "areas_covered": "number",
    "cause_share": "number",
    "figure_share": "number",
    "only_funding": "bool",
}


def _parts(
    package: Package, keywords: list[str]
) -> tuple[ReportSection | None, list[tuple[str, str, ReportSection]]]:
    """The section found by `keywords` and its parts: subsections, else its paragraphs."""
    sections = package.report.sections if package.report else []
    for index, section in enumerate(sections):
        if not contains_any(section.title, keywords):
            continue
        parts: list[tuple[str, str, ReportSection]] = []
        for sub in sections[index + 1 :]:
            if sub.level <= section.level:
                break
            parts.append((sub.title, sub.text, sub))
        if not parts:
            parts = [(p, "", section) for p in section.text.splitlines() if norm(p)]
        return section, parts
    return None, []


@measure("report_problems", params=ProblemsParams, fields=_PROBLEM_FIELDS)
def report_problems(package: Package, params: ProblemsParams, ctx: MeasureContext) -> list[Fact]:
    """Signals for 反映问题情况: areas covered, causes stated, figures given, "only 资金不足"."""
    section, parts = _parts(package, params.section_keywords)
    covered = _areas(parts, params.areas)
    with_cause = sum(
        1 for title, text, _ in parts if contains_any(title + text, params.cause_keywords)
    )
    with_figures = sum(1 for title, text, _ in parts if _DIGIT.search(title + text))
    only = (
        bool(parts)
        and all(contains_any(t + x, params.only_keywords) for t, x, _ in parts)
        and len(covered) <= 1
    )
    count = len(parts)
    fields: dict[str, FieldValue] = {
        "present": section is not None,
        "problems": Decimal(count),
        "areas_covered": Decimal(len(covered)),
        "cause_share": _share(with_cause, count),
        "figure_share": _share(with_figures, count),
        "only_funding": only,
    }
    return [
        Fact(
            key="problems",
            subject="存在的问题及原因分析",
            fields=fields,
            evidence=_part_evidence(section, parts, covered),
        )
    ]


class SuggestionsParams(Params):
    """Where the suggestions and the problems are, the areas' keywords, and action words."""

    section_keywords: list[str] = Field(min_length=1)
    problems_section_keywords: list[str] = Field(min_length=1)
    areas: dict[str, list[str]] = Field(min_length=1)
    action_keywords: list[str] = Field(min_length=1)
    only_keywords: list[str] = Field(min_length=1)  # "只提出加大资金投入建议"


@measure(
    "report_suggestions",
    params=SuggestionsParams,
    fields={
        "present": "bool",
        "suggestions": "number",
        "areas_covered": "number",
        "problem_match_share": "number",
        "concrete_share": "number",
        "only_more_funding": "bool",
    },
)
def report_suggestions(
    package: Package, params: SuggestionsParams, ctx: MeasureContext
) -> list[Fact]:
    """Signals for 建议情况: do suggestions answer the problems' areas, are they concrete actions."""
    section, parts = _parts(package, params.section_keywords)
    _, problems = _parts(package, params.problems_section_keywords)
    covered = _areas(parts, params.areas)
    problem_areas = _areas(problems, params.areas)
    matched = len(set(problem_areas) & set(covered))
    concrete = sum(
        1 for title, text, _ in parts if contains_any(title + text, params.action_keywords)
    )
    only = (
        bool(parts)
        and all(contains_any(t + x, params.only_keywords) for t, x, _ in parts)
        and len(covered) <= 1
    )
    fields: dict[str, FieldValue] = {
        "present": section is not None,
        "suggestions": Decimal(len(parts)),
        "areas_covered": Decimal(len(covered)),
        "problem_match_share": _share(matched, len(problem_areas)) if problem_areas else Decimal(0),
        "concrete_share": _share(concrete, len(parts)),
        "only_more_funding": only,
    }
    return [
        Fact(
            key="suggestions",
            subject="下一步改进措施",
            fields=fields,
            evidence=_part_evidence(section, parts, covered),
        )
    ]


def _areas(parts: list[tuple[str, str, ReportSection]], areas: dict[str, list[str]]) -> list[str]:
    """The areas (in parameter order) whose keywords appear in any part."""
    return [
        area
        for area, words in areas.items()
        if any(contains_any(t + x, words) for t, x, _ in parts)
    ]


def _share(count: int, total: int) -> Decimal:
    return q2(Decimal(count) / Decimal(total), Decimal("0.0001")) if total else Decimal(0)


def _part_evidence(
    section: ReportSection | None, parts: list[tuple[str, str, ReportSection]], covered: list[str]
) -> tuple[Evidence, ...]:
    if section is None:
        return (Evidence("自评报告", "未找到该部分"),)
    out = [Evidence.at(section.location, f"{section.numbering}{section.title}")]
    out += [
        Evidence.at(s.location, f"{s.numbering}{title}")
        for title, _text, s in parts
        if s is not section
    ]
    out.append(Evidence(section.location.render(), "涉及方面：" + ("、".join(covered) or "无")))
    return tuple(out)
