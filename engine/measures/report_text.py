"""反映问题情况 and 建议情况 judged by what the report's text says (engine.text), not its layout.

The section is found by a heading concept, cut into points, and each point read for the
concepts of the rubric's concepts file: areas, causes, funding, concreteness. The 2024.1 kinds
(report_problems, report_suggestions in report.py) are kept unchanged so old versions replay.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import Field

from engine.measures.base import (
    Evidence,
    Fact,
    FieldValue,
    MeasureContext,
    Params,
    data_file_param,
    measure,
)
from engine.measures.report import _share
from engine.measures.text import contains_any
from engine.model import Package, ReportSection
from engine.text import Concepts, Lexicon, Point, lexicon, read_points
from engine.text.points import Line, is_lead_in


class _ConceptParams(Params):
    """A concepts file and the concept names a measure reads from it."""

    concepts: str = data_file_param("concepts")  # rules/concepts/<version>.toml

    def _names(self) -> list[str]:
        return []

    def check_data(self, data: Mapping[str, object]) -> list[str]:
        """The concept names this measure reads that its concepts file does not define."""
        file = data.get(self.concepts)
        if not isinstance(file, Concepts):
            return []  # the loader has already reported the file itself
        unknown = [n for n in self._names() if n not in file.spec.concepts]
        return [f"unknown concept(s) in {self.concepts}: {', '.join(unknown)}"] if unknown else []


def _concepts(ctx: MeasureContext, ref: str) -> Concepts:
    """The concepts file `ref` names, as loaded with the rubric (never read from a path)."""
    found = ctx.data.get(ref)
    if not isinstance(found, Concepts):
        raise LookupError(f"concepts {ref!r} were not loaded with the rubric")
    return found


class ProblemPointsParams(_ConceptParams):
    """The heading concept of the problems section and the concepts that judge its points."""

    section: str  # heading concept
    cause: str
    funding: str  # a funding shortfall
    # How reviewers name the section, in explanations when it is missing (rubric wording, so
    # a rubric may change it; the defaults are what published versions have always printed).
    name: str = "存在的问题"
    title: str = "存在的问题及原因分析"

    def _names(self) -> list[str]:
        return [self.section, self.cause, self.funding]


class SuggestionPointsParams(_ConceptParams):
    """As for problems, plus how suggestions correspond to problems."""

    section: str
    problems_section: str
    problem_funding: str  # a funding shortfall, in a problem point
    funding: str  # a request for more funding
    concrete: str
    min_shared_words: int = Field(default=2, ge=1)  # shared content words that pair two points
    name: str = "改进措施"  # as for problems: the section's name and title in explanations
    title: str = "下一步改进措施"

    def _names(self) -> list[str]:
        return [
            self.section,
            self.problems_section,
            self.problem_funding,
            self.funding,
            self.concrete,
        ]


@dataclass(frozen=True)
class _Read:
    """A point and what was seen in it."""

    point: Point
    concepts: frozenset[str]
    areas: tuple[str, ...]
    words: frozenset[str]


def _section(
    package: Package, lex: Lexicon, concept: str
) -> tuple[ReportSection | None, list[Line]]:
    """The section whose title has `concept` (the outermost such heading), and its lines."""
    sections = package.report.sections if package.report else []
    matches = [
        i for i, s in enumerate(sections) if concept in lex.concepts_in(lex.simplify(s.title))
    ]
    if not matches:
        return None, []
    top = min(sections[i].level for i in matches)
    index = next(i for i in matches if sections[i].level == top)
    section = sections[index]
    lines = _lines(section)
    expected = 1  # a list restarting at 1 right under the heading is its points, whatever level
    for sub in sections[index + 1 :]:
        if sub.level <= section.level and _ordinal(sub.numbering) == expected:
            # 「七、存在的问题」 then 「1、预算编制不够科学」: the importer reads a short numbered
            # line as a heading of the same level; 1, 2, 3 … continue the list, 「八、」 ends it.
            expected += 1
            lines.append(Line(sub.title, sub.location.render(), heading=True))
            lines.extend(_lines(sub))
            continue
        if sub.level <= section.level:
            if sub.numbering or not is_lead_in(sub.title, lex):
                break
            # An unnumbered line such as 「存在的问题主要体现在以下几个方面：」 reads as a
            # template heading to the importer; it introduces this section's points.
            lines.append(Line(sub.title, sub.location.render()))
            lines.extend(_lines(sub))
            continue
        lines.append(Line(sub.title, sub.location.render(), heading=True))
        lines.extend(_lines(sub))
    return section, lines


_DIGITS = "零一二三四五六七八九"


def _ordinal(numbering: str) -> int | None:
    """The number in a heading's numbering (「3、」 → 3, 「十二、」 → 12), else None."""
    arabic = "".join(c for c in numbering if c.isdigit())
    if arabic:
        return int(unicodedata.normalize("NFKC", arabic))
    chinese = "".join(c for c in numbering if c in _DIGITS or c == "十")
    if not chinese:
        return None
    tens, _, units = chinese.partition("十")
    if "十" not in chinese:
        return _DIGITS.index(chinese) if len(chinese) == 1 else None
    return (_DIGITS.index(tens) if tens else 1) * 10 + (_DIGITS.index(units) if units else 0)


def _lines(section: ReportSection) -> list[Line]:
    where = section.location.render()
    return [
        Line(text, f"{where} 第{n}段")
        for n, text in enumerate((t for t in section.text.splitlines() if t.strip()), start=1)
    ]


def _read(points: list[Point], lex: Lexicon) -> list[_Read]:
    areas = lex.concepts.spec.areas
    out = []
    for point in points:
        found = lex.concepts_in(point.text)
        out.append(
            _Read(
                point,
                found,
                tuple(a for a, c in areas.items() if c in found),
                lex.content_words(point.text),
            )
        )
    return out


def _covered(reads: list[_Read], concepts: Concepts) -> list[str]:
    """Areas seen in any point, in the concepts file's order."""
    seen = {a for r in reads for a in r.areas}
    return [a for a in concepts.spec.areas if a in seen]


def _funding_only(read: _Read, funding: str) -> bool:
    """A point about money only: a funding concept and no area concept."""
    return funding in read.concepts and not read.areas


def _excerpt(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _not_found(name: str) -> str:
    return f"未找到「{name}」部分"


# What a point's evidence line says of it, after the areas it touches: (text when the test
# holds, text when it does not, test); an empty text says nothing.
_Said = tuple[str, str, Callable[["_Read"], bool]]


def _points_evidence(
    section: ReportSection | None,
    reads: list[_Read],
    noun: str,
    said: list[_Said],
    summary: str,
    name: str,
) -> tuple[Evidence, ...]:
    """The section's heading, one line per point (what was seen in it), then the summary."""
    if section is None:
        return (Evidence("自评报告", _not_found(name)),)
    evidence = [Evidence.at(section.location, f"{section.numbering}{section.title}")]
    for n, r in enumerate(reads, start=1):
        notes = ["涉及" + "、".join(r.areas) if r.areas else "未涉及评分表所列方面"]
        notes += [note for yes, no, test in said if (note := yes if test(r) else no)]
        text = f"{noun}{n}：{_excerpt(r.point.text)}（{'；'.join(notes)}）"
        evidence.append(Evidence(r.point.location(), text))
    evidence.append(Evidence(section.location.render(), summary))
    return tuple(evidence)


@measure(
    "report_problem_points",
    params=ProblemPointsParams,
    fields={
        "present": "bool",
        "points": "number",
        "areas_covered": "number",
        "cause_share": "number",
        "only_funding": "bool",
        "explanation": "string",
    },
)
def report_problem_points(
    package: Package, params: ProblemPointsParams, ctx: MeasureContext
) -> list[Fact]:
    """Signals for 反映问题情况 from the problems section's points."""
    concepts = _concepts(ctx, params.concepts)
    lex = lexicon(concepts)
    section, lines = _section(package, lex, params.section)
    reads = _read(read_points(lines, lex), lex)
    covered = _covered(reads, concepts)
    causes = sum(1 for r in reads if params.cause in r.concepts)
    only = bool(reads) and all(_funding_only(r, params.funding) for r in reads)
    summary = _problem_summary(reads, covered, causes, only) if section else _not_found(params.name)
    fields: dict[str, FieldValue] = {
        "present": section is not None,
        "points": Decimal(len(reads)),
        "areas_covered": Decimal(len(covered)),
        "cause_share": _share(causes, len(reads)),
        "only_funding": only,
        "explanation": summary,
    }
    said = [
        ("只反映资金不足", "", lambda r: _funding_only(r, params.funding)),
        ("分析了原因", "未分析原因", lambda r: params.cause in r.concepts),
    ]
    evidence = _points_evidence(section, reads, "问题", said, summary, params.name)
    subject = section.title if section else params.title
    return [Fact(key="problems", subject=subject, fields=fields, evidence=evidence)]


def _problem_summary(reads: list[_Read], covered: list[str], causes: int, only: bool) -> str:
    if not reads:
        return "未列出问题（无内容，或只写「无」「暂无」）"
    text = (
        f"共{len(reads)}条问题；涉及{len(covered)}个方面"
        + (f"（{'、'.join(covered)}）" if covered else "")
        + f"；{causes}条分析了原因"
    )
    return text + ("；全部只是资金不足" if only else "")


@measure(
    "report_suggestion_points",
    params=SuggestionPointsParams,
    fields={
        "present": "bool",
        "points": "number",
        "areas_covered": "number",
        "problem_match_share": "number",
        "concrete_share": "number",
        "only_more_funding": "bool",
        "explanation": "string",
    },
)
def report_suggestion_points(
    package: Package, params: SuggestionPointsParams, ctx: MeasureContext
) -> list[Fact]:
    """Signals for 建议情况: do the suggestions answer the problems, are they concrete."""
    concepts = _concepts(ctx, params.concepts)
    lex = lexicon(concepts)
    section, lines = _section(package, lex, params.section)
    _, problem_lines = _section(package, lex, params.problems_section)
    reads = _read(read_points(lines, lex), lex)
    problems = _read(read_points(problem_lines, lex), lex)
    covered = _covered(reads, concepts)
    answered = [p for p in problems if _answered(p, reads, params)]
    concrete = sum(1 for r in reads if params.concrete in r.concepts)
    only = bool(reads) and all(_funding_only(r, params.funding) for r in reads)
    summary = (
        (
            f"共{len(reads)}条建议；涉及{len(covered)}个方面"
            + (f"（{'、'.join(covered)}）" if covered else "")
            + f"；回应了{len(answered)}/{len(problems)}条问题；{concrete}条措施具体"
            + ("；全部只是要求加大资金投入" if only else "")
            if reads
            else "未列出建议（无内容，或只写「无」「暂无」）"
        )
        if section
        else _not_found(params.name)
    )
    fields: dict[str, FieldValue] = {
        "present": section is not None,
        "points": Decimal(len(reads)),
        "areas_covered": Decimal(len(covered)),
        "problem_match_share": _share(len(answered), len(problems)),
        "concrete_share": _share(concrete, len(reads)),
        "only_more_funding": only,
        "explanation": summary,
    }
    said = [
        ("只提出加大资金投入", "", lambda r: _funding_only(r, params.funding)),
        ("措施具体", "措施笼统", lambda r: params.concrete in r.concepts),
    ]
    evidence = _points_evidence(section, reads, "建议", said, summary, params.name)
    subject = section.title if section else params.title
    return [Fact(key="suggestions", subject=subject, fields=fields, evidence=evidence)]


def _answered(problem: _Read, suggestions: list[_Read], params: SuggestionPointsParams) -> bool:
    """A problem is answered by a suggestion sharing one of its areas and a content word, or
    sharing `min_shared_words` content words; a funding problem by a funding request."""
    for s in suggestions:
        shared = len(problem.words & s.words)
        if set(problem.areas) & set(s.areas) and shared >= 1:
            return True
        if shared >= params.min_shared_words:
            return True
        if _funding_only(problem, params.problem_funding) and params.funding in s.concepts:
            return True
    return False


class PartSpec(Params):
    """A required part of the report: found by a heading concept, else by title keywords."""

    name: str
    keywords: list[str] = Field(default_factory=list)
    concept: str | None = None


class PartsParams(_ConceptParams):
    """The report's required parts, in order."""

    sections: list[PartSpec] = Field(min_length=1)

    def _names(self) -> list[str]:
        return [s.concept for s in self.sections if s.concept]


@measure(
    "report_parts",
    params=PartsParams,
    fields={"present": "bool", "section": "string", "heading": "string", "by_meaning": "bool"},
)
def report_parts(package: Package, params: PartsParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per required part; a part found by its heading concept names the heading taken."""
    lex = lexicon(_concepts(ctx, params.concepts))
    headings = package.report.sections if package.report else []
    facts = []
    for part in params.sections:
        words = part.keywords or [part.name]
        found = next((h for h in headings if contains_any(h.title, words)), None)
        by_meaning = False
        if found is None and part.concept:
            found, _ = _section(package, lex, part.concept)
            by_meaning = found is not None
        evidence = (
            (Evidence.at(found.location, f"{found.numbering}{found.title}"),)
            if found
            else (Evidence("自评报告", "未找到标题含「" + "、".join(words) + "」的部分"),)
        )
        facts.append(
            Fact(
                key=part.name,
                subject=f"自评报告「{part.name}」部分",
                fields={
                    "present": found is not None,
                    "section": part.name,
                    "heading": f"{found.numbering}{found.title}" if found else "",
                    "by_meaning": by_meaning,
                },
                evidence=evidence,
            )
        )
    return facts
