"""The OpenAPI document is a contract: it must equal the committed snapshot.

After an intended API change, regenerate the snapshot and review its diff:

    JIXIAO_UPDATE_OPENAPI=1 .venv/bin/python -m pytest tests/service/test_openapi.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from service.app import create_app
from service.settings import Settings

SNAPSHOT = Path(__file__).with_name("openapi.json")


def _current(tmp_path: Path) -> str:
    app = create_app(Settings(db_path=tmp_path / "unused.db", backend="python"))
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_openapi_matches_the_committed_snapshot(tmp_path: Path) -> None:
    current = _current(tmp_path)
    if os.environ.get("JIXIAO_UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(current, "utf-8")
    assert SNAPSHOT.is_file(), "no snapshot: run with JIXIAO_UPDATE_OPENAPI=1"
    assert current == SNAPSHOT.read_text("utf-8"), (
        "the OpenAPI document changed: if intended, regenerate with JIXIAO_UPDATE_OPENAPI=1 "
        "(see this module's docstring) and commit tests/service/openapi.json"
    )


def test_every_endpoint_is_documented(tmp_path: Path) -> None:
    paths = json.loads(_current(tmp_path))["paths"]
    assert set(paths) == {
        "/v1/evaluations",
        "/v1/evaluations/{evaluation_id}",
        "/v1/evaluations/{evaluation_id}/adjustments",
        "/v1/evaluations/{evaluation_id}/audit",
        "/v1/evaluations/{evaluation_id}/replay",
        "/v1/evaluations/{evaluation_id}/withdraw",
        "/v1/evaluations/{evaluation_id}/sheet.{fmt}",
        "/v1/evaluations/{evaluation_id}/explain",
        "/v1/seasons/{year}/results.{fmt}",
        "/v1/seasons/{year}/sample",
        "/v1/batches",
        "/v1/batches/{batch_id}",
        "/v1/rubrics",
        "/v1/calibration",
        "/v1/rubrics/reload",
        "/v1/rubrics/{rubric_id}/publish",
        "/v1/rubrics/diff",
        "/v1/rubrics/{rubric_id}/versions/{version}",
        "/v1/keys",
        "/v1/keys/{key_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    create = paths["/v1/evaluations"]["post"]["requestBody"]["content"]
    assert set(create) == {"application/json", "multipart/form-data"}
