"""The pages: each handler reads the session, calls the service, and renders a template.

Errors the service raises (`ApiError`: 403, 404, 422 …) become an HTML page with the same
Chinese message, or, on a form, messages next to the fields. Blocking work (database, engine,
export) runs in worker threads, as in the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import labels
from engine.decimals import plain, q2
from engine.diagnostics import PackageError, RubricError
from engine.rubric.model import Rubric
from service.auth import Principal
from service.calibration import review_agreement
from service.errors import ApiError, forbidden, not_found
from service.evaluations import EvaluationService, invalid_package, parse_report
from service.logs import get_logger
from service.rubrics import Snapshot, snapshot_of
from service.store import Evaluation, RubricSnapshot
from service.web import charts, season, sheet, upload
from service.web.evidence import describe, excerpt
from service.web.rubric_view import CHANGE_ZH, WHAT_ZH, rule_anchor, source_files
from service.web.session import COOKIE, Sessions, SignedIn

ROLE_ZH = labels.ROLES
_MAX_FILES = 100
_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # score sheets are not for shared caches or the back button
}


def num(value: Any) -> str:
    """A score as the sheet prints it: at most 2 decimals, no trailing zeros."""
    if value is None or value == "":
        return "—"
    try:
        return plain(q2(Decimal(str(value))))
    except InvalidOperation:
        return str(value)


def signal(value: Any) -> str:
    """An assessment signal's value, in Chinese for booleans."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


class Web:
    """The pages' shared state: templates, sessions, and the overview's report digests."""

    def __init__(self, templates: Path, sessions: Sessions, tz: str | None = None) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a typo in a template fails a test, not a page
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["num"] = num
        self.env.filters["signal"] = signal
        self.env.filters["local_time"] = lambda value: labels.local_time(value, tz)
        self.env.globals.update(
            ROLE_ZH=ROLE_ZH,
            MODE_ZH=sheet.MODE_ZH,
            ASSESSMENT_ZH=sheet.ASSESSMENT_ZH,
            SEVERITY_ZH=sheet.SEVERITY_ZH,
            STATUSES=season.STATUSES,
            FACT_ZH=labels.FACTS,
            WARNING_ZH=labels.IMPORT_WARNINGS,
            ZONE_ZH=labels.zone_label(tz),
            RUBRIC_STATES=labels.RUBRIC_STATES,
            CHANGE_ZH=CHANGE_ZH,
            WHAT_ZH=WHAT_ZH,
            rule_anchor=rule_anchor,
            quote=quote,
        )
        self.sessions = sessions
        self.digests = season.DigestCache()


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


def _web(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def _service(request: Request) -> EvaluationService:
    service: EvaluationService = request.app.state.service
    return service


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with the signed-in user, the CSRF token and the security headers."""
    web = _web(request)
    signed: SignedIn | None = getattr(request.state, "signed", None)
    html = web.env.get_template(template).render(
        me=signed.principal if signed else None,
        csrf=web.sessions.csrf(signed.cookie) if signed else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=http_status, headers=_HEADERS)


def _error_page(
    request: Request, status: int, zh: str, detail: list[str] | None = None
) -> Response:
    return render(
        request, "error.html", status, status_code=status, message=zh, detail=detail or []
    )


class WebRoute(APIRoute):
    """Routes whose errors are pages: a sign-in redirect, or the service's message as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(
                    "/web/login?" + urlencode({"next": target}), status_code=303
                )
            except ApiError as exc:
                detail = [f"{p.path}：{p.zh}" for p in exc.problems]
                return _error_page(request, exc.status, exc.zh, detail)
            except RequestValidationError as exc:
                detail = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
                return _error_page(request, 422, "请求参数不正确", detail)
            except StarletteHTTPException as exc:  # e.g. a malformed multipart body
                return _error_page(request, exc.status_code, "请求无法处理", [str(exc.detail)])

        return page


router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)


def signed_in(request: Request) -> SignedIn:
    """The session, or SignInRequired (→ the sign-in page)."""
    signed = _web(request).sessions.check(request.cookies.get(COOKIE))
    if signed is None:
        raise SignInRequired()
    request.state.signed = signed
    return signed


Session = Annotated[SignedIn, Depends(signed_in)]
EvaluationId = Annotated[str, PathParam(max_length=64)]


def need(principal: Principal, *roles: str) -> None:
    """403 unless the principal's role is one of `roles` (the API's rule, in words for people)."""
    if principal.role not in roles:
        needed = "、".join(ROLE_ZH.get(r, r) for r in roles)
        raise forbidden(
            f"当前角色（{ROLE_ZH.get(principal.role, principal.role)}）无权执行此操作，需要：{needed}",
            f"role {principal.role} may not do this (needs: {', '.join(roles)})",
        )


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise forbidden("跨站提交被拒绝", "cross-site form post refused")


async def posted(request: Request, signed: SignedIn) -> FormData:
    """A posted form of this session (same origin, with the session's CSRF token)."""
    _same_origin(request)
    limit = request.app.state.settings.max_body_bytes
    form = await request.form(
        max_files=_MAX_FILES, max_fields=_MAX_FILES + 200, max_part_size=limit
    )
    token = form.get("csrf")
    if not _web(request).sessions.csrf_ok(signed.cookie, token if isinstance(token, str) else None):
        await form.close()
        raise forbidden("表单已过期，请刷新页面后重试", "missing or stale CSRF token")
    return form


def _safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (`//host`) or a scheme."""
    if target and target.startswith("/web/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/web/"


# -- sign-in --------------------------------------------------------------------------------


@router.get("/login")
def login_form(
    request: Request, next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    signed = _web(request).sessions.check(request.cookies.get(COOKIE))
    if signed is not None:
        return RedirectResponse(_safe_next(next_path), status_code=303)
    return render(request, "login.html", next=_safe_next(next_path), error="")


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key; on success set the session cookie (the key itself is never stored)."""
    _same_origin(request)
    form = await request.form(max_files=0, max_fields=10)
    key = form.get("key")
    target = form.get("next")
    next_path = _safe_next(target if isinstance(target, str) else None)
    result = None
    if isinstance(key, str) and key.strip():
        result = await run_in_threadpool(_web(request).sessions.sign_in, key)
    if result is None:
        error = "密钥无效或已被吊销" if isinstance(key, str) and key.strip() else "请输入 API 密钥"
        return render(request, "login.html", 401, next=next_path, error=error)
    principal, cookie = result
    get_logger().info("web.signed_in", key=principal.key, role=principal.role)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=_web(request).sessions.lifetime,
        path="/web",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, signed: Session) -> Response:
    """End the session (the cookie is dropped; the key itself stays valid)."""
    form = await posted(request, signed)
    await form.close()
    response = RedirectResponse("/web/login", status_code=303)
    response.delete_cookie(COOKIE, path="/web", httponly=True, samesite="strict")
    return response


# -- season overview ------------------------------------------------------------------------


def _query(params: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


@router.get("/")
def overview(
    request: Request,
    signed: Session,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    rubric: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    sort: Annotated[str, Query(max_length=20)] = "created",
    order: Annotated[Literal["asc", "desc"], Query(alias="dir")] = "desc",
    sampled: Annotated[bool, Query()] = False,
) -> Response:
    """Every evaluation of a fiscal year, filtered and sorted, with the two charts."""
    principal = signed.principal
    service = _service(request)
    web = _web(request)
    years = season.fiscal_years(service, principal)
    chosen = year if year is not None else (years[0] if years else None)
    page = request.app.state.settings.max_page_size
    rows = (
        season.season_rows(service, principal, chosen, web.digests, page)
        if chosen is not None
        else []
    )
    if principal.role == "department":
        department = principal.department
    status = status if status in season.STATUSES else None
    sort = sort if sort in season.SORTS else "created"
    sample_ids = _sample_ids(request, principal, chosen)  # the year's newest 抽查 draw (#15)
    if sampled:
        rows = [r for r in rows if r.id in sample_ids]
    shown = season.sort_rows(
        season.filter_rows(rows, department=department, rubric=rubric, status=status),
        sort,
        order == "desc",
    )
    base = {
        "year": chosen,
        "department": department,
        "rubric": rubric,
        "status": status,
        "sampled": "true" if sampled else None,
    }
    headers = []
    for key, label in season.SORTS.items():
        flip = "asc" if key == sort and order == "desc" else "desc"
        headers.append(
            {
                "key": key,
                "label": label,
                "href": "?" + _query(base | {"sort": key, "dir": flip}),
                "aria": ("descending" if order == "desc" else "ascending") if key == sort else None,
            }
        )
    costs = season.costly_rules(shown)
    return render(
        request,
        "overview.html",
        years=years,
        year=chosen,
        department=department or "",
        rubric=rubric or "",
        status=status or "",
        departments=sorted({r.department for r in rows}),
        rubric_refs=sorted({r.rubric for r in rows}),
        rows=shown,
        total_rows=len(rows),
        headers=headers,
        counts={k: sum(1 for r in shown if k in r.statuses) for k in season.STATUSES},
        bins=season.distribution(shown),
        histogram=charts.histogram(season.distribution(shown)),
        costs=costs,
        rule_chart=charts.rule_bars(costs),
        reviews=review_agreement(service, principal, chosen) if chosen is not None else [],
        sample_ids=sample_ids,
        sampled=sampled,
        batches=_running_batches(request, principal),
    )


def _running_batches(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """Batches still being scored, for the progress bars (reviewers and admins)."""
    from service.batches import running_batches

    if principal.role not in ("reviewer", "admin"):
        return []
    return running_batches(_service(request).store)


def _sample_ids(request: Request, principal: Principal, year: int | None) -> set[str]:
    """The evaluations in the year's newest 抽查 sample (reviewers and admins see it)."""
    from service.sampling import latest_sample

    if year is None or principal.role not in ("reviewer", "admin"):
        return set()
    with _service(request).store.read() as session:
        found = latest_sample(session, year)
    return set(found["drawn"]) if found else set()


@router.get("/seasons/{year}/results.{fmt}")
def season_results_file(
    request: Request,
    signed: Session,
    year: Annotated[int, PathParam(ge=2000, le=2100)],
    fmt: Literal["xlsx", "pdf"],
) -> Response:
    """The results table (考核结果汇总表) for reviewers and admins signed in to the workbench."""
    from engine.export.summary import SUMMARY_MEDIA_TYPES, results_table, summary_bytes
    from service.season_api import season_reports

    need(signed.principal, "reviewer", "admin")
    entries = season_reports(_service(request).store, year)
    if not entries:
        raise ApiError(404, "not_found", f"{year} 年度没有评价", f"no evaluations for {year}")
    return Response(
        summary_bytes(results_table(entries), fmt),
        media_type=SUMMARY_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="results-{year}.{fmt}"'},
    )


# -- upload ---------------------------------------------------------------------------------


def _choices(service: EvaluationService) -> dict[str, Any]:
    """What the forms offer: live rubric versions, and the rubrics' own notice elements and unit kinds."""
    versions = sorted(
        service.rubrics.live_versions(), key=lambda v: (v.id, v.version), reverse=True
    )
    elements: list[str] = []
    kinds: list[str] = []
    for v in versions:
        try:
            parameters = service.rubrics.get(v.path).parameters
        except RubricError:
            continue
        for value, out in (
            (parameters.get("notice_elements"), elements),
            (parameters.get("unit_kinds"), kinds),
        ):
            for x in value if isinstance(value, list) else []:
                if str(x) not in out:
                    out.append(str(x))
    return {
        "rubric_choices": [
            {"ref": f"{v.id}@{v.version}", "years": list(v.fiscal_years)} for v in versions
        ],
        "elements": elements,
        "unit_kinds": kinds,
        "unit_rows": upload.UNIT_ROWS,
    }


def _upload_page(
    request: Request,
    status: int = 200,
    *,
    kind: str = "file",
    values: dict[str, Any] | None = None,
    errors: upload.FormErrors | None = None,
) -> Response:
    principal: Principal = request.state.signed.principal
    defaults: dict[str, Any] = {"department": principal.department or "", "mode": "bureau"}
    return render(
        request,
        "upload.html",
        status,
        kind=kind,
        values=defaults | (values or {}),
        errors=errors or upload.FormErrors(),
        labels=upload.LABELS,
        **_choices(_service(request)),
    )


@router.get("/upload")
def upload_form(request: Request, signed: Session) -> Response:
    """The two ways to hand in a package."""
    need(signed.principal, "department", "reviewer")
    return _upload_page(request)


@router.post("/upload")
async def upload_package(request: Request, signed: Session) -> Response:
    """Score a package through `EvaluationService.create`; errors stand next to their fields."""
    need(signed.principal, "department", "reviewer")
    form = await posted(request, signed)
    try:
        kind = "fields" if form.get("form_kind") == "fields" else "file"
        values: dict[str, Any] = {
            k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"
        }
        values["notice_elements"] = [
            v for v in form.getlist("notice_elements") if isinstance(v, str)
        ]
        documents = upload.documents_from(
            [
                (f.filename or "", await f.read())
                for f in form.getlist("documents")
                if isinstance(f, UploadFile)
            ]
        )
        manifest_part = form.get("manifest")
        manifest = await manifest_part.read() if isinstance(manifest_part, UploadFile) else None
    finally:
        await form.close()
    errors = upload.FormErrors()
    rubric_ref = values.get("rubric") or None
    mode: Literal["bureau", "precheck"] = (
        "precheck" if values.get("mode") == "precheck" else "bureau"
    )
    as_of: dt.date | None = None
    if kind == "file" and values.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(values["as_of"])
        except ValueError:
            errors.add("as_of", "应为日期（YYYY-MM-DD）")
    if not documents:
        errors.add("documents", "请至少选择一个文档（清单 documents 所列的文件）")
    if kind == "file" and not manifest:
        errors.add("manifest", "请选择清单文件（dossier.toml）")
    if errors:
        return _upload_page(request, 422, kind=kind, values=values, errors=errors)
    try:
        if kind == "file":
            submission = upload.file_submission(manifest, documents)
        else:
            submission = upload.fields_submission(values, documents)
        created = await run_in_threadpool(
            _service(request).create,
            signed.principal,
            submission,
            rubric_ref=rubric_ref,
            mode=mode,
            as_of=as_of,
        )
    except PackageError as exc:
        errors = upload.errors_from(invalid_package(exc), kind)
        return _upload_page(request, 422, kind=kind, values=values, errors=errors)
    except ApiError as exc:
        if exc.status >= 500 and exc.code != "rubric_invalid":
            raise
        errors = upload.errors_from(exc, kind)
        return _upload_page(request, exc.status, kind=kind, values=values, errors=errors)
    return RedirectResponse(f"/web/evaluations/{quote(created.id)}", status_code=303)


# -- the score sheet ------------------------------------------------------------------------


def _snapshot(service: EvaluationService, evaluation_id: str) -> tuple[Rubric, Snapshot] | None:
    """The evaluation's rubric as it scored it (call only after the service allowed the read)."""
    with service.store.read() as session:
        snapshot_id = session.scalar(
            select(Evaluation.snapshot_id).where(Evaluation.id == evaluation_id)
        )
        row = session.get(RubricSnapshot, snapshot_id) if snapshot_id else None
        body = row.body if row is not None else None
    if body is None:
        return None
    snapshot = Snapshot.from_body(body)
    try:
        return service.rubrics.from_snapshot(snapshot), snapshot
    except Exception as exc:  # a snapshot that no longer compiles: show the sheet without bands
        get_logger().warning(
            "web.snapshot_unusable", evaluation_id=evaluation_id, error=type(exc).__name__
        )
        return None


def _rubric_href(service: EvaluationService, report: dict[str, Any], evaluation_id: str) -> str:
    """The rubric page the sheet links to: the version on disk when it is the same text."""
    meta = report["rubric"]
    try:
        on_disk = service.rubrics.version(meta["id"], meta["version"])
        if on_disk.sha256 == meta["sha256"]:
            return f"/web/rubrics/{quote(meta['id'])}/{quote(meta['version'])}"
    except RubricError:
        pass
    return f"/web/evaluations/{quote(evaluation_id)}/rubric"


def sheet_context(
    request: Request,
    principal: Principal,
    evaluation_id: str,
    *,
    adjust_errors: dict[str, dict[str, str]] | None = None,
    adjust_values: dict[str, dict[str, str]] | None = None,
    adjusted: str | None = None,
    withdraw_error: str = "",
) -> dict[str, Any]:
    """Everything the score sheet page shows."""
    service = _service(request)
    report = parse_report(service.get(principal, evaluation_id))
    audit = service.audit(principal, evaluation_id)
    compiled = _snapshot(service, evaluation_id)
    rubric = compiled[0] if compiled else None
    events = sheet.history(audit)
    package = report.get("package") or {}
    late = bool(
        package.get("received_on")
        and package.get("deadline")
        and package["received_on"] > package["deadline"]
    )
    withdrawn = next((e for e in audit["events"] if e["kind"] == "withdrawn"), None)
    notice = None
    if adjusted:
        done = [e for e in events if e["clause"] == adjusted]
        notice = done[-1] if done else None
    return {
        "ev_id": evaluation_id,
        "report": report,
        "sections": sheet.sections(report, rubric),
        "findings": sheet.findings_by_table(report),
        "history": events,
        "automatic_total": sheet.automatic_total(audit),
        "hashes_ok": audit["hashes_ok"],
        "rubric_href": _rubric_href(service, report, evaluation_id),
        "late": late,
        "can_adjust": principal.role == "reviewer" and withdrawn is None,
        "can_withdraw": principal.role in ("reviewer", "admin") and withdrawn is None,
        "withdrawn": withdrawn,
        "withdraw_error": withdraw_error,
        "adjust_errors": adjust_errors or {},
        "adjust_values": adjust_values or {},
        "notice": notice,
        "evidence_href": lambda loc: sheet.evidence_href(evaluation_id, loc),
    }


@router.get("/evaluations/{evaluation_id}")
def score_sheet(
    request: Request,
    evaluation_id: EvaluationId,
    signed: Session,
    adjusted: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The score sheet: sections, items, deductions with evidence, findings, adjustments."""
    context = sheet_context(request, signed.principal, evaluation_id, adjusted=adjusted)
    return render(request, "sheet.html", **context)


def _score(text: str) -> Decimal | str:
    """The typed score as a Decimal, or the Chinese reason it is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return "应为数字"
    if not value.is_finite():
        return "应为有限数字"
    if value < 0:
        return "分数不能为负"
    if value > 1000:
        return "数值过大"
    return value


@router.post("/evaluations/{evaluation_id}/adjust")
async def adjust(request: Request, evaluation_id: EvaluationId, signed: Session) -> Response:
    """A reviewer's score for a discretionary clause, through `EvaluationService.adjust`."""
    need(signed.principal, "reviewer")
    form = await posted(request, signed)
    clause = str(form.get("clause") or "")
    score_text = str(form.get("score") or "")
    reason = str(form.get("reason") or "").strip()
    band = str(form.get("band") or "") or None
    await form.close()
    errors: dict[str, str] = {}
    score = _score(score_text)
    if isinstance(score, str):
        errors["score"] = score
    if not reason:
        errors["reason"] = "请填写调整理由（必填）"
    if len(reason) > 4000:
        errors["reason"] = "理由过长（最多 4000 字）"
    if not errors:
        assert isinstance(score, Decimal)
        try:
            await run_in_threadpool(
                _service(request).adjust,
                signed.principal,
                evaluation_id,
                clause=clause,
                score=score,
                reason=reason,
                band=band,
            )
        except ApiError as exc:
            if exc.code != "adjustment_refused":
                raise
            field = exc.problems[0].path if exc.problems else "score"
            if field == "reason":
                errors["reason"] = "请填写调整理由（必填）"
            else:
                errors["band" if field == "band" else "score"] = exc.zh
        else:
            target = f"/web/evaluations/{quote(evaluation_id)}?adjusted={quote(clause)}#clause-{quote(clause)}"
            return RedirectResponse(target, status_code=303)
    context = await run_in_threadpool(
        lambda: sheet_context(
            request,
            signed.principal,
            evaluation_id,
            adjust_errors={clause: errors},
            adjust_values={clause: {"score": score_text, "reason": reason, "band": band or ""}},
        )
    )
    return render(request, "sheet.html", 422, **context)


@router.post("/evaluations/{evaluation_id}/withdraw")
async def withdraw(request: Request, evaluation_id: EvaluationId, signed: Session) -> Response:
    """Withdraw (撤回) an evaluation with a reason, through `EvaluationService.withdraw`."""
    need(signed.principal, "reviewer", "admin")
    form = await posted(request, signed)
    reason = str(form.get("reason") or "").strip()
    await form.close()
    error = ""
    if not reason:
        error = "请填写撤回理由（必填）"
    elif len(reason) > 4000:
        error = "理由过长（最多 4000 字）"
    else:
        await run_in_threadpool(
            _service(request).withdraw, signed.principal, evaluation_id, reason=reason
        )
        return RedirectResponse(f"/web/evaluations/{quote(evaluation_id)}", status_code=303)
    context = await run_in_threadpool(
        lambda: sheet_context(request, signed.principal, evaluation_id, withdraw_error=error)
    )
    return render(request, "sheet.html", 422, **context)


@router.get("/evaluations/{evaluation_id}/evidence")
def evidence(
    request: Request,
    evaluation_id: EvaluationId,
    signed: Session,
    loc: Annotated[str, Query(min_length=1, max_length=2000)],
    context: Annotated[int, Query(ge=2, le=200)] = 12,
) -> Response:
    """The excerpt of the submitted package that an evidence location points to."""
    service = _service(request)
    report = parse_report(service.get(signed.principal, evaluation_id))  # the read check
    with service.store.read() as session:
        package_json = session.scalar(
            select(Evaluation.package).where(Evaluation.id == evaluation_id)
        )
    if package_json is None:
        raise not_found(f"评价 {evaluation_id}", f"evaluation {evaluation_id}")
    scored = _snapshot(service, evaluation_id)  # read the documents as the evaluation did
    shown = excerpt(package_json, loc, context, scored[0].layout if scored else None)
    return render(
        request,
        "evidence.html",
        ev_id=evaluation_id,
        report=report,
        excerpt=shown,
        parts=describe(loc),
        context=context,
        wider=f"?{urlencode({'loc': loc, 'context': min(context * 2, 200)})}",
    )


@router.get("/evaluations/{evaluation_id}/rubric")
def evaluation_rubric(request: Request, evaluation_id: EvaluationId, signed: Session) -> Response:
    """The rubric exactly as this evaluation used it (its stored snapshot)."""
    service = _service(request)
    report = parse_report(service.get(signed.principal, evaluation_id))
    compiled = _snapshot(service, evaluation_id)
    if compiled is None:
        raise ApiError(500, "snapshot_invalid", "存储的评分表快照无法编译", "snapshot unusable")
    rubric, snapshot = compiled
    return render(
        request,
        "rubric.html",
        published=True,  # the snapshot page hides the state (snapshot_of is set)
        rubric=rubric,
        files=source_files(rubric, snapshot),
        sha256=report["rubric"]["sha256"],
        snapshot_of=evaluation_id,
    )


@router.get("/evaluations/{evaluation_id}/export.{fmt}")
async def export(
    request: Request,
    evaluation_id: EvaluationId,
    signed: Session,
    fmt: Annotated[Literal["xlsx", "docx", "pdf", "json"], PathParam()],
) -> Response:
    """The current sheet as .xlsx / .docx / .pdf (engine.export), or the report as JSON."""
    from engine.export import MEDIA_TYPES, ExportError, sheet_bytes

    text = await run_in_threadpool(_service(request).get, signed.principal, evaluation_id)
    filename = f"jixiao-{evaluation_id}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "json":
        return Response(text, media_type="application/json", headers=disposition)
    try:
        content = await run_in_threadpool(
            sheet_bytes, parse_report(text), fmt, request.app.state.settings.timezone
        )
    except ExportError as exc:
        raise ApiError(503, "export_unavailable", f"无法导出：{exc}", str(exc)) from None
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=disposition)


# -- rubrics --------------------------------------------------------------------------------


@router.get("/rubrics")
def rubrics_page(request: Request, signed: Session) -> Response:
    """Every rubric version on disk: fiscal years, effective date, sha256, whether it compiles."""
    rubrics = _service(request).rubrics
    live = {(v.id, v.version) for v in rubrics.live_versions()}
    entries = []
    for found in rubrics.versions():
        entry: dict[str, Any] = {
            "id": found.id,
            "version": found.version,
            "fiscal_years": list(found.fiscal_years),
            "effective_from": found.effective_from,
            "default": found.default,
            "live": (found.id, found.version) in live,
            "published": found.published,
        }
        try:
            rubric = rubrics.get(found.path)
            entry |= {"title": rubric.spec.title, "sha256": rubric.sha256, "problems": []}
        except RubricError as exc:
            entry |= {"title": "", "sha256": "", "problems": [d.render() for d in exc.diagnostics]}
        entries.append(entry)
    return render(
        request,
        "rubrics.html",
        entries=entries,
        can_diff=signed.principal.role in ("reviewer", "admin"),
    )


@router.get("/rubrics/diff")
async def diff_page(
    request: Request,
    signed: Session,
    old: Annotated[str | None, Query(max_length=200)] = None,
    new: Annotated[str | None, Query(max_length=200)] = None,
    fiscal_year: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    """What-if: rule-level changes between two versions and the stored packages re-scored."""
    from service.whatif import whatif

    need(signed.principal, "reviewer", "admin")
    service = _service(request)
    refs = [f"{v.id}@{v.version}" for v in service.rubrics.versions()]
    result: dict[str, Any] | None = None
    error = ""
    year = int(fiscal_year) if fiscal_year and fiscal_year.isdigit() else None
    if old and new:
        try:
            result = await run_in_threadpool(
                lambda: whatif(service, old, new, fiscal_year=year, limit=200)
            )
        except ApiError as exc:
            error = exc.zh
    return render(
        request,
        "diff.html",
        refs=refs,
        old=old or "",
        new=new or "",
        fiscal_year=fiscal_year or "",
        result=result,
        error=error,
    )


@router.get("/rubrics/{rubric_id}/{version}")
def rubric_page(
    request: Request,
    signed: Session,
    rubric_id: Annotated[str, PathParam(max_length=100)],
    version: Annotated[str, PathParam(max_length=100)],
) -> Response:
    """One version's TOML (and its rule sets'), every rule linkable as #rule-<id>."""
    rubrics = _service(request).rubrics
    try:
        rubric = rubrics.version(rubric_id, version)
    except RubricError as exc:
        if any(d.code == "JX013" for d in exc.diagnostics):
            raise not_found(
                f"评分表 {rubric_id}@{version}", f"rubric {rubric_id}@{version}"
            ) from None
        raise ApiError(
            503,
            "rubric_invalid",
            "评分表无法编译",
            "the rubric does not compile",
            problems=[],
        ) from None
    published = any(
        v.published for v in rubrics.versions() if (v.id, v.version) == (rubric_id, version)
    )
    return render(
        request,
        "rubric.html",
        published=published,
        rubric=rubric,
        files=source_files(rubric, snapshot_of(rubric)),
        sha256=rubric.sha256,
        snapshot_of=None,
    )


@router.get("/{rest:path}")
def not_a_page(request: Request, rest: str) -> Response:
    """Any other path under /web/: a page saying so (the API keeps its JSON 404)."""
    signed = _web(request).sessions.check(request.cookies.get(COOKIE))
    if signed is not None:
        request.state.signed = signed
    return _error_page(request, 404, "未找到该页面")
