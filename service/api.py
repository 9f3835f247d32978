"""The HTTP endpoints: translate requests into `EvaluationService` calls and back.

Blocking work (the database, the engine) runs in worker threads: async handlers hand it to
`run_in_threadpool`, and plain `def` handlers already run there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.diagnostics import PackageError, PackageProblem, RubricError
from engine.model import Notice, Unit, WorkingGroup
from service.auth import ROLES, KeyCache, KeySpecError, Principal, create_key, forget_keys, now
from service.calibration import review_agreement
from service.errors import (
    ApiError,
    ErrorBody,
    forbidden,
    not_found,
    problems_from_errors,
    to_jsonable,
    unauthorized,
)
from service.evaluations import EvaluationService, invalid_package
from service.metrics import CONTENT_TYPE
from service.pool import EnginePool
from service.rubrics import Rubrics
from service.store import ApiKey, Store
from service.submission import DocumentIn, Submission, from_json_body, from_multipart

router = APIRouter()
v1 = APIRouter(prefix="/v1")

_JSON = "application/json"
_MAX_DOCUMENTS = 100


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(to_jsonable(body), status_code=status, headers=headers)


def _report(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A report already rendered by the engine (numbers with at most 2 decimals)."""
    return Response(text, status_code=status, media_type=_JSON, headers=headers)


def _service(request: Request) -> EvaluationService:
    service: EvaluationService = request.app.state.service
    return service


# -- authentication -----------------------------------------------------------------------


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


async def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` or `X-API-Key` (401 without a valid key)."""
    token = _token(request)
    if token is None:
        raise unauthorized()
    keys: KeyCache = request.app.state.keys
    # A key seen in the last seconds is answered on the event loop: no thread, no connection.
    principal = keys.cached(token)
    if principal is None:
        principal = await run_in_threadpool(keys.lookup, request.app.state.store, token)
    if principal is None:
        raise unauthorized()
    return principal


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only `roles` (403 for the others)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise forbidden(
                f"当前角色（{principal.role}）无权执行此操作，需要：{'、'.join(roles)}",
                f"role {principal.role} may not do this (needs: {', '.join(roles)})",
            )
        return principal

    return check


Anyone = Annotated[Principal, Depends(require(*ROLES))]
Scorer = Annotated[Principal, Depends(require("department", "reviewer"))]
Reviewer = Annotated[Principal, Depends(require("reviewer"))]
Verifier = Annotated[Principal, Depends(require("reviewer", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]
EvaluationId = Annotated[str, Path(max_length=64, description="the evaluation's id")]


def _responses(**codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses: `_<status>="description"`; errors (and 401, 403) name ErrorBody."""
    out: dict[int | str, dict[str, Any]] = {
        401: {"description": "no key, or an unknown or revoked key", "model": ErrorBody},
        403: {"description": "the key's role does not allow this", "model": ErrorBody},
        422: {"description": "invalid parameters, with field paths", "model": ErrorBody},
    }
    for name, description in codes.items():
        status = int(name.lstrip("_"))
        out[status] = {"description": description}
        if status >= 400:
            out[status]["model"] = ErrorBody
    return out


# -- evaluations ----------------------------------------------------------------------------


class EvaluationJSON(BaseModel):
    """The JSON body: the manifest's fields (docs/dossier-format.md) plus the documents."""

    model_config = ConfigDict(extra="forbid")

    department: str
    fiscal_year: int
    received_on: dt.date | None = None
    deadline: dt.date | None = None
    as_of: dt.date | None = None
    notice: Notice | None = None
    working_group: WorkingGroup | None = None
    units: list[Unit] | None = None
    attachments: list[str] | None = None
    documents: list[DocumentIn]


class PackageJSON(BaseModel):
    """Alternative JSON body: an already parsed package (the engine's `Package` as JSON)."""

    package: dict[str, Any]


_CREATE_BODY = {
    "required": True,
    "content": {
        _JSON: {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/EvaluationJSON"},
                    {"$ref": "#/components/schemas/PackageJSON"},
                ]
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["manifest", "documents"],
                "properties": {
                    "manifest": {"type": "string", "description": "the manifest TOML"},
                    "documents": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "the files the manifest lists, by file name",
                    },
                },
            }
        },
    },
}


async def _read_multipart(request: Request, limit: int) -> Submission:
    try:
        form = await request.form(
            max_files=_MAX_DOCUMENTS + 1, max_fields=_MAX_DOCUMENTS + 1, max_part_size=limit
        )
    except StarletteHTTPException as exc:  # a malformed multipart body
        raise ApiError(
            422,
            "invalid_request",
            "multipart 请求体格式错误",
            f"malformed multipart body: {exc.detail}",
        ) from None
    try:
        manifest: str | None = None
        part = form.get("manifest")
        if isinstance(part, UploadFile):
            raw = await part.read()
            try:
                manifest = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(
                    422, "invalid_package", "清单不是 UTF-8 文本", "the manifest is not UTF-8 text"
                ) from None
        elif isinstance(part, str):
            manifest = part
        documents: list[tuple[str, bytes]] = []
        for doc in form.getlist("documents"):
            if not isinstance(doc, UploadFile) or not doc.filename:
                raise ApiError(
                    422,
                    "invalid_package",
                    "documents 部分须为带文件名的文件",
                    "each `documents` part must be a file with a file name",
                )
            documents.append((doc.filename, await doc.read()))
        unknown = sorted(set(form.keys()) - {"manifest", "documents"})
        if unknown:
            raise ApiError(
                422,
                "invalid_package",
                f"未知的 multipart 部分：{', '.join(unknown)}",
                f"unknown multipart parts: {', '.join(unknown)}",
            )
        return from_multipart(manifest, documents)
    finally:
        await form.close()


@v1.post(
    "/evaluations",
    status_code=201,
    summary="Score a package and store the evaluation",
    openapi_extra={"requestBody": _CREATE_BODY},
    responses=_responses(
        _201="the automatic report, with the evaluation's `id`",
        _404="unknown rubric",
        _413="body over the size limit",
        _415="neither JSON nor multipart",
        _422="invalid package or parameters, with field paths in Chinese and English",
    ),
)
async def create_evaluation(
    request: Request,
    principal: Scorer,
    rubric: Annotated[
        str | None,
        Query(
            max_length=200,
            description="ID[@VERSION]; default: the one rubric covering the fiscal year",
        ),
    ] = None,
    mode: Annotated[Literal["bureau", "precheck"], Query()] = "bureau",
    as_of: Annotated[
        dt.date | None,
        Query(description="evaluation date; default: the manifest's as_of, then received_on"),
    ] = None,
) -> Response:
    """Score a package (JSON or multipart) and store it; answers the automatic report."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "multipart/form-data":
            submission = await _read_multipart(request, request.app.state.settings.max_body_bytes)
        elif content_type == _JSON or content_type.endswith("+json"):
            submission = from_json_body(await request.body())
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                "请以 application/json 或 multipart/form-data 提交",
                "send application/json or multipart/form-data",
            )
    except PackageError as exc:
        raise invalid_package(exc) from None
    service = _service(request)
    pool: EnginePool = request.app.state.pool
    # Scoring waits its turn in the bounded engine pool; storing (I/O) runs in the thread pool.
    scored = await pool.run(
        service.score, principal, submission, rubric_ref=rubric, mode=mode, as_of=as_of
    )
    # Storing goes to the process's writer (group commit); waiting for it holds no thread.
    event = await asyncio.wrap_future(service.submit_scored(scored))
    created = service.finish_created(scored, event)
    return _report(created.body, 201, {"Location": f"/v1/evaluations/{created.id}"})


@v1.get(
    "/evaluations",
    summary="List evaluations, newest first",
    responses=_responses(),
)
def list_evaluations(
    request: Request,
    principal: Anyone,
    department: Annotated[str | None, Query(max_length=200)] = None,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    rubric: Annotated[str | None, Query(max_length=200, description="ID or ID@VERSION")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="page size")] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=20, pattern=r"^\d+$", description="next_cursor of the previous page"),
    ] = None,
    withdrawn: Annotated[bool, Query(description="include withdrawn (撤回) evaluations")] = False,
) -> Response:
    """A page of evaluation summaries; department keys see their own department only."""
    settings = request.app.state.settings
    size = min(limit or settings.page_size, settings.max_page_size)
    page = _service(request).list(
        principal,
        department=department,
        fiscal_year=fiscal_year,
        rubric=rubric,
        limit=size,
        cursor=int(cursor) if cursor else None,
        withdrawn=withdrawn,
    )
    return _json(page)


@v1.get(
    "/evaluations/{evaluation_id}",
    summary="One evaluation: the current report (after adjustments) or the automatic one",
    responses=_responses(_404="unknown evaluation"),
)
def get_evaluation(
    request: Request,
    principal: Anyone,
    evaluation_id: EvaluationId,
    view: Annotated[Literal["current", "automatic"], Query()] = "current",
) -> Response:
    """The report with the evaluation's `id`."""
    return _report(_service(request).get(principal, evaluation_id, automatic=view == "automatic"))


class AdjustmentIn(BaseModel):
    """A reviewer's score for one discretionary clause."""

    model_config = ConfigDict(extra="forbid")

    clause: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    score: Annotated[Decimal, Field(ge=0, le=1000, allow_inf_nan=False)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    band: Annotated[
        str | None,
        StringConstraints(min_length=1, max_length=200),
        Field(description="the band's id; names the band where ranges overlap"),
    ] = None


@v1.post(
    "/evaluations/{evaluation_id}/adjustments",
    summary="Set a discretionary clause's score inside the rubric's band, with a reason",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/AdjustmentIn"}}},
        }
    },
    responses=_responses(
        _200="the recomputed report",
        _404="unknown evaluation",
        _422="outside every band (the bands are named), or no reason",
    ),
)
async def adjust_evaluation(
    request: Request, principal: Reviewer, evaluation_id: EvaluationId
) -> Response:
    """Apply an adjustment; the automatic assessment and every adjustment stay in the report."""
    raw = await request.body()
    try:
        # Numbers are read as Decimal from their text: a score never passes through a float.
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            422,
            "invalid_request",
            "JSON 格式错误",
            f"invalid JSON: {exc}",
            problems=[PackageProblem("(body)", "JSON 格式错误", f"invalid JSON: {exc}")],
        ) from None
    try:
        body = AdjustmentIn.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            422,
            "invalid_request",
            "调整请求校验未通过",
            "the adjustment is invalid",
            problems=problems_from_errors(exc.errors()),
        ) from None
    text = await run_in_threadpool(
        _service(request).adjust,
        principal,
        evaluation_id,
        clause=body.clause,
        score=body.score,
        reason=body.reason,
        band=body.band,
    )
    return _report(text)


class WithdrawalIn(BaseModel):
    """Why an evaluation is withdrawn (撤回)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@v1.post(
    "/evaluations/{evaluation_id}/withdraw",
    summary="Withdraw (撤回) an evaluation, with a reason: out of the season views, kept in the audit chain",
    responses=_responses(
        _200="the evaluation's summary, with `withdrawn`",
        _404="unknown evaluation",
        _409="already withdrawn",
        _422="no reason",
    ),
)
def withdraw_evaluation(
    request: Request, principal: Verifier, evaluation_id: EvaluationId, body: WithdrawalIn
) -> Response:
    """Nothing is deleted: the report stays readable and the withdrawal is an audit event."""
    return _json(_service(request).withdraw(principal, evaluation_id, reason=body.reason))


@v1.get(
    "/evaluations/{evaluation_id}/audit",
    summary="The evaluation's audit events, with the hash chain",
    responses=_responses(_404="unknown evaluation"),
)
def audit_evaluation(request: Request, principal: Anyone, evaluation_id: EvaluationId) -> Response:
    """Events created / adjusted / replayed, each with actor, time, rubric and hashes."""
    return _json(_service(request).audit(principal, evaluation_id))


@v1.post(
    "/evaluations/{evaluation_id}/replay",
    summary="Re-run the stored package under the stored rubric snapshot",
    responses=_responses(
        _200="`reproduced`, and the difference when it is false", _404="unknown evaluation"
    ),
)
def replay_evaluation(
    request: Request, principal: Verifier, evaluation_id: EvaluationId
) -> Response:
    """Byte-for-byte comparison with the stored automatic report."""
    return _json(_service(request).replay(principal, evaluation_id))


@v1.get(
    "/calibration",
    summary="How often reviewers kept each discretionary clause's automatic band",
    responses=_responses(),
)
def calibration(
    request: Request,
    principal: Anyone,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    """Per rubric version and clause: reviewed evaluations, bands kept, and where they moved."""
    found = review_agreement(_service(request), principal, fiscal_year)
    return _json({"fiscal_year": fiscal_year, "clauses": [c.as_json() for c in found]})


# -- rubrics --------------------------------------------------------------------------------


def _rubric_not_found(rubric_id: str, version: str) -> ApiError:
    return not_found(f"评分表 {rubric_id}@{version}", f"rubric {rubric_id}@{version}")


@v1.get("/rubrics", summary="Rubric versions on disk", responses=_responses())
def list_rubrics(request: Request, principal: Anyone) -> Response:
    """Every version: id, version, fiscal years, title and sha256 (or its compile errors)."""
    rubrics: Rubrics = request.app.state.rubrics
    out = []
    for found in rubrics.versions():
        entry: dict[str, Any] = {
            "id": found.id,
            "version": found.version,
            "fiscal_years": list(found.fiscal_years),
            "published": found.published,
        }
        try:
            rubric = rubrics.get(found.path)
            entry |= {"title": rubric.spec.title, "sha256": rubric.sha256, "compiles": True}
        except RubricError as exc:
            entry |= {"compiles": False, "diagnostics": [d.render() for d in exc.diagnostics]}
        entry["href"] = f"/v1/rubrics/{found.id}/versions/{found.version}"
        out.append(entry)
    return _json({"items": out})


class PublishIn(BaseModel):
    """The staged version to publish."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[str, StringConstraints(min_length=1, max_length=100)]


@v1.post(
    "/rubrics/{rubric_id}/publish",
    summary="Publish a staged rubric version: from now on it may serve as a default",
    responses=_responses(
        _200="the version, published, and the audit event recording who published it",
        _404="unknown rubric version",
        _409="the version does not compile or its case suites fail",
    ),
)
def publish_rubric(
    request: Request,
    principal: Admin,
    rubric_id: Annotated[str, Path(max_length=100)],
    body: PublishIn,
) -> Response:
    """Record the version's sha256 in published.lock (immutable after), then reload."""
    from service.publish import publish_version

    return _json(publish_version(request.app.state.service, principal, rubric_id, body.version))


@v1.get(
    "/rubrics/{rubric_id}/versions/{version}",
    summary="One rubric version: metadata, sha256 and TOML source",
    responses=_responses(_404="unknown rubric version", _503="the rubric does not compile"),
)
def get_rubric(
    request: Request,
    principal: Anyone,
    rubric_id: Annotated[str, Path(max_length=100)],
    version: Annotated[str, Path(max_length=100)],
) -> Response:
    """The version's metadata, rule sets and TOML."""
    rubrics: Rubrics = request.app.state.rubrics
    try:
        rubric = rubrics.version(rubric_id, version)
    except RubricError as exc:
        if any(d.code == "JX013" for d in exc.diagnostics):
            raise _rubric_not_found(rubric_id, version) from None
        raise ApiError(
            503,
            "rubric_invalid",
            "评分表无法编译",
            "the rubric does not compile",
            extra={"diagnostics": [d.render() for d in exc.diagnostics]},
        ) from None
    spec = rubric.spec
    return _json(
        {
            "id": spec.id,
            "version": spec.version,
            "title": spec.title,
            "issuer": spec.issuer,
            "fiscal_years": spec.fiscal_years,
            "effective_from": spec.effective_from.isoformat() if spec.effective_from else None,
            "total": spec.total,
            "sha256": rubric.sha256,
            "rule_sets": [
                {"id": r.id, "version": r.version, "sha256": r.sha256} for r in rubric.rule_sets
            ],
            "source": rubric.source,
        }
    )


# -- keys -----------------------------------------------------------------------------------


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["department", "reviewer", "admin"]
    department: Annotated[str | None, StringConstraints(max_length=200)] = None
    name: Annotated[str | None, StringConstraints(max_length=200)] = None


def _key_json(row: ApiKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "role": row.role,
        "department": row.department,
        "name": row.name,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "revoked_at": row.revoked_at,
    }


@v1.post(
    "/keys",
    status_code=201,
    summary="Create an API key (shown once)",
    responses=_responses(_422="invalid role or department"),
)
def create_api_key(request: Request, principal: Admin, body: KeyIn) -> Response:
    """The new key's text appears in this answer only."""
    store: Store = request.app.state.store
    try:
        with store.write() as session:
            row, token = create_key(
                session,
                role=body.role,
                department=body.department,
                name=body.name,
                created_by=principal.key,
            )
            out = _key_json(row) | {"key": token}
    except KeySpecError as exc:
        raise ApiError(422, "invalid_key", "无法创建密钥：" + str(exc), str(exc)) from None
    return _json(out, 201)


@v1.get("/keys", summary="List API keys (never their secrets)", responses=_responses())
def list_api_keys(request: Request, principal: Admin) -> Response:
    """Every key, newest first."""
    store: Store = request.app.state.store
    with store.read() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))
        return _json({"items": [_key_json(r) for r in rows]})


@v1.delete(
    "/keys/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    responses=_responses(_404="unknown key"),
)
def revoke_api_key(
    request: Request, principal: Admin, key_id: Annotated[str, Path(max_length=32)]
) -> Response:
    """The key stops working at once; its row stays (audit events name it)."""
    store: Store = request.app.state.store
    with store.write() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise not_found(f"密钥 {key_id}", f"key {key_id}")
        if row.revoked_at is None:
            row.revoked_at = now()
    forget_keys()  # this process stops accepting it at once (others within the cache's TTL)
    return Response(status_code=204)


# -- health ---------------------------------------------------------------------------------


@router.get("/healthz", summary="The process is alive")
def healthz() -> Response:
    """Always 200 while the process serves requests."""
    return _json({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database answers and the rubrics are loaded",
    responses={503: {"description": "not ready: see `database` and `rubric_errors`"}},
)
def readyz(request: Request) -> Response:
    """200 when ready, else 503 saying what is missing."""
    store: Store = request.app.state.store
    rubrics: Rubrics = request.app.state.rubrics
    try:
        store.ping()
        database = "ok"
    except Exception as exc:  # any driver error means "not ready", whatever its class
        database = f"error: {type(exc).__name__}"
    loaded, failed = rubrics.status()
    # A refused edit does not make the service unready: the last good version keeps serving.
    ready = database == "ok" and bool(loaded)
    body = {
        "status": "ready" if ready else "not ready",
        "database": database,
        "rubrics": loaded,
        "rubric_errors": failed,
    }
    return _json(body, 200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request latency, evaluations, deductions by rule id, adjustments, replays."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)


@v1.post(
    "/rubrics/reload",
    summary="Reload rubrics from disk: lint and run case suites; only passing versions go live",
    responses=_responses(_200="`loaded`, `rejected` (with diagnostics), `changed`"),
)
async def reload_rubrics(request: Request, principal: Admin) -> Response:
    """The same reload the file watcher runs; refused versions keep their last good version."""
    rubrics: Rubrics = request.app.state.rubrics
    result = await run_in_threadpool(rubrics.reload)
    return _json({"loaded": result.loaded, "rejected": result.rejected, "changed": result.changed})


@v1.get(
    "/rubrics/diff",
    summary="What-if: rule-level changes between two versions, and stored packages re-scored",
    responses=_responses(_404="unknown rubric version", _422="a version is missing"),
)
async def diff_rubrics(
    request: Request,
    principal: Verifier,
    old: Annotated[str, Query(max_length=200, description="ID@VERSION")],
    new: Annotated[str, Query(max_length=200, description="ID@VERSION")],
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Per stored package: the score under each version, the delta and the rules that caused it."""
    from service.whatif import whatif

    result = await run_in_threadpool(
        whatif, _service(request), old, new, fiscal_year=fiscal_year, limit=limit
    )
    return _json(result)


@v1.get(
    "/evaluations/{evaluation_id}/sheet.{fmt}",
    summary="The printable score sheet: .xlsx, .docx or .pdf",
    response_class=Response,
    responses=_responses(_404="unknown evaluation or format"),
)
async def evaluation_sheet(
    request: Request,
    principal: Anyone,
    evaluation_id: EvaluationId,
    fmt: Annotated[Literal["xlsx", "docx", "pdf"], Path(description="xlsx, docx or pdf")],
) -> Response:
    """The current report (after adjustments) as a sheet to print and sign."""
    from engine.export import MEDIA_TYPES, sheet_bytes
    from service.evaluations import parse_report

    text = _service(request).get(principal, evaluation_id)
    content = await run_in_threadpool(
        sheet_bytes, parse_report(text), fmt, request.app.state.settings.timezone
    )
    filename = f"jixiao-{evaluation_id}.{fmt}"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


router.include_router(v1)


def body_schemas() -> dict[str, Any]:
    """JSON schemas of the bodies handlers parse themselves (so that the OpenAPI names them)."""
    out: dict[str, Any] = {}
    for model in (EvaluationJSON, PackageJSON, AdjustmentIn):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out
