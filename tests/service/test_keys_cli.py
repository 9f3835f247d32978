"""`jixiao keys`: the same store as `jixiao serve`, never one in the current folder; no new
empty store unless asked with --init."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engine.rubric.registry import REPO_ROOT
from service.app import create_app
from service.cli import main
from service.settings import Settings


def test_the_default_store_is_in_the_project_data_folder_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIXIAO_DB_PATH", raising=False)
    monkeypatch.delenv("JIXIAO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.db_path.is_absolute()
    assert settings.db_path.parent == REPO_ROOT / "data"
    assert str(tmp_path) not in settings.url()


def test_keys_refuse_a_new_empty_store_unless_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store" / "jixiao.db"
    monkeypatch.setenv("JIXIAO_DB_PATH", str(store))
    monkeypatch.delenv("JIXIAO_DATABASE_URL", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert main(["keys", "create", "--role", "reviewer", "--name", "甲"]) == 2
    err = capsys.readouterr().err
    assert "--init" in err
    assert str(store) in err
    assert not store.exists()
    assert list(elsewhere.iterdir()) == []

    assert main(["keys", "create", "--role", "reviewer", "--name", "甲", "--init"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["keys", "create", "--role", "reviewer", "--name", "乙"]) == 0
    token = capsys.readouterr().out.strip()
    assert first.startswith("jx_")
    assert token.startswith("jx_")
    assert list(elsewhere.iterdir()) == []

    # The server started with the same settings answers the key.
    app = create_app(Settings(bootstrap_admin=False, watch_rubrics=False, suites_on_reload=False))
    with TestClient(app) as client:
        response = client.get("/v1/evaluations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_keys_on_each_database_kind_need_init_for_an_empty_store(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ["keys", "create", "--role", "admin", "--name", "甲", "--database-url", database_url]
    assert main(create) == 2
    assert "--init" in capsys.readouterr().err
    assert main([*create, "--init"]) == 0
    assert capsys.readouterr().out.startswith("jx_")
    assert main(create) == 0
