"""Rubric staging: a new version on disk is staged until published; only then a default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.cli import main as cli_main
from engine.diagnostics import RubricError
from engine.lifecycle.lint import publish
from engine.rubric.registry import default_for_year, discover, resolve

REPO = Path(__file__).resolve().parents[1]
DOSSIER = REPO / "examples" / "yueyang-kjj-2023" / "dossier.toml"


def stage_copy(tmp_path: Path) -> tuple[Path, Path]:
    """The bundled rubrics (with their lock) plus a copied 2099.1 of yueyang-fujian5."""
    rubrics = tmp_path / "rubrics"
    shutil.copytree(REPO / "rubrics", rubrics)
    (tmp_path / "examples").symlink_to(REPO / "examples")  # the case suites' base packages
    source = (rubrics / "yueyang-fujian5" / "2024.1.toml").read_text("utf-8")
    staged = rubrics / "yueyang-fujian5" / "2099.1.toml"
    staged.write_text(source.replace('version = "2024.1"', 'version = "2099.1"', 1), "utf-8")
    return rubrics, staged


def test_a_copied_version_is_staged_not_the_default(tmp_path: Path) -> None:
    rubrics, staged = stage_copy(tmp_path)
    found = {(v.id, v.version): v.published for v in discover([rubrics])}
    assert found[("yueyang-fujian5", "2024.1")] is True
    assert found[("yueyang-fujian5", "2099.1")] is False
    # The newest published version stays the default (2024.2), not the staged copy.
    assert resolve("yueyang-fujian5", [rubrics], fiscal_year=2023).name == "2024.2.toml"
    assert default_for_year([rubrics], 2023) == "yueyang-fujian5"
    # Named exactly, a staged version scores (to try it before publishing).
    assert resolve("yueyang-fujian5@2099.1", [rubrics]) == staged

    publish(staged)
    assert resolve("yueyang-fujian5", [rubrics], fiscal_year=2023) == staged


def test_a_new_rubric_id_is_staged_too(tmp_path: Path) -> None:
    rubrics, staged = stage_copy(tmp_path)
    other = rubrics / "new-rubric" / "2024.1.toml"
    other.parent.mkdir()
    other.write_text(
        staged.read_text("utf-8").replace('id = "yueyang-fujian5"', 'id = "new-rubric"', 1),
        "utf-8",
    )
    assert default_for_year([rubrics], 2023) == "yueyang-fujian5"  # not ambiguous
    with pytest.raises(RubricError) as caught:
        resolve("new-rubric", [rubrics], fiscal_year=2023)
    assert "staged" in str(caught.value)


def test_the_cli_scores_with_the_published_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rubrics, staged = stage_copy(tmp_path)
    assert cli_main(["score", str(DOSSIER), "--rubrics", str(rubrics), "--format", "json"]) == 0
    assert '"version": "2024.1"' in capsys.readouterr().out
    assert cli_main(["rubric", "publish", str(staged)]) == 0
    capsys.readouterr()
    assert cli_main(["score", str(DOSSIER), "--rubrics", str(rubrics), "--format", "json"]) == 0
    assert '"version": "2099.1"' in capsys.readouterr().out
