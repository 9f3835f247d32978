"""How often reviewers kept the automatic band of each discretionary clause, and where they
moved it (GET /v1/calibration, and a block of the season overview).

Read from the stored current reports: an evaluation counts for a clause once a reviewer has
adjusted anything in it (an evaluation nobody reviewed says nothing about the bands); the clause
is kept when it has no adjustment or its last adjustment stays in the automatic band.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from engine.decimals import q2
from service.auth import Principal
from service.evaluations import EvaluationService, parse_report
from service.store import Evaluation


@dataclass
class ClauseReview:
    """One rubric version's discretionary clause across the reviewed evaluations."""

    rubric: str
    clause: str
    reviewed: int = 0
    kept: int = 0
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def kept_share(self) -> Decimal:
        return q2(Decimal(self.kept) / Decimal(self.reviewed)) if self.reviewed else Decimal(0)

    def as_json(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric,
            "clause": self.clause,
            "reviewed": self.reviewed,
            "kept": self.kept,
            "kept_share": self.kept_share,
            "moves": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(self.moves.items())],
        }


def review_agreement(
    service: EvaluationService, principal: Principal, fiscal_year: int | None
) -> list[ClauseReview]:
    """Per (rubric version, clause): reviewed evaluations, kept bands and moves, sorted."""
    # The current report: `report` once adjusted (only adjusted evaluations are read here).
    current = func.coalesce(Evaluation.report, Evaluation.automatic_report)
    query = select(Evaluation.rubric_id, Evaluation.rubric_version, current).where(
        Evaluation.adjustments > 0,
        Evaluation.withdrawn_at.is_(None),  # a withdrawn evaluation has left the season
    )
    if fiscal_year is not None:
        query = query.where(Evaluation.fiscal_year == fiscal_year)
    if principal.role == "department":
        query = query.where(Evaluation.department == principal.department)
    out: dict[tuple[str, str], ClauseReview] = {}
    with service.store.read() as session:
        rows = session.execute(query.order_by(Evaluation.seq)).all()
    for rubric_id, version, text in rows:
        rubric = f"{rubric_id}@{version}"
        for item in parse_report(text)["items"]:
            assessment = item.get("assessment") or {}
            last = {a["clause"]: a["band"] for a in assessment.get("adjustments") or []}
            for band in assessment.get("bands") or []:
                if band.get("band") is None:
                    continue
                review = out.setdefault(
                    (rubric, band["clause"]), ClauseReview(rubric, band["clause"])
                )
                review.reviewed += 1
                final = last.get(band["clause"], band["band"])
                if final == band["band"]:
                    review.kept += 1
                else:
                    review.moves[(band["band"], final)] += 1
    return [out[k] for k in sorted(out)]
