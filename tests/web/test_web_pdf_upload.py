"""The web upload page takes PDF documents, text or scanned."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import EXAMPLE_DIR, App, csrf_of


@pytest.fixture(scope="module")
def clients(app: App) -> dict[str, TestClient]:
    return {"department": app.client_for("department")}


def test_the_upload_page_offers_pdf(clients: dict[str, TestClient]) -> None:
    page = clients["department"].get("/web/upload").text
    assert 'accept=".txt,.docx,.xlsx,.xls,.pdf"' in page
    assert ".pdf" in page


def test_a_pdf_package_is_scored_from_the_upload_page(clients: dict[str, TestClient]) -> None:
    files = [
        (
            "manifest",
            ("dossier.toml", (EXAMPLE_DIR / "dossier-pdf.toml").read_bytes(), "text/plain"),
        ),
        (
            "documents",
            ("package.pdf", (EXAMPLE_DIR / "package.pdf").read_bytes(), "application/pdf"),
        ),
    ]
    department = clients["department"]
    csrf = csrf_of(department.get("/web/upload").text)
    response = department.post(
        "/web/upload", data={"csrf": csrf, "form_kind": "file"}, files=files, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]
    sheet = department.get(response.headers["location"]).text
    assert "package.pdf:第" in sheet


def test_an_encrypted_pdf_on_the_upload_page_is_a_422_with_the_reason(
    clients: dict[str, TestClient],
) -> None:
    files = [
        (
            "manifest",
            ("dossier.toml", (EXAMPLE_DIR / "dossier-pdf.toml").read_bytes(), "text/plain"),
        ),
        (
            "documents",
            (
                "package.pdf",
                (EXAMPLE_DIR.parents[1] / "tests/documents/fixtures/encrypted.pdf").read_bytes(),
                "application/pdf",
            ),
        ),
    ]
    department = clients["department"]
    csrf = csrf_of(department.get("/web/upload").text)
    response = department.post(
        "/web/upload", data={"csrf": csrf, "form_kind": "file"}, files=files, follow_redirects=False
    )
    assert response.status_code == 422
    assert "密码保护" in response.text
