"""Error paths: 413, 415, 422 with field paths in Chinese and English, 404; never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.conftest import (
    MANIFEST_TOML,
    PACKAGE_TXT,
    RUBRIC,
    Service,
    json_body,
    multipart,
)


def _post(svc: Service, **kwargs: Any) -> Any:
    params = kwargs.pop("params", {"rubric": RUBRIC})
    headers = svc.auth("reviewer") | kwargs.pop("headers", {})
    return svc.client.post("/v1/evaluations", params=params, headers=headers, **kwargs)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == status
    assert error["zh"]
    assert error["en"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def _paths(error: dict[str, Any]) -> list[str]:
    return [p["path"] for p in error.get("problems", [])]


def test_invalid_manifest_fields_have_paths_and_both_languages(shared: Service) -> None:
    body = json_body(fiscal_year="二〇二三", notice={"issued": "yes"}, colour=1)
    error = _error(_post(shared, json=body), 422)
    assert error["code"] == "invalid_package"
    problems = {p["path"]: p for p in error["problems"]}
    assert set(problems) == {"fiscal_year", "notice.issued", "colour"}
    assert problems["notice.issued"]["zh"] == "应为 true 或 false"
    assert problems["notice.issued"]["en"] == "Input should be a valid boolean"
    assert problems["colour"]["zh"] == "未知字段"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"department": "x", "fiscal_year": 2023}, "documents"),
        (json_body(documents="package.txt"), "documents"),
        (json_body(documents=[{"name": "package.txt"}]), "documents.0"),
        (json_body(documents=[{"name": "", "text": "x"}]), "documents.0.name"),
        (json_body(documents=[{"name": "a.txt", "text": "x", "base64": "eA=="}]), "documents.0"),
        (json_body(documents=[{"name": "a.txt", "base64": "!!"}]), "documents.0"),
        (json_body(received_on="2024-13-01"), "received_on"),
        (json_body(units=[{"name": "x"}]), "units.0.kind"),
        ({"package": {"dossier": {}}}, "package.dossier.department"),
        ({"package": []}, "package"),
        ({"package": {}, "other": 1}, "(body)"),
        ([1, 2], "(body)"),
    ],
)
def test_invalid_json_bodies(shared: Service, body: Any, path: str) -> None:
    error = _error(_post(shared, json=body), 422)
    assert path in _paths(error), error


def test_malformed_json_and_media_types(shared: Service) -> None:
    malformed = _post(
        shared, content=b'{"department": ', headers={"Content-Type": "application/json"}
    )
    error = _error(malformed, 422)
    assert _paths(error) == ["(body)"]
    for raw in (b'{"department": NaN}', b'{"package": {"dossier": Infinity}}', b"[" * 100000):
        response = _post(shared, content=raw, headers={"Content-Type": "application/json"})
        _error(response, 422)
    error = _error(
        shared.client.post(
            "/v1/evaluations",
            params={"rubric": RUBRIC},
            content=b"department = 1",
            headers={"Content-Type": "text/plain", **shared.auth("reviewer")},
        ),
        415,
    )
    assert error["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("files", "path"),
    [
        (multipart(manifest="department = "), "manifest"),
        (multipart(documents=[]), "documents.0"),
        (multipart(documents=[("package.txt", PACKAGE_TXT), ("extra.txt", "x")]), "documents"),
        (multipart(documents=[("package.txt", "x"), ("package.txt", "y")]), "documents"),
        (
            multipart(
                manifest=MANIFEST_TOML.replace('"package.txt"', '"package.pdf"'),
                documents=[("package.pdf", "x")],
            ),
            "documents",
        ),
        ([("documents", ("package.txt", b"x", "text/plain"))], "manifest"),
        ([*multipart(), ("colour", ("c.txt", b"x", "text/plain"))], None),
    ],
)
def test_invalid_multipart_bodies(shared: Service, files: Any, path: str | None) -> None:
    error = _error(_post(shared, files=files), 422)
    if path is not None:
        assert path in _paths(error), error


def test_a_manifest_that_is_not_utf8(shared: Service) -> None:
    files = [("manifest", ("dossier.toml", "department = '科'".encode("gbk"), "application/toml"))]
    _error(_post(shared, files=files), 422)


def test_query_parameters_are_validated(shared: Service) -> None:
    error = _error(
        _post(shared, json=json_body(), params={"rubric": RUBRIC, "mode": "strict"}), 422
    )
    assert _paths(error) == ["query.mode"]
    assert error["problems"][0]["zh"] == "取值不在允许范围内"
    error = _error(_post(shared, json=json_body(), params={"as_of": "tomorrow"}), 422)
    assert _paths(error) == ["query.as_of"]


def test_unknown_rubric_is_404(shared: Service) -> None:
    for ref in ("nope", "yueyang-fujian5@1999.9", "../../etc/passwd"):
        error = _error(_post(shared, json=json_body(), params={"rubric": ref}), 404)
        assert error["code"] == "rubric_not_found"
    error = _error(
        shared.client.get("/v1/rubrics/nope/versions/1", headers=shared.auth("reviewer")), 404
    )
    assert error["code"] == "not_found"


def test_no_evaluation_date_and_dates_outside_the_calendar(shared: Service) -> None:
    body = json_body()
    body.pop("received_on")
    error = _error(_post(shared, json=body), 422)
    assert _paths(error) == ["as_of"]
    error = _error(_post(shared, json=json_body(received_on="2099-06-28")), 422)
    assert error["code"] == "invalid_date"


def test_body_over_the_limit_is_413(shared: Service) -> None:
    limit = shared.settings.max_body_bytes
    big = json_body(documents=[{"name": "package.txt", "text": "x" * (limit + 1)}])
    error = _error(_post(shared, json=big), 413)
    assert error["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
        payload = json.dumps(big).encode()
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    error = _error(
        shared.client.post(
            "/v1/evaluations",
            params={"rubric": RUBRIC},
            content=chunks(),
            headers={"Content-Type": "application/json", **shared.auth("reviewer")},
        ),
        413,
    )
    big_files = multipart(documents=[("package.txt", "x" * (limit + 1))])
    _error(_post(shared, files=big_files), 413)


def test_unknown_routes_and_methods_use_the_envelope(shared: Service) -> None:
    error = _error(shared.client.get("/v1/nothing-here"), 404)
    assert error["zh"] == "未找到"
    _error(shared.client.put("/v1/evaluations", headers=shared.auth("reviewer")), 405)


def test_an_unexpected_failure_is_a_500_without_traceback(
    shared: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(shared.client.app.state.service, "get", boom)  # type: ignore[attr-defined]
    response = shared.client.get("/v1/evaluations/x", headers=shared.auth("reviewer"))
    error = _error(response, 500)
    assert error["code"] == "internal"
    assert "secret internals" not in response.text


_json_values: Callable[[], st.SearchStrategy[Any]] = lambda: st.recursive(  # noqa: E731
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "department",
    "fiscal_year",
    "received_on",
    "deadline",
    "as_of",
    "notice",
    "units",
    "documents",
    "working_group",
    "package",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        _json_values(),
        st.fixed_dictionaries({}, optional={f: _json_values() for f in _FIELDS}),
        st.builds(
            lambda changes: json_body(**changes),
            st.dictionaries(st.sampled_from(_FIELDS[:-2]), _json_values(), max_size=3),
        ),
    ),
    mode=st.sampled_from(["bureau", "precheck", "x"]),
)
def test_no_json_input_gives_a_5xx(shared: Service, body: Any, mode: str) -> None:
    response = _post(shared, json=body, params={"rubric": RUBRIC, "mode": mode})
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(manifest=st.text(max_size=200), document=st.binary(max_size=300))
def test_no_multipart_input_gives_a_5xx(shared: Service, manifest: str, document: bytes) -> None:
    files = [
        (
            "manifest",
            ("dossier.toml", manifest.encode("utf-8", "surrogatepass"), "application/toml"),
        ),
        ("documents", ("package.txt", document, "text/plain")),
    ]
    assert _post(shared, files=files).status_code < 500


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=2000))
def test_no_document_text_gives_a_5xx(shared: Service, text: str) -> None:
    body = json_body(documents=[{"name": "package.txt", "text": PACKAGE_TXT[:3000] + text}])
    assert _post(shared, json=body).status_code < 500


def test_rubrics_on_disk_that_do_not_compile_make_the_service_unready(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    broken = tmp_path / "rubrics" / "broken"
    broken.mkdir(parents=True)
    (broken / "1.toml").write_text('id = "broken"\nversion = "1"\n', "utf-8")
    svc = make_service(f"sqlite:///{tmp_path / 'j.db'}", rubrics=str(tmp_path / "rubrics"))
    ready = svc.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["rubric_errors"]
    listed = svc.client.get("/v1/rubrics", headers=svc.auth("admin")).json()["items"]
    assert listed[0]["compiles"] is False
    version = svc.client.get("/v1/rubrics/broken/versions/1", headers=svc.auth("admin"))
    assert version.status_code == 503


def test_a_figure_too_large_for_the_engine_is_not_a_5xx(shared: Service) -> None:
    # A 40-digit amount: the engine refuses or fails on it; either way the client is at fault.
    text = PACKAGE_TXT.replace("\t1119.56\n", "\t" + "9" * 40 + "\n", 1)
    assert text != PACKAGE_TXT
    response = _post(shared, json=json_body(documents=[{"name": "package.txt", "text": text}]))
    assert response.status_code < 500, response.text


def test_an_engine_failure_on_a_package_is_a_500_with_a_request_id_and_the_traceback_only_in_the_log(
    shared: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise ZeroDivisionError("inside a measure")

    monkeypatch.setattr(shared.client.app.state.service.evaluator, "evaluate", fail)  # type: ignore[attr-defined]
    with capture_logs() as logs:
        response = _post(shared, json=json_body())
    error = _error(response, 500)
    assert error["code"] == "engine_failed"  # never blamed on the department's package
    assert error["request_id"]
    assert "inside a measure" not in response.text
    (logged,) = [e for e in logs if e["event"] == "evaluation.engine_failed"]
    assert isinstance(logged["exc_info"], ZeroDivisionError)
