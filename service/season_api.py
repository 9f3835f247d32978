"""The season's endpoints: the results table, the audited 抽查 sample, and explain.

Kept apart from service/api.py (one `include_router` hook): the results table is built from the
stored reports by the engine's summary writer, the sample by engine.sampling (recorded in the
audit chain by service.sampling), and explain re-runs the stored package under its stored
rubric snapshot, like replay.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from engine.diagnostics import PackageError
from engine.evaluate import render_json
from engine.export.summary import SUMMARY_MEDIA_TYPES, SummaryEntry, results_table, summary_bytes
from service.api import Anyone, EvaluationId, Verifier, _json, _responses, _service
from service.auth import Principal, now
from service.errors import ApiError
from service.evaluations import invalid_package, parse_report, unprocessable
from service.rubrics import Snapshot
from service.sampling import SampleError, draw_sample, latest_sample
from service.store import Evaluation, RubricSnapshot, Store
from service.submission import Submission

season = APIRouter(prefix="/v1")
Year = Annotated[int, Path(ge=2000, le=2100, description="the fiscal year")]


def season_reports(store: Store, year: int) -> list[SummaryEntry]:
    """The newest stored evaluation of each department for the year, with its current report
    (withdrawn evaluations have left the season)."""
    newest: dict[str, Evaluation] = {}
    with store.read() as session:
        rows = session.scalars(
            select(Evaluation)
            .where(Evaluation.fiscal_year == year, Evaluation.withdrawn_at.is_(None))
            .order_by(Evaluation.seq)
        )
        for ev in rows:
            newest[ev.department] = ev  # later rows replace earlier ones
        return [SummaryEntry(ev.id, parse_report(ev.current_report)) for ev in newest.values()]


@season.get(
    "/seasons/{year}/results.{fmt}",
    summary="The season's results table (考核结果汇总表) as .xlsx, .pdf or .csv",
    response_class=Response,
    responses=_responses(_200="the file", _404="no evaluations for the year"),
)
async def season_results(
    request: Request, principal: Verifier, year: Year, fmt: Literal["xlsx", "pdf", "csv"]
) -> Response:
    """One row per department (its newest evaluation), ranked, with grade and status."""
    store: Store = request.app.state.store

    def build() -> bytes:
        entries = season_reports(store, year)
        if not entries:
            raise ApiError(
                404, "not_found", f"{year} 年度没有评价", f"no evaluations for fiscal year {year}"
            )
        return summary_bytes(results_table(entries), fmt)

    data = await run_in_threadpool(build)
    name = f"results-{year}.{fmt}"
    return Response(
        data,
        media_type=SUMMARY_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class SampleIn(BaseModel):
    """How to draw: the share, the seed, and optionally strata."""

    model_config = ConfigDict(extra="forbid")

    share: str = Field(pattern=r"^(0(\.\d+)?|1(\.0+)?)$", description="between 0 and 1, e.g. 0.2")
    seed: str = Field(min_length=1, max_length=200)
    strata: Literal["grade"] | None = None


@season.post(
    "/seasons/{year}/sample",
    summary="Draw a seeded 抽查 sample of the year's evaluations (recorded in the audit chain)",
    status_code=201,
    responses=_responses(_201="the sample: seed, population strata, drawn ids", _404="no evaluations"),
)
def draw_season_sample(
    request: Request, principal: Verifier, year: Year, body: SampleIn
) -> Response:
    """The same seed, share and evaluations always draw the same sample (docs/decisions.md)."""
    store: Store = request.app.state.store
    try:
        drawn = draw_sample(
            store,
            principal.actor,
            now(),
            year=year,
            share=body.share,
            seed=body.seed,
            strata=body.strata,
        )
    except SampleError as exc:
        raise ApiError(404, "not_found", f"无法抽样：{exc}", f"cannot draw: {exc}") from None
    return _json(_sample_view(drawn), 201)


def _sample_view(drawn: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in drawn.items() if k != "population"} | {
        "population": len(drawn["population"])
    }


@season.get(
    "/seasons/{year}/sample",
    summary="The newest sample drawn for the year",
    responses=_responses(_200="the sample", _404="no sample drawn"),
)
def get_season_sample(request: Request, principal: Verifier, year: Year) -> Response:
    """The newest `sampled` event's draw for the year."""
    store: Store = request.app.state.store
    with store.read() as session:
        found = latest_sample(session, year)
    if found is None:
        raise ApiError(404, "not_found", f"{year} 年度尚未抽样", f"no sample drawn for {year}")
    return _json(_sample_view(found))


@season.get(
    "/evaluations/{evaluation_id}/explain",
    summary="Why every rule and band did or did not apply (re-run under the stored snapshot)",
    responses=_responses(_200="the explanation (docs/report-format.md)", _404="unknown evaluation"),
)
def explain_evaluation(request: Request, principal: Anyone, evaluation_id: EvaluationId) -> Response:
    """The explanation of the automatic assessment, the same on both backends."""
    return Response(
        render_json(_explain(request, principal, evaluation_id)), media_type="application/json"
    )


def _explain(request: Request, principal: Principal, evaluation_id: str) -> dict[str, Any]:
    service = _service(request)
    with service.store.read() as session:
        ev = service._load(session, principal, evaluation_id)
        snapshot_row = session.get(RubricSnapshot, ev.snapshot_id)
        package_json, mode, as_of = ev.package, ev.mode, ev.as_of
    if snapshot_row is None:
        raise ApiError(500, "snapshot_missing", "评分表快照缺失", "rubric snapshot missing")
    rubric = service._snapshot_rubric(Snapshot.from_body(snapshot_row.body))
    try:
        package = Submission.from_json(package_json).package()
    except PackageError as exc:
        raise invalid_package(exc) from None
    when: dt.date = as_of
    try:
        _, explanation = service.evaluator.explain(
            package, rubric, mode="precheck" if mode == "precheck" else "bureau", as_of=when
        )
    except Exception as exc:  # a stored package scored once; anything now is logged, not a 5xx
        raise unprocessable(exc, "explain") from None
    return {"id": evaluation_id, **explanation}
