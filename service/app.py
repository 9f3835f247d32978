"""The FastAPI application, built by `create_app(settings)`.

Settings are read here, never at import time. Startup migrates the store, prints a one-time
admin key on an empty key store, and compiles the rubrics on disk. Engine work runs in worker
threads (the durable_rules backend then serialises it under one lock), never on the
event loop.
"""

from __future__ import annotations

import gc
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.backends.plan import Backend
from engine.evaluate import Evaluator
from engine.rubric.registry import rubric_dirs, rules_dirs
from service import logs
from service.api import body_schemas, router
from service.auth import KeyCache, bootstrap_admin
from service.backend import process_backend
from service.batch_queue import BatchQueue
from service.batches import BatchRunner
from service.errors import ApiError, problems_from_errors, to_jsonable
from service.evaluations import EvaluationService
from service.metrics import Metrics
from service.pool import EnginePool
from service.rubrics import ReloadResult, Rubrics, watch
from service.settings import Settings
from service.store import Store

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes log at debug level


class BodyTooLarge(ApiError):
    """413: the request body is over the limit."""


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        413,
        "body_too_large",
        f"请求体超过 {limit} 字节的上限",
        f"the request body is over the {limit}-byte limit",
    )


def _request_id(scope: Scope) -> str:
    rid: str = scope.get("jixiao.request_id", "")
    return rid


class RequestMiddleware:
    """Per request: an id (bound to every log line), the body size limit, latency and a log line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope["jixiao.request_id"] = rid
        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        status = 500
        started = False
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _too_large(self.max_body)
            return message

        try:
            length = headers.get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_body:
                # Refused before reading a byte of it.
                error = _too_large(self.max_body)
                await JSONResponse(error.body(rid), status_code=413)(scope, receive, send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            # Last line of defence, here rather than in Starlette's outermost handler so that
            # the log line keeps the request id and the answer carries X-Request-ID.
            logs.get_logger().exception("request.failed", error=type(exc).__name__)
            if status == 500 and not started:
                await _json(_internal().body(rid), 500)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(elapsed)
            log = logs.get_logger()
            (log.debug if scope["path"] in _QUIET else log.info)(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.reset_contextvars(**tokens)


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(to_jsonable(body), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _json(exc.body(_request_id(request.scope)), exc.status, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    error = ApiError(
        422,
        "invalid_request",
        "请求参数校验未通过",
        "the request is invalid",
        problems=problems_from_errors(exc.errors()),
    )
    return _json(error.body(_request_id(request.scope)), 422)


_HTTP_ZH = {404: "未找到", 405: "不支持该请求方法", 400: "请求格式错误", 415: "不支持的内容类型"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error = ApiError(
        exc.status_code,
        "http_error",
        _HTTP_ZH.get(exc.status_code, "请求无法处理"),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )
    return _json(error.body(_request_id(request.scope)), exc.status_code, error.headers)


def _internal() -> ApiError:
    return ApiError(
        500,
        "internal",
        "服务器内部错误（已记录，请凭 request_id 联系管理员）",
        "internal server error (logged; quote the request_id)",
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log, never to the client.
    logs.get_logger().exception("request.failed", error=type(exc).__name__)
    return _json(_internal().body(_request_id(request.scope)), 500)


def startup(store: Store, settings: Settings) -> str | None:
    """Migrate the store; on an empty key store create and return a one-time admin key."""
    store.migrate()
    return bootstrap_admin(store) if settings.bootstrap_admin else None


def announce_admin_key(token: str) -> None:
    """Print the one-time admin key on stdout (the only time it is ever shown)."""
    print(
        "jixiao: empty key store: created an admin API key. It is shown once; store it now:\n"
        f"JIXIAO_ADMIN_KEY={token}",
        flush=True,
    )


def _log_reload(result: ReloadResult) -> None:
    log = logs.get_logger()
    log.info("rubrics.reloaded", loaded=result.loaded, changed=result.changed)
    for path, problems in result.rejected.items():
        for problem in problems:
            log.error("rubric.rejected", file=path, diagnostic=problem)


def create_app(settings: Settings | None = None, *, backend: Backend | None = None) -> FastAPI:
    """The application. `backend` overrides the process's backend (tests share theirs)."""
    settings = settings or Settings()
    logs.configure(settings.log_level)
    store = Store(settings.url())
    rubrics = Rubrics(
        rubric_dirs(settings.rubrics),
        rules_dirs(settings.rules),
        run_suites=settings.suites_on_reload,
    )
    metrics = Metrics()
    evaluator = Evaluator(backend or process_backend(settings.backend))
    service = EvaluationService(store, rubrics, evaluator, metrics, timezone=settings.timezone)
    pool = EnginePool(settings.engine_threads)
    batch_runner = BatchRunner(settings, service, store)
    batch_queue = BatchQueue(settings, batch_runner, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        token = await anyio.to_thread.run_sync(startup, store, settings)
        if token:
            announce_admin_key(token)
            logs.get_logger().warning("keys.bootstrap", role="admin")
        loaded, failed = await anyio.to_thread.run_sync(rubrics.load_all)
        log = logs.get_logger()
        log.info("service.started", database=store.display_url, rubrics=loaded)
        # The ~140k objects made at start-up (modules, compiled rubrics) live as long as the
        # process: moved out of the collector's generations, a full collection no longer walks
        # them on every request's garbage (85-150 ms pauses before).
        gc.collect()
        gc.freeze()
        for problem in failed:
            log.error("rubric.invalid", diagnostic=problem)
        stop = threading.Event()
        await batch_queue.start()  # this replica's share of every batch (service.batch_queue)
        if settings.watch_rubrics:
            threading.Thread(
                target=watch, args=(rubrics, stop, _log_reload), name="rubric-watcher", daemon=True
            ).start()
        try:
            yield
        finally:
            stop.set()
            await batch_queue.stop()
            pool.shutdown()
            batch_runner.shutdown()
            service.writer.close()  # what is queued is stored before the store closes
            store.dispose()
            gc.unfreeze()  # an app stopped inside a longer process (tests) becomes collectable

    app = FastAPI(
        title="jixiao",
        summary="绩效: scores 部门整体支出绩效自评 packages against versioned TOML rubrics",
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.keys = KeyCache(settings.key_cache_seconds)
    app.state.rubrics = rubrics
    app.state.metrics = metrics
    app.state.service = service
    app.state.pool = pool
    app.state.batches = batch_queue
    app.include_router(router)
    from service.season_api import season  # results table, 抽查 sample, explain (#15)

    app.include_router(season)
    from service.batch_api import batches

    app.include_router(batches)
    from service.web import mount_web  # the reviewer workbench's pages (docs/web.md)

    mount_web(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(body_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body=settings.max_body_bytes)
    return app
