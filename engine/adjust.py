"""Reviewer adjustments of discretionary (酌情) clauses.

A reviewer sets a clause's score inside one of the rubric's bands for that clause, with a reason.
Nothing is overwritten: the automatic assessment stays in the report, every adjustment is
appended with its actor and time, and the item, section and total scores are recomputed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.decimals import plain, q2
from engine.rubric.model import Rubric


class AdjustmentError(ValueError):
    """An adjustment the rubric does not allow; `bands` names what is allowed."""

    def __init__(self, message: str, bands: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.bands = bands


@dataclass(frozen=True)
class Adjustment:
    """A reviewer's score for one discretionary clause."""

    clause: str
    score: Decimal
    reason: str
    actor: str
    at: str  # ISO timestamp, supplied by the caller (the engine never reads the clock)


def allowed_bands(rubric: Rubric, clause_id: str) -> list[dict[str, Any]]:
    """The bands of a discretionary clause: id, label and range."""
    return [
        {"id": b.spec.id, "label": b.spec.label, "range": [b.spec.range[0], b.spec.range[1]]}
        for b in rubric.bands
        if b.clause.id == clause_id
    ]


def apply_adjustment(report: dict[str, Any], rubric: Rubric, adj: Adjustment) -> dict[str, Any]:
    """A new report with the adjustment applied; raises AdjustmentError outside every band."""
    bands = allowed_bands(rubric, adj.clause)
    if not bands:
        raise AdjustmentError(f"clause {adj.clause} is not discretionary", [])
    if not adj.reason.strip():
        raise AdjustmentError("an adjustment needs a reason", bands)
    score = q2(adj.score)
    band = next((b for b in bands if b["range"][0] <= score <= b["range"][1]), None)
    if band is None:
        allowed = "、".join(
            f"{b['label']} {plain(b['range'][0])}–{plain(b['range'][1])}" for b in bands
        )
        raise AdjustmentError(f"{plain(score)} 分不在评分表允许的档次内（{allowed}）", bands)
    out = copy.deepcopy(report)
    item = next(i for i in out["items"] if any(c["id"] == adj.clause for c in i["clauses"]))
    clause = next(c for c in item["clauses"] if c["id"] == adj.clause)
    band_ids = {b["id"] for b in bands}
    kept = [
        d for d in item["deductions"] if not (d["clause"] == adj.clause and d["rule"] in band_ids)
    ]
    points = q2(clause["max"] - score)
    source = next((b.source for b in rubric.bands if b.spec.id == band["id"]), "")
    if points > 0:
        kept.append(
            {
                "rule": band["id"],
                "points": points,
                "reason": f"{band['label']}：复核评定 {plain(score)} 分（本档 {plain(band['range'][0])}–{plain(band['range'][1])} 分）；理由：{adj.reason}",
                "clause": adj.clause,
                "clause_text": clause["text"],
                "subject": item["name"],
                "evidence": [],
                "source": source,
                "adjusted_by": adj.actor,
            }
        )
    item["deductions"] = kept
    assessment = item["assessment"]
    assessment.setdefault("adjustments", []).append(
        {
            "clause": adj.clause,
            "band": band["id"],
            "label": band["label"],
            "score": score,
            "reason": adj.reason,
            "actor": adj.actor,
            "at": adj.at,
        }
    )
    assessment["mode"] = "reviewer"
    _recompute(out, rubric)
    return out


def _recompute(report: dict[str, Any], rubric: Rubric) -> None:
    for item in report["items"]:
        for clause in item["clauses"]:
            used = sum(
                (d["points"] for d in item["deductions"] if d["clause"] == clause["id"]), Decimal(0)
            )
            clause["score"] = q2(clause["max"] - used)
        item["score"] = q2(item["max"] - sum((d["points"] for d in item["deductions"]), Decimal(0)))
    for section in report["sections"]:
        section["score"] = q2(
            sum(
                (i["score"] for i in report["items"] if i["section"] == section["name"]), Decimal(0)
            )
        )
    report["total"]["score"] = q2(sum((i["score"] for i in report["items"]), Decimal(0)))
    if rubric.spec.grades:
        report["total"]["grade"] = rubric.spec.grade_of(report["total"]["score"])
