"""What each endpoint does, as plain synchronous functions (the app runs them in worker threads).

Each is one engine call plus persistence: score and store, read, adjust, list, audit, replay.
An evaluation is stored with its `created` event in one transaction; nothing is acknowledged
before that transaction commits.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.adjust import Adjustment, AdjustmentError, apply_adjustment
from engine.decimals import plain, q2
from engine.diagnostics import CalendarError, PackageError, PackageProblem, RubricError
from engine.evaluate import Evaluator, render_json
from engine.labels import local_time
from engine.rubric.model import Rubric
from service import audit
from service.auth import Principal, now
from service.backend import engine_errors
from service.errors import ApiError, forbidden, not_found
from service.groupcommit import GroupCommit, Pending, evaluation_row
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


def with_id(evaluation_id: str, text: str) -> str:
    """The report as the API returns it: the evaluation's `id` first, then the report.

    The same bytes as `render_json({"id": evaluation_id, **report})`, spliced into the report
    as rendered instead of parsing and rendering it again.
    """
    if not text.startswith("{\n"):  # not a rendered, non-empty object: render it again
        return render_json({"id": evaluation_id, **parse_report(text)})
    return '{\n  "id": ' + json.dumps(evaluation_id, ensure_ascii=False) + "," + text[1:]


class _Snapshots:
    """Each rubric version's snapshot, its stored body and id, built once per process.

    `snapshot_of` reads and hashes every rule file; a compiled rubric never changes, so its
    snapshot is kept, keyed by the rubric's content hash and the names its sources show
    (the same content read from another folder is another snapshot). A rubric edited on disk
    compiles to another sha256 and so to another entry.
    """

    LIMIT = 64  # rubric versions in use at once are a handful; old ones fall out

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[Snapshot, str, str]] = {}
        self._lock = threading.Lock()

    def get(self, rubric: Rubric) -> tuple[Snapshot, str, str]:
        """(snapshot, body, snapshot id = sha256 of the body)."""
        # The snapshot names its sources as the compiled rules and bands show them.
        shown = {r.source.rpartition(":")[0] for r in rubric.rules}
        shown |= {b.source.rpartition(":")[0] for b in rubric.bands}
        key = (rubric.sha256, str(rubric.path), *sorted(shown))
        with self._lock:
            found = self._entries.get(key)
        if found is not None:
            return found
        snapshot = snapshot_of(rubric)
        body = snapshot.body()
        entry = (snapshot, body, audit.sha256_text(body))
        with self._lock:
            if len(self._entries) >= self.LIMIT:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = entry
        return entry


def invalid_package(exc: PackageError) -> ApiError:
    """422 naming the file at fault (the manifest or a document) and every problem in it."""
    # "request" is the JSON body itself: its problems' paths already say where.
    named = "" if exc.file == "request" else exc.file
    return ApiError(
        422,
        "invalid_package",
        "提交的材料无法读取或校验未通过" + (f"：{named}" if named else ""),
        "the package cannot be read or is invalid" + (f": {named}" if named else ""),
        problems=exc.problems,
        extra={"file": named} if named else {},
    )


def unprocessable(exc: Exception, stage: str) -> ApiError:
    """500 for an engine failure while reading or scoring a package: logged with its traceback.

    Bad input is refused as PackageError (422) before this; anything else the engine raises is
    the engine's fault (or the bureau's files'), never the department's: the client gets a 500
    and the request id, the log gets the traceback.
    """
    get_logger().error(
        "evaluation.engine_failed", stage=stage, error=type(exc).__name__, exc_info=exc
    )
    return ApiError(
        500,
        "engine_failed",
        "评分引擎内部错误，与所交材料无关（已记录，请凭 request_id 联系管理员）",
        f"the engine failed to {stage} this package; not the package's fault (logged; quote the request_id)",
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
        "withdrawn": _withdrawn(ev),
    }


def _withdrawn(ev: Evaluation) -> dict[str, str] | None:
    if ev.withdrawn_at is None:
        return None
    return {"at": ev.withdrawn_at, "reason": ev.withdrawn_reason or ""}


def _refuse_withdrawn(ev: Evaluation, tz: str | None) -> None:
    if ev.withdrawn_at is not None:
        raise ApiError(
            409,
            "withdrawn",
            f"该评价已于 {local_time(ev.withdrawn_at, tz)} 撤回，不能再修改",
            f"the evaluation was withdrawn at {ev.withdrawn_at}",
        )


@dataclass(frozen=True)
class Created:
    """A stored evaluation: its id and the response body."""

    id: str
    body: str


@dataclass(frozen=True)
class Scored:
    """A scored package ready to store: the row, the snapshot and the event's payload."""

    principal: Principal
    evaluation: Evaluation
    snapshot: Snapshot
    snapshot_body: str
    payload: dict[str, Any]
    rubric_ref: str
    rules: list[str]


class EvaluationService:
    """The endpoints' work, over one store, rubric catalogue, evaluator and metrics."""

    def __init__(
        self,
        store: Store,
        rubrics: Rubrics,
        evaluator: Evaluator,
        metrics: Metrics,
        *,
        timezone: str | None = None,
    ) -> None:
        self.timezone = timezone  # of the times in messages people read (JIXIAO_TIMEZONE)
        self.store = store
        self.rubrics = rubrics
        self.evaluator = evaluator
        self.metrics = metrics
        self.snapshots = _Snapshots()
        self.writer = GroupCommit(store)  # stores new evaluations, several per transaction

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
        return self.store_scored(
            self.score(
                principal,
                submission,
                rubric_ref=rubric_ref,
                mode=mode,
                as_of=as_of,
                evaluation_id=evaluation_id,
            )
        )

    def score(
        self,
        principal: Principal,
        submission: Submission,
        *,
        rubric_ref: str | None,
        mode: Mode,
        as_of: dt.date | None,
        evaluation_id: str | None = None,
    ) -> Scored:
        """The CPU-bound half of `create`: read, score, render and hash; nothing stored."""
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
            package = submission.package(dossier, rubric.layout)
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
        snapshot, snapshot_body, snapshot_id = self.snapshots.get(rubric)
        total = report["total"]
        # Everything the rows need is computed here, before any transaction opens, so that
        # the write lock (SQLite) and the chain lock (taken last, in audit.append) are held
        # only for the inserts.
        package_json = submission.to_json()
        payload = {
            "decision_id": report["decision_id"],
            "mode": mode,
            "as_of": when.isoformat(),
            "department": dossier.department,
            "fiscal_year": dossier.fiscal_year,
            "total": plain(q2(total["score"])),
            "package_sha256": audit.sha256_text(package_json),
            "report_sha256": audit.sha256_text(text),
            "snapshot_sha256": snapshot_id,
        }
        evaluation = Evaluation(
            id=evaluation_id or str(uuid.uuid4()),
            decision_id=report["decision_id"],
            department=dossier.department,
            fiscal_year=dossier.fiscal_year,
            rubric_id=rubric.spec.id,
            rubric_version=rubric.spec.version,
            rubric_sha256=rubric.sha256,
            snapshot_id=snapshot_id,
            mode=mode,
            as_of=when,
            created_by=principal.key,
            total_max=plain(q2(total["max"])),
            automatic_score=plain(q2(total["score"])),
            score=plain(q2(total["score"])),
            adjustments=0,
            package=package_json,
            automatic_report=text,
            report=None,  # the automatic report is the current one until adjusted
        )
        return Scored(
            principal,
            evaluation,
            snapshot,
            snapshot_body,
            payload,
            rubric.ref,
            _deduction_rules(report),
        )

    def submit_scored(self, scored: Scored) -> Future[Event]:
        """Hand a scored package to the process's writer (group commit); the future's event.

        Its rows and `created` event are stored together with other requests' in one
        transaction (service.groupcommit); the future completes once that has committed.
        """
        evaluation, snapshot = scored.evaluation, scored.snapshot
        rubric_key = (evaluation.rubric_id, evaluation.rubric_version, evaluation.rubric_sha256)
        return self.writer.submit(
            Pending(
                event=audit.NewEvent(
                    evaluation.id,
                    scored.principal.actor,
                    rubric_key,
                    audit.canonical(scored.payload),
                ),
                row=evaluation_row(evaluation),
                snapshot={
                    "id": evaluation.snapshot_id,
                    "rubric_sha256": snapshot.sha256,
                    "rubric_id": snapshot.rubric_id,
                    "version": snapshot.version,
                    "title": snapshot.title,
                    "body": scored.snapshot_body,
                },
            )
        )

    def finish_created(self, scored: Scored, event: Event) -> Created:
        """After the commit: count, log and answer a stored evaluation."""
        evaluation = scored.evaluation
        evaluation_id = evaluation.id
        evaluation.created_at = event.at
        mode = evaluation.mode
        self.metrics.evaluations.labels(rubric=scored.rubric_ref, mode=mode).inc()
        for rule in scored.rules:
            self.metrics.deductions.labels(rule=rule).inc()
        get_logger().info(
            "evaluation.completed",
            evaluation_id=evaluation_id,
            decision_id=evaluation.decision_id,
            rubric=scored.rubric_ref,
            rubric_sha256=evaluation.rubric_sha256,
            mode=mode,
            total=evaluation.score,
            total_max=evaluation.total_max,
            deductions=scored.rules,
        )
        return Created(evaluation_id, with_id(evaluation_id, evaluation.automatic_report))

    def store_scored(self, scored: Scored) -> Created:
        """The storing half of `create`: the rows and the `created` event, committed."""
        # Committed before this returns: only then is the evaluation acknowledged.
        return self.finish_created(scored, self.submit_scored(scored).result())

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
            # 404, not 403: another department must not learn that the evaluation exists.
            raise not_found(f"评价 {evaluation_id}", f"evaluation {evaluation_id}")
        return ev

    def get(self, principal: Principal, evaluation_id: str, *, automatic: bool = False) -> str:
        """The current report (after adjustments), or the automatic one."""
        with self.store.read() as session:
            ev = self._load(session, principal, evaluation_id)
            text = ev.automatic_report if automatic else ev.current_report
        return with_id(evaluation_id, text)

    def list(
        self,
        principal: Principal,
        *,
        department: str | None,
        fiscal_year: int | None,
        rubric: str | None,
        limit: int,
        cursor: int | None,
        withdrawn: bool = False,
    ) -> dict[str, Any]:
        """One page of evaluations, newest first; `next_cursor` continues.

        Withdrawn evaluations are left out unless `withdrawn` is true.
        """
        if principal.role == "department":
            if department is not None and department != principal.department:
                raise forbidden(
                    "部门密钥只能查看本部门的评价", "a department key reads only its own"
                )
            department = principal.department
        query = select(Evaluation).order_by(Evaluation.seq.desc())
        if not withdrawn:
            query = query.where(Evaluation.withdrawn_at.is_(None))
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
        self,
        principal: Principal,
        evaluation_id: str,
        *,
        clause: str,
        score: Decimal,
        reason: str,
        band: str | None = None,
    ) -> str:
        """Apply a reviewer's score to a discretionary clause; the recomputed report."""
        if principal.role != "reviewer":
            raise forbidden("只有复核人员可以调整酌情分", "only reviewer keys adjust scores")
        with self.store.write() as session:
            # Lock the evaluation's lane, then read inside the write transaction: two
            # reviewers never overwrite each other's adjustment.
            audit.lock(session, audit.lane_for(session, evaluation_id))
            ev = self._load(session, principal, evaluation_id)
            _refuse_withdrawn(ev, self.timezone)
            snapshot_row = session.get(RubricSnapshot, ev.snapshot_id)
            if snapshot_row is None:
                raise ApiError(500, "snapshot_missing", "评分表快照缺失", "rubric snapshot missing")
            rubric = self._snapshot_rubric(Snapshot.from_body(snapshot_row.body))
            at = now()
            before = parse_report(ev.current_report)
            try:
                after = apply_adjustment(
                    before,
                    rubric,
                    Adjustment(
                        clause, score, reason, f"{principal.name} [{principal.key}]", at, band
                    ),
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
        return with_id(evaluation_id, text)

    # -- withdraw ---------------------------------------------------------------------------

    def withdraw(self, principal: Principal, evaluation_id: str, *, reason: str) -> dict[str, Any]:
        """Withdraw (撤回) an evaluation: it leaves the season views; nothing is deleted.

        The row keeps its package and reports, and a `withdrawn` event with the reason joins
        the audit chain, so `audit verify` still checks everything.
        """
        if principal.role not in ("reviewer", "admin"):
            raise forbidden("只有复核人员或管理员可以撤回评价", "only reviewer or admin keys withdraw")
        with self.store.write() as session:
            # The evaluation's lane, as for adjustments: one withdrawal wins, the other is refused.
            audit.lock(session, audit.lane_for(session, evaluation_id))
            ev = self._load(session, principal, evaluation_id)
            _refuse_withdrawn(ev, self.timezone)
            at = now()
            ev.withdrawn_at = at
            ev.withdrawn_reason = reason
            audit.append(
                session,
                evaluation_id=evaluation_id,
                kind="withdrawn",
                actor=principal.actor,
                at=at,
                rubric=(ev.rubric_id, ev.rubric_version, ev.rubric_sha256),
                payload={"reason": reason, "score": ev.score},
            )
            summary = _summary(ev)
        get_logger().info("evaluation.withdrawn", evaluation_id=evaluation_id)
        return summary

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
                    select(Event)
                    .where(Event.evaluation_id == ev.id)
                    .order_by(Event.lane, Event.seq)
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
            package = Submission.from_json(package_json).package(layout=rubric.layout)
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
    """422 naming the field at fault and the bands the rubric allows for the clause."""
    return ApiError(
        422,
        "adjustment_refused",
        exc.message,
        exc.en,
        problems=[PackageProblem(exc.field, exc.message, exc.en)],
        extra={"clause": clause, "bands": exc.bands},
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
