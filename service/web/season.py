"""The season overview: every evaluation of a fiscal year, its status, and two charts' data.

Rows come from `EvaluationService.list` (which applies the department restriction); the
statuses and deductions come from the stored current reports, read in one query and parsed
once per (evaluation, number of adjustments).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from engine import labels
from engine.decimals import q2
from service.auth import Principal
from service.evaluations import EvaluationService, parse_report
from service.store import Evaluation

# The statuses the overview filters by (withdrawn evaluations are not in it at all).
STATUSES: dict[str, str] = {
    key: labels.STATUSES[key] for key in ("auto", "reviewed", "needs_input", "late")
}
SORTS: dict[str, str] = {
    "department": "部门",
    "rubric": "评分表",
    "score": "总分",
    "automatic": "自动评分",
    "status": "状态",
    "as_of": "评价日期",
    "created": "提交时间",
}
_CACHE_SIZE = 5000
_IN_CHUNK = 500  # ids per IN (...) query: far below every database's parameter limit


@dataclass(frozen=True)
class Digest:
    """What the overview needs from one report."""

    needs_input: int
    received_on: str | None
    deadline: str | None
    # (rule, points, item name, band label or ""), points > 0
    deducted: tuple[tuple[str, Decimal, str, str], ...]

    @property
    def late(self) -> bool:
        """Received after the deadline (calendar days; the rubric counts working days)."""
        return bool(self.received_on and self.deadline and self.received_on > self.deadline)


@dataclass
class Row:
    """One evaluation in the overview."""

    id: str
    department: str
    fiscal_year: int
    rubric_id: str
    rubric_version: str
    mode: str
    as_of: str
    created_at: str
    score: Decimal
    max: Decimal
    automatic: Decimal
    adjustments: int
    digest: Digest

    @property
    def rubric(self) -> str:
        return f"{self.rubric_id}@{self.rubric_version}"

    @property
    def statuses(self) -> list[str]:
        """Status keys: reviewed or auto, then needs_input and late when they apply."""
        out = ["reviewed" if self.adjustments else "auto"]
        if self.digest.needs_input:
            out.append("needs_input")
        if self.digest.late:
            out.append("late")
        return out


def _band_labels(item: dict[str, Any]) -> dict[str, str]:
    """Band id -> label, from the item's automatic assessment and its adjustments."""
    assessment = item.get("assessment") or {}
    entries = [*(assessment.get("bands") or []), *(assessment.get("adjustments") or [])]
    return {str(e["band"]): str(e.get("label") or "") for e in entries if e.get("band")}


def digest(report: dict[str, Any]) -> Digest:
    """The overview's facts from one parsed report."""
    package = report.get("package") or {}
    deducted = tuple(
        (str(d["rule"]), Decimal(d["points"]), str(item["name"]), _band_labels(item).get(d["rule"], ""))
        for item in report["items"]
        for d in item["deductions"]
        if Decimal(d["points"]) > 0
    )
    return Digest(
        needs_input=len(report.get("needs_input") or []),
        received_on=package.get("received_on"),
        deadline=package.get("deadline"),
        deducted=deducted,
    )


class DigestCache:
    """Parsed report digests by (evaluation id, adjustments): an adjustment changes the key."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], Digest] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> Digest | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], value: Digest) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def fiscal_years(service: EvaluationService, principal: Principal) -> list[int]:
    """The fiscal years with evaluations the principal may read, newest first."""
    query = select(Evaluation.fiscal_year).distinct()
    if principal.role == "department":
        query = query.where(Evaluation.department == principal.department)
    with service.store.read() as session:
        years = sorted({int(y) for y in session.scalars(query)}, reverse=True)
    return years


def season_rows(
    service: EvaluationService, principal: Principal, year: int, cache: DigestCache, page: int
) -> list[Row]:
    """Every evaluation of `year` the principal may read (through the service's own listing)."""
    summaries: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        result = service.list(
            principal, department=None, fiscal_year=year, rubric=None, limit=page, cursor=cursor
        )
        summaries += result["items"]
        if result["next_cursor"] is None:
            break
        cursor = int(result["next_cursor"])
    missing = [s["id"] for s in summaries if cache.get((s["id"], s["adjustments"])) is None]
    for chunk in (missing[i : i + _IN_CHUNK] for i in range(0, len(missing), _IN_CHUNK)):
        with service.store.read() as session:
            found = session.execute(
                select(
                    Evaluation.id,
                    Evaluation.adjustments,
                    func.coalesce(Evaluation.report, Evaluation.automatic_report),
                ).where(Evaluation.id.in_(chunk))
            ).all()
        for evaluation_id, adjustments, text in found:
            cache.put((evaluation_id, adjustments), digest(parse_report(text)))
    rows = []
    for s in summaries:
        # An adjustment between the listing and the report query: count it as it was listed.
        d = cache.get((s["id"], s["adjustments"])) or cache.get((s["id"], s["adjustments"] + 1))
        if d is None:
            continue
        rows.append(
            Row(
                id=s["id"],
                department=s["department"],
                fiscal_year=s["fiscal_year"],
                rubric_id=s["rubric"]["id"],
                rubric_version=s["rubric"]["version"],
                mode=s["mode"],
                as_of=s["as_of"],
                created_at=s["created_at"],
                score=s["total"]["score"],
                max=s["total"]["max"],
                automatic=s["automatic_score"],
                adjustments=s["adjustments"],
                digest=d,
            )
        )
    return rows


def filter_rows(
    rows: Iterable[Row], *, department: str | None, rubric: str | None, status: str | None
) -> list[Row]:
    """Rows matching every filter given."""
    out = []
    for row in rows:
        if department and row.department != department:
            continue
        if rubric and rubric not in (row.rubric, row.rubric_id):
            continue
        if status and status not in row.statuses:
            continue
        out.append(row)
    return out


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows sorted by a column of SORTS (ties keep the newest first)."""
    getters: dict[str, Any] = {
        "department": lambda r: r.department,
        "rubric": lambda r: r.rubric,
        "score": lambda r: r.score,
        "automatic": lambda r: r.automatic,
        "status": lambda r: tuple(r.statuses),
        "as_of": lambda r: r.as_of,
        "created": lambda r: r.created_at,
    }
    ordered = sorted(rows, key=lambda r: r.created_at, reverse=True)
    return sorted(ordered, key=getters.get(key, getters["created"]), reverse=descending)


# -- charts' data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bin:
    """One bar of the score distribution: [low, high) of the score rate, and how many."""

    low: int
    high: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}" if self.low else f"< {self.high}"


def distribution(rows: Iterable[Row]) -> list[Bin]:
    """Totals as a rate of the maximum (×100), in bins: < 60, then 10 wide up to 100 inclusive.

    60 is where 附件5-style grading turns 不合格, so everything below shares one bar.
    """
    edges = [(0, 60), (60, 70), (70, 80), (80, 90), (90, 100)]
    counts = [0] * len(edges)
    for row in rows:
        rate = row.score * 100 / row.max if row.max else Decimal(0)
        for i, (low, high) in enumerate(edges):
            last = i == len(edges) - 1
            if low <= rate < high or (last and rate >= high):
                counts[i] += 1
                break
    return [Bin(low, high, n) for (low, high), n in zip(edges, counts, strict=True)]


@dataclass
class RuleCost:
    """One rule across the season: points taken in total and packages it hit."""

    rule: str
    points: Decimal = Decimal(0)
    packages: int = 0
    rubric: str = ""  # a rubric version that has the rule (for the link)
    item: str = ""  # the rubric item it deducts from
    band: str = ""  # the band's label, for a discretionary clause's band

    @property
    def label(self) -> str:
        """What a person reads on the chart: the item, and the band where there is one."""
        return f"{self.item}：{self.band}" if self.band else self.item or self.rule

    @property
    def mean(self) -> Decimal:
        return q2(self.points / self.packages) if self.packages else Decimal(0)


def costly_rules(rows: Iterable[Row], top: int = 10) -> list[RuleCost]:
    """The rules that took the most points, with how many packages each hit."""
    by_rule: dict[str, RuleCost] = {}
    for row in rows:
        seen: set[str] = set()
        for rule, points, item, band in row.digest.deducted:
            cost = by_rule.setdefault(rule, RuleCost(rule, rubric=row.rubric, item=item, band=band))
            cost.points += points
            if rule not in seen:
                cost.packages += 1
                seen.add(rule)
    ranked = sorted(by_rule.values(), key=lambda c: (-c.points, -c.packages, c.rule))
    for cost in ranked:
        cost.points = q2(cost.points)
    return ranked[:top]
