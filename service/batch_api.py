"""`POST /v1/batches` (a zip of dossiers, answered at once) and `GET /v1/batches/{id}` (progress).

Thin: the bounds, the manifests, the queue and the workers are service.batches.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service.api import Reviewer, Verifier, _json, _responses
from service.batch_queue import BatchQueue
from service.batches import batch_view, create_batch, read_zip, submissions
from service.errors import ApiError, not_found
from service.settings import Settings
from service.store import Store

batches = APIRouter(prefix="/v1")
BatchId = Annotated[str, Path(max_length=64, description="the batch's id")]


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "batch_refused", "压缩包过大", f"the zip exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@batches.post(
    "/batches",
    summary="Upload a zip of dossiers (manifests + documents); scored in the background",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            # The zip's bytes; sent as application/zip or application/octet-stream (not checked).
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    responses=_responses(
        _202="the batch id; follow `href` for progress",
        _413="the zip, an entry or their total is too large (or a zip bomb)",
    ),
)
async def upload_batch(
    request: Request,
    principal: Reviewer,
    rubric: Annotated[str | None, Query(max_length=200, description="ID[@VERSION]")] = None,
    mode: Literal["bureau", "precheck"] = "bureau",
) -> Response:
    """Every `*.toml` manifest in the zip (with the documents it lists beside it) is one package."""
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    queue: BatchQueue = request.app.state.batches
    data = await _body(request, settings.batch_max_zip_bytes)

    def accept() -> tuple[str, int]:
        items = submissions(read_zip(data, settings))
        batch_id = create_batch(
            store, principal, items, rubric=rubric, mode=mode, enqueue=queue.enqueue_in
        )
        return batch_id, len(items)

    batch_id, count = await run_in_threadpool(accept)
    await queue.submitted(batch_id, count)
    href = f"/v1/batches/{batch_id}"
    return _json({"id": batch_id, "items": count, "href": href}, 202, {"Location": href})


@batches.get(
    "/batches/{batch_id}",
    summary="A batch's progress, with each package's evaluation or error",
    responses=_responses(_200="progress and per-package results", _404="unknown batch"),
)
def get_batch(request: Request, principal: Verifier, batch_id: BatchId) -> Response:
    """`done`, `failed`, `pending` and `finished`, then one entry per package in the zip's order."""
    view = batch_view(request.app.state.store, batch_id)
    if view is None:
        raise not_found(f"批次 {batch_id}", f"batch {batch_id}")
    return _json(view)
