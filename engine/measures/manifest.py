"""Measures over the dossier manifest: flags with evidence, listed elements, units, submission date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field

from engine.measures.base import Evidence, Fact, MeasureContext, Params, measure
from engine.measures.text import norm
from engine.model import Package

MANIFEST = "dossier.toml"


def _lookup(package: Package, dotted: str) -> tuple[bool, Any]:
    """(provided, value) of a dotted manifest path such as "notice.issued"."""
    value: Any = package.dossier
    for part in dotted.split("."):
        if value is None:
            return False, None
        value = getattr(value, part, None)
    return value is not None, value


class FlagParams(Params):
    """`flag`: the manifest path of a yes/no fact; `evidence`: the path of its evidence files."""

    flag: str
    evidence: str | None = None
    what: str = Field(
        min_length=1
    )  # the evidence named by the rubric, e.g. 绩效自评通知盖章的电子版
    subject: str = Field(min_length=1)


@measure(
    "manifest_flag",
    params=FlagParams,
    fields={"done": "bool", "claimed": "bool", "has_evidence": "bool"},
)
def manifest_flag(package: Package, params: FlagParams, ctx: MeasureContext) -> list[Fact]:
    """Whether a step was done, with evidence. No evidence counts as not done in bureau mode."""
    provided, value = _lookup(package, params.flag)
    claimed = value is True
    files: list[str] = []
    if params.evidence:
        _, found = _lookup(package, params.evidence)
        files = list(found or [])
    has_evidence = bool(files) or params.evidence is None
    needs: list[str] = []
    if not provided:
        needs.append(f"{params.what}（清单未填写 {params.flag}）")
    elif claimed and not has_evidence:
        needs.append(params.what)
    evidence: tuple[Evidence, ...] = (
        Evidence(f"{MANIFEST} {params.flag}", "未填写" if not provided else str(value).lower()),
    )
    evidence += tuple(Evidence(f"{MANIFEST} {params.evidence}", f) for f in files)
    return [
        Fact(
            key=params.flag,
            subject=params.subject,
            fields={
                "done": claimed and has_evidence,
                "claimed": claimed,
                "has_evidence": has_evidence,
            },
            evidence=evidence,
            needs_input=tuple(needs),
        )
    ]


class ElementsParams(Params):
    """`source`: the manifest list to search; `required`: the elements it must contain."""

    source: str
    required: list[str] = Field(min_length=1)
    what: str = Field(min_length=1)
    subject: str = Field(min_length=1)  # e.g. "自评通知要素「{element}」"


@measure(
    "manifest_elements", params=ElementsParams, fields={"present": "bool", "element": "string"}
)
def manifest_elements(package: Package, params: ElementsParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per required element: is it in the manifest's list? An absent list is missing evidence."""
    provided, value = _lookup(package, params.source)
    listed = [norm(str(v)) for v in (value or [])]
    facts = []
    for element in params.required:
        key = norm(element)
        present = any(key in item or (item and item in key) for item in listed)
        facts.append(
            Fact(
                key=element,
                subject=params.subject.format(element=element),
                fields={"present": present, "element": element},
                evidence=(
                    Evidence(
                        f"{MANIFEST} {params.source}", "、".join(map(str, value or [])) or "未填写"
                    ),
                ),
                needs_input=() if provided else (f"{params.what}（清单未填写 {params.source}）",),
            )
        )
    return facts


class UnitsParams(Params):
    """Unit kinds that must self-check, which must be present, and which need evidence."""

    kinds: list[str] = Field(min_length=1)
    required_kinds: list[str] = Field(default_factory=list)
    evidence_required_kinds: list[str] = Field(default_factory=list)
    what: str = Field(min_length=1)


@measure(
    "unit_self_checks",
    params=UnitsParams,
    fields={"done": "bool", "known_kind": "bool", "kind": "string"},
)
def unit_self_checks(package: Package, params: UnitsParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per unit that had to self-check, plus one per required kind missing from the list."""
    units = package.dossier.units
    facts: list[Fact] = []
    if units is None:
        for kind in params.required_kinds:
            facts.append(
                Fact(
                    key=f"missing:{kind}",
                    subject=f"{kind}（清单未列出单位）",
                    fields={"done": False, "known_kind": True, "kind": kind},
                    evidence=(Evidence(f"{MANIFEST} units", "未填写"),),
                    needs_input=(f"{params.what}（清单未填写 units）",),
                )
            )
        return facts
    for index, unit in enumerate(units):
        needs: list[str] = []
        has_evidence = bool(unit.evidence) or unit.kind not in params.evidence_required_kinds
        if unit.self_checked is None:
            needs.append(f"{unit.name} 是否开展自查（units[{index}].self_checked）")
        elif unit.self_checked and not has_evidence:
            needs.append(f"{unit.name} 的自查佐证材料（units[{index}].evidence）")
        evidence = (
            Evidence(
                f"{MANIFEST} units[{index}]",
                f"{unit.name}（{unit.kind}）self_checked={unit.self_checked}",
            ),
        )
        facts.append(
            Fact(
                key=f"unit:{index}",
                subject=f"{unit.name}（{unit.kind}）",
                fields={
                    "done": unit.self_checked is True and has_evidence,
                    "known_kind": unit.kind in params.kinds,
                    "kind": unit.kind,
                },
                evidence=evidence,
                needs_input=tuple(needs),
            )
        )
    present = {u.kind for u in units}
    for kind in params.required_kinds:
        if kind not in present:
            facts.append(
                Fact(
                    key=f"missing:{kind}",
                    subject=f"{kind}（未列入自查单位清单）",
                    fields={"done": False, "known_kind": True, "kind": kind},
                    evidence=(Evidence(f"{MANIFEST} units", f"无 {kind} 单位"),),
                )
            )
    return facts


class SubmissionParams(Params):
    """The submission-date measure needs no parameters: the deadline policy is the rubric's [calendar]."""


@measure(
    "submission_timeliness",
    params=SubmissionParams,
    fields={"days_late": "number", "received": "bool", "deadline_known": "bool"},
)
def submission_timeliness(
    package: Package, params: SubmissionParams, ctx: MeasureContext
) -> list[Fact]:
    """Working days between the deadline and the day the bureau received the package."""
    dossier = package.dossier
    deadline: dt.date | None = dossier.deadline or ctx.deadline
    received = dossier.received_on
    needs: list[str] = []
    if received is None:
        needs.append("财政局收到报告的日期（received_on）")
    if deadline is None:
        needs.append("报送截止日期（deadline）")
    # Without a receipt date the package is judged as if received on as_of (a pre-check "today").
    on = received or ctx.as_of
    late = ctx.calendar.days_late(deadline, on) if deadline else 0
    source = "manifest" if dossier.deadline else "rubric"
    return [
        Fact(
            key="submission",
            subject="报送自评报告",
            fields={
                "days_late": Decimal(late),
                "received": received is not None,
                "deadline_known": deadline is not None,
            },
            evidence=(
                Evidence(
                    f"{MANIFEST} received_on",
                    received.isoformat()
                    if received
                    else f"未填写（按 as_of {ctx.as_of.isoformat()}）",
                ),
                Evidence(
                    f"{MANIFEST} deadline"
                    if source == "manifest"
                    else "rubric [calendar] deadline",
                    deadline.isoformat() if deadline else "未设定",
                ),
            ),
            needs_input=tuple(needs),
            detail={
                "expression": f"{deadline.isoformat() if deadline else '?'} 之后至 {on.isoformat()} 共 {late} 个工作日"
            },
        )
    ]
