"""What-if over HTTP: a rubric change's rule-level differences and its effect on stored packages.

The same engine functions as `jixiao rubric diff` (engine.lifecycle.diff); the corpus is the
packages already in the store, as they were submitted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.diagnostics import PackageError, RubricError
from engine.importers.text import TextLayout
from engine.lifecycle.diff import diff_report, rescore
from engine.model import Package
from service.errors import ApiError
from service.evaluations import EvaluationService, _rubric_error
from service.store import Evaluation
from service.submission import Submission


def stored_packages(
    service: EvaluationService,
    *,
    fiscal_year: int | None,
    limit: int,
    layout: TextLayout | None = None,
) -> list[tuple[str, Package]]:
    """The newest `limit` stored packages (one per evaluation, none withdrawn), optionally of
    one fiscal year, read with `layout` (the baseline version's)."""
    query = (
        select(Evaluation.id, Evaluation.package)
        .where(Evaluation.withdrawn_at.is_(None))  # withdrawn packages are out of the season
        .order_by(Evaluation.seq.desc())
        .limit(limit)
    )
    if fiscal_year is not None:
        query = query.where(Evaluation.fiscal_year == fiscal_year)
    with service.store.read() as session:
        rows = list(session.execute(query))
    out = []
    for evaluation_id, package_json in rows:
        try:
            out.append((evaluation_id, Submission.from_json(package_json).package(layout=layout)))
        except PackageError:
            continue  # stored before an importer change and no longer readable: left out, not fatal
    return out


def whatif(
    service: EvaluationService, old_ref: str, new_ref: str, *, fiscal_year: int | None, limit: int
) -> dict[str, Any]:
    """Rule-level changes, then every stored package re-scored under both versions."""
    try:
        old = service.rubrics.find(old_ref, fiscal_year=None)
        new = service.rubrics.find(new_ref, fiscal_year=None)
    except RubricError as exc:
        raise _rubric_error(exc) from None
    if "@" not in old_ref or "@" not in new_ref:
        raise ApiError(
            422,
            "version_required",
            "请用 ID@VERSION 指明两个版本",
            "name both versions as ID@VERSION",
        )
    deltas = rescore(
        old,
        new,
        stored_packages(service, fiscal_year=fiscal_year, limit=limit, layout=old.layout),
        service.evaluator.backend,
    )
    return diff_report(old, new, deltas, package_key="evaluation")
