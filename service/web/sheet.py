"""The score sheet page's view of a report: sections → items → clauses → deductions.

Everything shown comes from the stored report (docs/report-format.md) and, for the bands a
reviewer may choose, from the evaluation's own rubric snapshot through `engine.adjust`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from engine import labels
from engine.adjust import allowed_bands
from engine.rubric.model import Rubric

# One table of labels for the CLI, the web and the sheets (engine.labels).
MODE_ZH = labels.MODES
ASSESSMENT_ZH = labels.ASSESSMENTS
SEVERITY_ZH = labels.SEVERITIES


@dataclass
class ClauseView:
    """A clause with its deductions; for a discretionary one, its bands and adjustments."""

    id: str
    text: str
    max: Decimal
    score: Decimal
    discretionary: bool
    deductions: list[dict[str, Any]] = field(default_factory=list)
    auto: dict[str, Any] | None = None  # the automatic assessment's band entry for the clause
    bands: list[dict[str, Any]] = field(default_factory=list)  # every band the rubric allows
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current_band(self) -> str | None:
        """The band id in force: the newest adjustment's, else the automatic one."""
        if self.adjustments:
            band: str = self.adjustments[-1]["band"]
            return band
        return str(self.auto["band"]) if self.auto else None


@dataclass
class ItemView:
    """An item of the rubric as scored."""

    id: str
    name: str
    max: Decimal
    score: Decimal
    mode: str
    band: str | None
    signals: dict[str, Any]
    evidence_required: list[str]
    clauses: list[ClauseView]
    other: list[dict[str, Any]]  # deductions naming no clause of the item (none expected)


@dataclass
class SectionView:
    """A section (一级指标) and its items."""

    name: str
    max: Decimal
    score: Decimal
    items: list[ItemView]


def sections(report: dict[str, Any], rubric: Rubric | None) -> list[SectionView]:
    """The report's items grouped by section, in the report's order."""
    by_section: OrderedDict[str, list[ItemView]] = OrderedDict(
        (s["name"], []) for s in report["sections"]
    )
    for item in report["items"]:
        assessment = item.get("assessment") or {}
        autos = {b["clause"]: b for b in assessment.get("bands") or []}
        adjustments = assessment.get("adjustments") or []
        clauses = []
        for c in item["clauses"]:
            clauses.append(
                ClauseView(
                    id=c["id"],
                    text=c["text"],
                    max=c["max"],
                    score=c["score"],
                    discretionary=bool(c.get("discretionary")),
                    deductions=[d for d in item["deductions"] if d.get("clause") == c["id"]],
                    auto=autos.get(c["id"]),
                    bands=allowed_bands(rubric, c["id"])
                    if rubric is not None and c.get("discretionary")
                    else [],
                    adjustments=[a for a in adjustments if a["clause"] == c["id"]],
                )
            )
        known = {c["id"] for c in item["clauses"]}
        view = ItemView(
            id=item["id"],
            name=item["name"],
            max=item["max"],
            score=item["score"],
            mode=assessment.get("mode", "rule"),
            band=assessment.get("band"),
            signals=assessment.get("signals") or {},
            evidence_required=item.get("evidence_required") or [],
            clauses=clauses,
            other=[d for d in item["deductions"] if d.get("clause") not in known],
        )
        by_section.setdefault(item["section"], []).append(view)
    out = []
    for s in report["sections"]:
        out.append(SectionView(s["name"], s["max"], s["score"], by_section.pop(s["name"], [])))
    for name, items in by_section.items():  # an item naming a section the report lacks
        total = sum((i.score for i in items), Decimal(0))
        out.append(SectionView(name, sum((i.max for i in items), Decimal(0)), total, items))
    return out


def findings_by_table(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Findings grouped by the table they are about (those about no table last)."""
    groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for finding in report.get("findings") or []:
        groups.setdefault(finding.get("table") or "", []).append(finding)
    named = [(t, fs) for t, fs in groups.items() if t]
    return named + ([("（不属于某张表）", groups[""])] if "" in groups else [])


def history(audit: dict[str, Any]) -> list[dict[str, Any]]:
    """Adjusted events, oldest first, with the totals before and after each."""
    out = []
    for event in audit.get("events") or []:
        if event["kind"] != "adjusted":
            continue
        payload = event["payload"]
        out.append(
            {
                "at": event["at"],
                "actor": event["actor"]["name"],
                "role": event["actor"]["role"],
                "clause": payload.get("clause"),
                "band": payload.get("band"),
                "score": payload.get("score"),
                "reason": payload.get("reason"),
                "total_before": payload.get("total_before"),
                "total_after": payload.get("total_after"),
            }
        )
    return out


def automatic_total(audit: dict[str, Any]) -> str | None:
    """The total as the engine scored it (the `created` event's)."""
    for event in audit.get("events") or []:
        if event["kind"] == "created":
            total = event["payload"].get("total")
            return None if total is None else str(total)
    return None


def evidence_href(evaluation_id: str, location: str) -> str:
    """The page showing the excerpt a location points to."""
    return f"/web/evaluations/{quote(evaluation_id)}/evidence?loc={quote(location, safe='')}"
