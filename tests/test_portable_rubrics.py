"""rubrics/ and rules/ copied alone anywhere: they lint, test, score and serve, and a report
names its sources the same way wherever the folders lie."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT
from tests.serving import Serve

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the checkout holding copies of rubrics/ and rules/ alone."""
    shutil.copytree(BUNDLED_RUBRICS, tmp_path / "rubrics")
    shutil.copytree(BUNDLED_RULES, tmp_path / "rules")
    return tmp_path


def _jixiao(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=600,
    )


def test_copied_folders_pass_lint_and_rubric_test(elsewhere: Path) -> None:
    rules = ["--rules", str(elsewhere / "rules")]
    linted = _jixiao(elsewhere, "rubric", "lint", "rubrics", "rules", *rules)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    tested = _jixiao(elsewhere, "rubric", "test", "rubrics", *rules)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.strip().splitlines()[-1].endswith(" 0 failed")


def test_a_score_from_another_folder_equals_the_checkouts(elsewhere: Path) -> None:
    shutil.copytree(EXAMPLE, elsewhere / "package")
    here = _jixiao(REPO_ROOT, "score", str(EXAMPLE / "dossier.toml"), "--backend", "python", "--format", "json")
    there = _jixiao(
        elsewhere, "score", "package/dossier.toml", "--backend", "python", "--format", "json",
        "--rubrics", str(elsewhere / "rubrics"), "--rules", str(elsewhere / "rules"),
    )
    assert here.returncode == there.returncode == 0, there.stderr
    assert there.stdout == here.stdout
    assert '"source": "rubrics/yueyang-fujian5/2024.2.toml:' in there.stdout  # the FY2023 default
    for absolute in (str(elsewhere), str(REPO_ROOT), '"/'):
        assert absolute not in there.stdout


def test_a_suite_that_cannot_be_read_refuses_its_version_alone(elsewhere: Path) -> None:
    shutil.rmtree(elsewhere / "rubrics" / "yitihua-platform" / "tests" / "base")
    tested = _jixiao(
        elsewhere, "rubric", "test", "rubrics", "--rules", str(elsewhere / "rules")
    )
    assert tested.returncode == 1
    assert "internal error" not in tested.stderr
    assert "FAIL yitihua-platform/clauses.toml" in tested.stdout
    assert "ok   yueyang-fujian5/clauses.toml" in tested.stdout


def _serve(elsewhere: Path) -> Serve:
    return Serve(
        elsewhere / "server.log",
        env={
            "JIXIAO_DB_PATH": str(elsewhere / "j.db"),
            "JIXIAO_RUBRICS": str(elsewhere / "rubrics"),
            "JIXIAO_RULES": str(elsewhere / "rules"),
            "JIXIAO_SUITES_ON_RELOAD": "true",
            "JIXIAO_WATCH_RUBRICS": "false",
        },
        cwd=elsewhere,
    )


def test_copied_folders_serve_and_a_bad_suite_never_stops_the_service(elsewhere: Path) -> None:
    server = _serve(elsewhere)
    server.start(timeout=120)
    try:
        ready = httpx.get(f"{server.base}/readyz", timeout=10).json()
        assert ready["rubrics"] == [
            "yitihua-platform@2024.1",
            "yitihua-platform@2024.2",
            "yueyang-fujian5@2024.1",
            "yueyang-fujian5@2024.2",
        ]
        assert ready["rubric_errors"] == []
    finally:
        server.stop()
    shutil.rmtree(elsewhere / "rubrics" / "yitihua-platform" / "tests" / "base")
    server.start(timeout=120)
    try:
        ready = httpx.get(f"{server.base}/readyz", timeout=10).json()
        # yitihua-platform's suites (both versions') lost their base: only that rubric is refused
        assert ready["rubrics"] == ["yueyang-fujian5@2024.1", "yueyang-fujian5@2024.2"]
        assert any("base/yueyang-kjj-2023/dossier.toml" in e for e in ready["rubric_errors"])
        assert str(elsewhere) not in str(ready)  # /readyz is public: no server path in it
    finally:
        server.stop()


def test_the_base_packages_are_copies_of_the_example() -> None:
    for rubric in ("yueyang-fujian5", "yitihua-platform"):
        base = BUNDLED_RUBRICS / rubric / "tests" / "base" / "yueyang-kjj-2023"
        assert (base / "package.txt").read_bytes() == (EXAMPLE / "package.txt").read_bytes()
        body = (base / "dossier.toml").read_text("utf-8").split("\n", 1)[1]
        assert body == (EXAMPLE / "dossier.toml").read_text("utf-8").split("\n", 1)[1]
