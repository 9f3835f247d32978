"""A PDF package over HTTP scores like the CLI; an encrypted or broken PDF is a 422."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from engine.backends.plan import Backend
from engine.dossier import load_package
from engine.evaluate import Evaluator, render_json
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT
from tests.service.conftest import EXAMPLE_DIR, RUBRIC, Service, report_of

MANIFEST_PDF = (EXAMPLE_DIR / "dossier-pdf.toml").read_text("utf-8")


def _files(name: str, data: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    manifest = MANIFEST_PDF.replace('documents = ["package.pdf"]', f'documents = ["{name}"]')
    return [
        ("manifest", ("dossier.toml", manifest.encode("utf-8"), "application/toml")),
        ("documents", (name, data, "application/pdf")),
    ]


def _post(svc: Service, files: Any) -> Any:
    return svc.client.post(
        "/v1/evaluations", params={"rubric": RUBRIC}, files=files, headers=svc.auth("reviewer")
    )


def test_a_pdf_upload_scores_like_the_cli(svc: Service, durable: Backend) -> None:
    response = _post(svc, _files("package.pdf", (EXAMPLE_DIR / "package.pdf").read_bytes()))
    assert response.status_code == 201, response.text
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    direct = Evaluator(durable).evaluate(
        load_package(EXAMPLE_DIR / "dossier-pdf.toml"),
        rubric,
        mode="bureau",
        as_of=dt.date(2024, 6, 28),
    )
    body = report_of(response.json())
    expected = json.loads(render_json(direct))
    # The manifest is stored as sent (its comment names another file name): compare the scores.
    assert body["total"] == expected["total"]
    assert body["items"] == expected["items"]
    assert body["findings"] == expected["findings"]
    assert body["warnings"] == expected["warnings"]


def test_an_encrypted_pdf_upload_is_a_422(svc: Service) -> None:
    data = (REPO_ROOT / "tests/documents/fixtures/encrypted.pdf").read_bytes()
    response = _post(svc, _files("package.pdf", data))
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["problems"]
    assert any("密码保护" in p["zh"] and "password-protected" in p["en"] for p in problems)


def test_a_broken_pdf_upload_is_a_422(svc: Service) -> None:
    data = (EXAMPLE_DIR / "package.pdf").read_bytes()[:5000]
    response = _post(svc, _files("package.pdf", data))
    assert response.status_code == 422, response.text
    assert "PDF" in response.text
