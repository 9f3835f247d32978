"""Publishing a staged rubric version over HTTP, recorded in the audit chain.

A version on disk that is not in its tree's published.lock is *staged*: it is linted, its case
suites run, it shows in the rubric pages and the diff, and it scores when named by its exact
ID@VERSION, but it is never chosen for a package that names no version. Publishing records
its sha256 in the lock file (immutable from then on) and appends a `published` event naming
the admin who did it; from then on it may serve as a default.
"""

from __future__ import annotations

from typing import Any

from engine.diagnostics import RubricError
from engine.lifecycle.lint import publish
from service import audit
from service.auth import Principal, now
from service.errors import ApiError, not_found
from service.evaluations import EvaluationService
from service.logs import get_logger


def publish_version(
    service: EvaluationService, principal: Principal, rubric_id: str, version: str
) -> dict[str, Any]:
    """Publish `rubric_id@version`; 404 if it is not on disk, 409 if it is not fit to serve."""
    rubrics = service.rubrics
    rubrics.reload()  # compile and test whatever changed on disk first
    found = next(
        (v for v in rubrics.versions() if v.id == rubric_id and v.version == version), None
    )
    if found is None:
        raise not_found(f"评分表 {rubric_id}@{version}", f"rubric {rubric_id}@{version}")
    try:
        rubric = rubrics.get(found.path)  # live: it compiled, linted and passed its suites
    except RubricError as exc:
        raise ApiError(
            409,
            "rubric_not_publishable",
            f"评分表 {rubric_id}@{version} 未通过检查，不能发布",
            f"rubric {rubric_id}@{version} does not pass its checks; it cannot be published",
            extra={"diagnostics": [d.render() for d in exc.diagnostics]},
        ) from None
    out: dict[str, Any] = {"id": rubric_id, "version": version, "sha256": rubric.sha256}
    if found.published:
        return out | {"published": True, "already_published": True}
    at = now()
    try:
        with service.store.write() as session:
            event = audit.append(
                session,
                evaluation_id="",
                kind="published",
                actor=principal.actor,
                at=at,
                rubric=(rubric_id, version, rubric.sha256),
                payload={"file": found.path.name},
            )
            # Inside the transaction: if the lock file cannot be written, no event is stored.
            file_sha256 = publish(found.path)
            seq = event.seq
    except RubricError as exc:
        raise ApiError(
            409,
            "rubric_not_publishable",
            f"评分表 {rubric_id}@{version} 已以其他内容发布",
            f"rubric {rubric_id}@{version} is already published with other content",
            extra={"diagnostics": [d.render() for d in exc.diagnostics]},
        ) from None
    rubrics.reload()  # the lock changed: the version may now be chosen as a default
    get_logger().info("rubric.published", rubric=f"{rubric_id}@{version}", by=principal.name)
    return out | {
        "published": True,
        "file_sha256": file_sha256,
        "published_by": principal.actor.as_dict(),
        "at": at,
        "event_seq": seq,
    }
