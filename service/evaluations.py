"""What each endpoint does, as plain synchronous functions (the app runs them in worker threads).

Each is one engine call plus persistence: score and store, read, adjust, list, audit, replay.
An evaluation is stored with its `created` event in one transaction; nothing is acknowledged
before that transaction commits.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.adjust import Adjustment, AdjustmentError, apply_adjustment
from engine.decimals import plain, q2
from engine.diagnostics import CalendarError, PackageError, PackageProblem, RubricError
from engine.evaluate import Evaluator, render_json
from engine.rubric.model import Rubric
from service import audit
from service.auth import Principal, now
from service.backend import engine_errors
from service.errors import ApiError, forbidden, not_found
from service.logs import get_logger
from service.metrics import Metrics
from service.rubrics import Rubrics, Snapshot, SnapshotMismatch, snapshot_of
from service.store import Evaluation, Event, RubricSnapshot, Store
from service.submission import Submission

Mode = Literal["bureau", "precheck"]
MAX_DIFFERENCES = 50
MAX_DIFF_LINES = 400


def parse_report(text: str) -> dict[str, Any]:
    """A stored report, with every number back as a Decimal (never a float)."""
    report: dict[str, Any] = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return report


def with_id(evaluation_id: str, report: dict[str, Any]) -> str:
    """The report as the API returns it: the evaluation's `id` first, then the report."""
    return render_json({"id": evaluation_id, **report})


def invalid_package(exc: PackageError) -> ApiError:
    return ApiError(
        422,
        "invalid_package",
        "提交的材料无法读取或校验未通过",
        "the package cannot be read or is invalid",
        problems=exc.problems,
    )


def unprocessable(exc: Exception, stage: str) -> ApiError:
    """422 for a package the engine failed on: logged with its traceback, never a 5xx.

    Whatever the engine raises while reading or scoring a package was triggered by that
    package; the client gets a 422 and the request id, the log gets the traceback.
    """
    get_logger().error(
        "evaluation.engine_failed", stage=stage, error=type(exc).__name__, exc_info=exc
    )
    return ApiError(
        422,
        "unprocessable_package",
        "引擎无法处理该材料（已记录，请凭 request_id 联系管理员）",
        f"the engine could not {stage} this package (logged; quote the request_id)",
    )


def _rubric_error(exc: RubricError) -> ApiError:
    if any(d.code == "JX013" for d in exc.diagnostics):
        return ApiError(
            404,
            "rubric_not_found",
            "未找到评分表",
            "rubric not found",
            extra={"diagnostics": [d.render() for d in exc.diagnostics]},
        )
    # A rubric on disk that does not compile is the deployment's fault, not the caller's.
    return ApiError(
        503,
        "rubric_invalid",
        "评分表无法编译，请联系管理员",
        "the rubric does not compile; ask an administrator",
        extra={"diagnostics": [d.render() for d in exc.diagnostics]},
    )


def _deduction_rules(report: dict[str, Any]) -> list[str]:
    return [d["rule"] for item in report["items"] for d in item["deductions"]]


def _summary(ev: Evaluation) -> dict[str, Any]:
    return {
        "id": ev.id,
        "decision_id": ev.decision_id,
        "department": ev.department,
        "fiscal_year": ev.fiscal_year,
        "rubric": {"id": ev.rubric_id, "version": ev.rubric_version, "sha256": ev.rubric_sha256},
        "mode": ev.mode,
        "as_of": ev.as_of.isoformat(),
        "created_at": ev.created_at,
        "created_by": ev.created_by,
        "total": {"max": Decimal(ev.total_max), "score": Decimal(ev.score)},
        "automatic_score": Decimal(ev.automatic_score),
        "adjustments": ev.adjustments,
    }


@dataclass(frozen=True)
class Created:
    """A stored evaluation: its id and the response body."""

    id: str
    body: str


class EvaluationService:
    """The endpoints' work, over one store, rubric catalogue, evaluator and metrics."""

    def __init__(
        self, store: Store, rubrics: Rubrics, evaluator: Evaluator, metrics: Metrics
    ) -> None:
        self.store = store
        self.rubrics = rubrics
        self.evaluator = evaluator
        self.metrics = metrics

    # -- create -----------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        submission: Submission,
        *,
        rubric_ref: str | None,
        mode: Mode,
        as_of: dt.date | None,
        evaluation_id: str | None = None,
    ) -> Created:
        """Score a package and store it with its `created` event; the automatic report.

        `evaluation_id` is given by batches, so a package retried after a lost worker can be
        stored only once (the id is unique)."""
        if principal.role not in ("department", "reviewer"):
            raise forbidden(
                "只有部门或复核人员可以提交评分", "only department or reviewer keys score"
            )
        try:
            dossier = submission.dossier()
        except PackageError as exc:
            raise invalid_package(exc) from None
        if principal.role == "department" and dossier.department != principal.department:
            raise forbidden(
                f"部门密钥只能提交本部门（{principal.department}）的材料",
                f"a department key scores only its own department ({principal.department})",
            )
        try:
            rubric = self.rubrics.find(rubric_ref, fiscal_year=dossier.fiscal_year)
        except RubricError as exc:
            raise _rubric_error(exc) from None
        try:
            package = submission.package(dossier)
        except PackageError as exc:
            raise invalid_package(exc) from None
        except Exception as exc:
            raise unprocessable(exc, "import") from None
        when = as_of or dossier.as_of or dossier.received_on
        if when is None:
            raise invalid_package(
                PackageError(
                    "request",
                    [
                        PackageProblem(
                            "as_of",
                            "缺少评价日期：请传 as_of 参数，或在清单中填写 as_of / received_on",
                            "no evaluation date: pass ?as_of= or set as_of / received_on",
                        )
                    ],
                )
            )
        report = self._evaluate(package, rubric, mode, when)
        text = render_json(report)
        snapshot = snapshot_of(rubric)
        evaluation_id = evaluation_id or str(uuid.uuid4())
        total = report["total"]
        with self.store.write() as session:
            # Take the chain lock first: it serialises this writer with the others, so two
            # requests never both insert the same new snapshot.
            audit.lock(session)
            snapshot_body = snapshot.body()
            snapshot_id = audit.sha256_text(snapshot_body)
            if session.get(RubricSnapshot, snapshot_id) is None:
                session.add(
                    RubricSnapshot(
                        id=snapshot_id,
                        rubric_sha256=snapshot.sha256,
                        rubric_id=snapshot.rubric_id,
                        version=snapshot.version,
                        title=snapshot.title,
                        body=snapshot_body,
                        created_at=now(),
                    )
                )
                session.flush()
            package_json = submission.to_json()
            at = now()
            session.add(
                Evaluation(
                    id=evaluation_id,
                    decision_id=report["decision_id"],
                    department=dossier.department,
                    fiscal_year=dossier.fiscal_year,
                    rubric_id=rubric.spec.id,
                    rubric_version=rubric.spec.version,
                    rubric_sha256=rubric.sha256,
                    snapshot_id=snapshot_id,
                    mode=mode,
                    as_of=when,
                    created_at=at,
                    created_by=principal.key,
                    total_max=plain(q2(total["max"])),
                    automatic_score=plain(q2(total["score"])),
                    score=plain(q2(total["score"])),
                    adjustments=0,
                    package=package_json,
                    automatic_report=text,
                    report=text,
                )
            )
            audit.append(
                session,
                evaluation_id=evaluation_id,
                kind="created",
                actor=principal.actor,
                at=at,
                rubric=(rubric.spec.id, rubric.spec.version, rubric.sha256),
                payload={
                    "decision_id": report["decision_id"],
                    "mode": mode,
                    "as_of": when.isoformat(),
                    "department": dossier.department,
                    "fiscal_year": dossier.fiscal_year,
                    "total": plain(q2(total["score"])),
                    "package_sha256": audit.sha256_text(package_json),
                    "report_sha256": audit.sha256_text(text),
                    "snapshot_sha256": snapshot_id,
                },
            )
        # Committed: only now is the evaluation acknowledged, counted and logged.
        rules = _deduction_rules(report)
        self.metrics.evaluations.labels(rubric=rubric.ref, mode=mode).inc()
        for rule in rules:
            self.metrics.deductions.labels(rule=rule).inc()
        get_logger().info(
            "evaluation.completed",
            evaluation_id=evaluation_id,
            decision_id=report["decision_id"],
            rubric=rubric.ref,
            rubric_sha256=rubric.sha256,
            mode=mode,
            total=plain(q2(total["score"])),
            total_max=plain(q2(total["max"])),
            deductions=rules,
        )
        return Created(evaluation_id, with_id(evaluation_id, report))

    def _evaluate(self, package: Any, rubric: Rubric, mode: Mode, as_of: dt.date) -> dict[str, Any]:
        try:
            return self.evaluator.evaluate(package, rubric, mode=mode, as_of=as_of)
        except CalendarError as exc:
            raise ApiError(
                422,
                "invalid_date",
                f"日期超出工作日历范围：{exc}",
                f"a date is outside the working-day calendar: {exc}",
            ) from None
        except engine_errors() as exc:
            # durable_rules refuses some values (too large, too many fields): the package's fault.
            raise ApiError(
                422,
                "engine_refused",
                f"规则引擎拒绝了材料中的数值：{exc}",
                f"the rule engine refused a value in the package: {exc}",
            ) from None
        except Exception as exc:
            raise unprocessable(exc, "evaluate") from None

    # -- read -------------------------------------------------------------------------------

    def _load(self, session: Session, principal: Principal, evaluation_id: str) -> Evaluation:
        ev = session.scalar(select(Evaluation).where(Evaluation.id == evaluation_id))
        if ev is None:
            raise not_found(f"评价 {evaluation_id}", f"evaluation {evaluation_id}")
        if principal.role == "department" and ev.department != principal.department:
            raise forbidden("部门密钥只能查看本部门的评价", "a department key reads only its own")
        return ev

    def get(self, principal: Principal, evaluation_id: str, *, automatic: bool = False) -> str:
        """The current report (after adjustments), or the automatic one."""
        with self.store.read() as session:
            ev = self._load(session, principal, evaluation_id)
            text = ev.automatic_report if automatic else ev.report
        return with_id(evaluation_id, parse_report(text))

    def list(
        self,
        principal: Principal,
        *,
        department: str | None,
        fiscal_year: int | None,
        rubric: str | None,
        limit: int,
        cursor: int | None,
    ) -> dict[str, Any]:
        """One page of evaluations, newest first; `next_cursor` continues."""
        if principal.role == "department":
            if department is not None and department != principal.department:
                raise forbidden(
                    "部门密钥只能查看本部门的评价", "a department key reads only its own"
                )
            department = principal.department
        query = select(Evaluation).order_by(Evaluation.seq.desc())
        if department is not None:
            query = query.where(Evaluation.department == department)
        if fiscal_year is not None:
            query = query.where(Evaluation.fiscal_year == fiscal_year)
        if rubric:
            rubric_id, _, version = rubric.partition("@")
            query = query.where(Evaluation.rubric_id == rubric_id)
            if version:
                query = query.where(Evaluation.rubric_version == version)
        if cursor is not None:
            query = query.where(Evaluation.seq < cursor)
        with self.store.read() as session:
            rows = list(session.scalars(query.limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [_summary(r) for r in rows],
            "next_cursor": str(rows[-1].seq) if more and rows else None,
        }

    # -- adjust -----------------------------------------------------------------------------

    def adjust(
        self, principal: Principal, evaluation_id: str, *, clause: str, score: Decimal, reason: str
    ) -> str:
        """Apply a reviewer's score to a discretionary clause; the recomputed report."""
        if principal.role != "reviewer":
            raise forbidden("只有复核人员可以调整酌情分", "only reviewer keys adjust scores")
        with self.store.write() as session:
            # Lock, then read inside the write transaction: two reviewers never overwrite
            # each other's adjustment.
            audit.lock(session)
            ev = self._load(session, principal, evaluation_id)
            snapshot_row = session.get(RubricSnapshot, ev.snapshot_id)
            if snapshot_row is None:
                raise ApiError(500, "snapshot_missing", "评分表快照缺失", "rubric snapshot missing")
            rubric = self._snapshot_rubric(Snapshot.from_body(snapshot_row.body))
            at = now()
            before = parse_report(ev.report)
            try:
                after = apply_adjustment(
                    before,
                    rubric,
                    Adjustment(clause, score, reason, f"{principal.name} [{principal.key}]", at),
                )
            except AdjustmentError as exc:
                raise adjustment_refused(exc, clause, score) from None
            text = render_json(after)
            band = after_band(after, clause)
            ev.report = text
            ev.score = plain(q2(after["total"]["score"]))
            ev.adjustments += 1
            audit.append(
                session,
                evaluation_id=evaluation_id,
                kind="adjusted",
                actor=principal.actor,
                at=at,
                rubric=(ev.rubric_id, ev.rubric_version, ev.rubric_sha256),
                payload={
                    "clause": clause,
                    "band": band,
                    "score": plain(q2(score)),
                    "reason": reason,
                    "total_before": plain(q2(before["total"]["score"])),
                    "total_after": plain(q2(after["total"]["score"])),
                    "report_sha256": audit.sha256_text(text),
                },
            )
        self.metrics.adjustments.labels(clause=clause).inc()
        get_logger().info(
            "evaluation.adjusted",
            evaluation_id=evaluation_id,
            clause=clause,
            band=band,
            total=plain(q2(after["total"]["score"])),
        )
        return with_id(evaluation_id, after)

    def _snapshot_rubric(self, snapshot: Snapshot) -> Rubric:
        try:
            return self.rubrics.from_snapshot(snapshot)
        except (RubricError, SnapshotMismatch) as exc:
            raise ApiError(
                500,
                "snapshot_invalid",
                "存储的评分表快照无法编译",
                f"the stored rubric snapshot does not compile: {exc}",
            ) from None

    # -- audit and replay -------------------------------------------------------------------

    def audit(self, principal: Principal, evaluation_id: str) -> dict[str, Any]:
        """Every event of one evaluation, with the hash chain."""
        with self.store.read() as session:
            ev = self._load(session, principal, evaluation_id)
            events = list(
                session.scalars(
                    select(Event).where(Event.evaluation_id == ev.id).order_by(Event.seq)
                )
            )
            out = [audit.event_json(e) for e in events]
        return {
            "id": evaluation_id,
            "events": out,
            "hashes_ok": all(e["hash_ok"] for e in out),
        }

    def replay(self, principal: Principal, evaluation_id: str) -> dict[str, Any]:
        """Re-run the stored package under the stored rubric snapshot; compare byte for byte."""
        if principal.role not in ("reviewer", "admin"):
            raise forbidden("只有复核人员或管理员可以重放", "only reviewer or admin keys replay")
        with self.store.read() as session:
            ev = self._load(session, principal, evaluation_id)
            snapshot_row = session.get(RubricSnapshot, ev.snapshot_id)
            stored_text = ev.automatic_report
            package_json, mode, as_of = ev.package, ev.mode, ev.as_of
            rubric_key = (ev.rubric_id, ev.rubric_version, ev.rubric_sha256)
        if snapshot_row is None:
            raise ApiError(500, "snapshot_missing", "评分表快照缺失", "rubric snapshot missing")
        rubric = self._snapshot_rubric(Snapshot.from_body(snapshot_row.body))
        try:
            package = Submission.from_json(package_json).package()
        except PackageError as exc:
            raise invalid_package(exc) from None
        replayed = render_json(
            self._evaluate(package, rubric, "precheck" if mode == "precheck" else "bureau", as_of)
        )
        same = replayed == stored_text
        differences = (
            [] if same else json_differences(json.loads(stored_text), json.loads(replayed))
        )
        result: dict[str, Any] = {
            "id": evaluation_id,
            "reproduced": same,
            "report_sha256": audit.sha256_text(stored_text),
            "replayed_sha256": audit.sha256_text(replayed),
        }
        if not same:
            result["differences"] = differences[:MAX_DIFFERENCES]
            result["diff"] = list(
                difflib.unified_diff(
                    stored_text.splitlines(),
                    replayed.splitlines(),
                    "stored",
                    "replayed",
                    lineterm="",
                )
            )[:MAX_DIFF_LINES]
        with self.store.write() as session:
            audit.append(
                session,
                evaluation_id=evaluation_id,
                kind="replayed",
                actor=principal.actor,
                at=now(),
                rubric=rubric_key,
                payload={
                    "reproduced": same,
                    "report_sha256": result["report_sha256"],
                    "replayed_sha256": result["replayed_sha256"],
                    "differences": len(differences),
                },
            )
        self.metrics.replays.labels(reproduced=str(same).lower()).inc()
        get_logger().info("evaluation.replayed", evaluation_id=evaluation_id, reproduced=same)
        return result


def adjustment_refused(exc: AdjustmentError, clause: str, score: Decimal) -> ApiError:
    """422 naming the bands the rubric allows for the clause."""
    bands = exc.bands
    allowed = ", ".join(
        f"{b['id']} ({b['label']}) {plain(b['range'][0])}-{plain(b['range'][1])}" for b in bands
    )
    if not bands:
        field, en = "clause", f"clause {clause!r} is not a discretionary clause of this rubric"
    elif any(b["range"][0] <= q2(score) <= b["range"][1] for b in bands):
        field, en = "reason", "an adjustment needs a reason"
    else:
        field, en = (
            "score",
            f"{plain(q2(score))} is outside the bands allowed for {clause}: {allowed}",
        )
    return ApiError(
        422,
        "adjustment_refused",
        exc.message,
        en,
        problems=[PackageProblem(field, exc.message, en)],
        extra={"clause": clause, "bands": bands},
    )


def after_band(report: dict[str, Any], clause: str) -> str | None:
    """The band id of the newest adjustment of `clause` in a report."""
    for item in report["items"]:
        for adj in reversed(item["assessment"].get("adjustments", [])):
            if adj["clause"] == clause:
                band: str = adj["band"]
                return band
    return None


def json_differences(stored: Any, replayed: Any, path: str = "") -> list[dict[str, Any]]:
    """Where two JSON values differ, as `{path, stored, replayed}` (paths like items.3.score)."""
    if isinstance(stored, dict) and isinstance(replayed, dict):
        out = []
        for key in list(stored) + [k for k in replayed if k not in stored]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in replayed or key not in stored:
                out.append({"path": sub, "stored": stored.get(key), "replayed": replayed.get(key)})
            else:
                out.extend(json_differences(stored[key], replayed[key], sub))
        return out
    if isinstance(stored, list) and isinstance(replayed, list):
        out = []
        for i in range(max(len(stored), len(replayed))):
            sub = f"{path}.{i}" if path else str(i)
            if i >= len(stored) or i >= len(replayed):
                out.append(
                    {
                        "path": sub,
                        "stored": stored[i] if i < len(stored) else None,
                        "replayed": replayed[i] if i < len(replayed) else None,
                    }
                )
            else:
                out.extend(json_differences(stored[i], replayed[i], sub))
        return out
    if stored != replayed or type(stored) is not type(replayed):
        return [{"path": path or "(root)", "stored": stored, "replayed": replayed}]
    return []
