"""Reviewer adjustments of discretionary (酌情) clauses.

A reviewer sets a clause's score inside one of the rubric's bands for that clause, with a reason.
Nothing is overwritten: the automatic assessment stays in the report, every adjustment is
appended with its actor and time, and the item, section and total scores are recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.decimals import plain, q2
from engine.evaluate.report import AdjustmentRecord, deduction, read_report, score_report
from engine.rubric.model import Rubric


class AdjustmentError(ValueError):
    """An adjustment the rubric does not allow: the Chinese `message`, the English `en`, the
    request `field` at fault, and the `bands` that are allowed."""

    def __init__(
        self, message: str, bands: list[dict[str, Any]], *, field: str = "score", en: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.bands = bands
        self.field = field
        self.en = en or message


@dataclass(frozen=True)
class Adjustment:
    """A reviewer's score for one discretionary clause."""

    clause: str
    score: Decimal
    reason: str
    actor: str
    at: str  # ISO timestamp, supplied by the caller (the engine never reads the clock)
    band: str | None = None  # the band the reviewer names; needed only where ranges overlap


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
        known = any(c.id == adj.clause for i in rubric.spec.items for c in i.clauses)
        if known:
            raise AdjustmentError(
                f"评分项 {adj.clause} 不是酌情评分项，不能调整",
                [],
                field="clause",
                en=f"clause {adj.clause!r} is not a discretionary clause of this rubric",
            )
        raise AdjustmentError(
            f"评分表中没有评分项 {adj.clause}",
            [],
            field="clause",
            en=f"clause {adj.clause!r} is not in this rubric",
        )
    if not adj.reason.strip():
        raise AdjustmentError(
            "调整须说明理由", bands, field="reason", en="an adjustment needs a reason"
        )
    score = q2(adj.score)
    allowed = "、".join(
        f"{b['label']} {plain(b['range'][0])}–{plain(b['range'][1])}" for b in bands
    )
    allowed_en = ", ".join(
        f"{b['id']} ({b['label']}) {plain(b['range'][0])}-{plain(b['range'][1])}" for b in bands
    )
    if adj.band is not None:
        band = next((b for b in bands if b["id"] == adj.band), None)
        if band is None:
            raise AdjustmentError(
                f"评分项 {adj.clause} 没有档次 {adj.band}（可选：{allowed}）",
                bands,
                field="band",
                en=f"clause {adj.clause} has no band {adj.band!r} (bands: {allowed_en})",
            )
        if not band["range"][0] <= score <= band["range"][1]:
            raise AdjustmentError(
                f"{plain(score)} 分不在档次「{band['label']}」的范围内"
                f"（{plain(band['range'][0])}–{plain(band['range'][1])} 分）",
                bands,
                en=f"{plain(score)} is outside band {adj.band}",
            )
    else:
        # Unnamed: the first band (rubric order) whose range holds the score. Where ranges
        # overlap the reviewer names the band instead (docs/decisions.md).
        band = next((b for b in bands if b["range"][0] <= score <= b["range"][1]), None)
    if band is None:
        raise AdjustmentError(
            f"{plain(score)} 分不在评分表允许的档次内（{allowed}）",
            bands,
            en=f"{plain(score)} is outside the bands allowed for {adj.clause}: {allowed_en}",
        )
    out = read_report(report)  # a typed copy: the stored report is never changed in place
    item = next(i for i in out.items if any(c.id == adj.clause for c in i.clauses))
    clause = next(c for c in item.clauses if c.id == adj.clause)
    band_ids = {b["id"] for b in bands}
    kept = [d for d in item.deductions if not (d.clause == adj.clause and d.rule in band_ids)]
    points = q2(clause.max - score)
    source = next((b.source for b in rubric.bands if b.spec.id == band["id"]), "")
    if points > 0:
        kept.append(
            deduction(
                rule=band["id"],
                points=points,
                reason=f"{band['label']}：复核评定 {plain(score)} 分（本档 {plain(band['range'][0])}–{plain(band['range'][1])} 分）；理由：{adj.reason}",
                clause=adj.clause,
                clause_text=clause.text,
                subject=item.name,
                evidence=[],
                source=source,
                adjusted_by=adj.actor,
            )
        )
    item.deductions = kept
    assessment = item.assessment
    assessment.adjustments = [
        *(assessment.adjustments or []),
        AdjustmentRecord(
            clause=adj.clause,
            band=band["id"],
            label=band["label"],
            score=score,
            reason=adj.reason,
            actor=adj.actor,
            at=adj.at,
        ),
    ]
    assessment.mode = "reviewer"
    score_report(out, rubric.spec.grade_of if rubric.spec.grades else None)
    return out.to_json()
