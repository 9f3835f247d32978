"""The examples in README.md and docs/ work as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from engine.dossier import parse_manifest
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RULES, REPO_ROOT


def _example(doc: str, name: str) -> str:
    text = (REPO_ROOT / doc).read_text("utf-8")
    found = re.search(rf"<!-- example: {name} -->\n```\w*\n(.*?)```", text, re.S)
    assert found, f"{doc}: no example {name}"
    return found.group(1)


def _jixiao(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_dossier_example_validates() -> None:
    dossier = parse_manifest(tomllib.loads(_example("docs/dossier-format.md", "dossier")), file="doc")
    assert dossier.units is not None
    assert dossier.units[0].kind == "本级"


def test_rubric_example_compiles(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(_example("docs/rubric-format.md", "rubric"), "utf-8")
    rubric = load_rubric(path, [BUNDLED_RULES])
    assert [r.spec.id for r in rubric.rules] == ["notice.not-issued", "notice.element-missing"]


def test_readme_score_commands_run() -> None:
    for line in _example("README.md", "cli-score").strip().splitlines():
        args = line.split()[1:]  # drop ".venv/bin/jixiao"
        result = _jixiao(*args)
        assert result.returncode == 0, result.stderr
        if "json" in args:
            assert json.loads(result.stdout)["total"]["max"] == 100
        else:
            assert "合计" in result.stdout


def test_readme_rubric_change_example(tmp_path: Path) -> None:
    block = _example("README.md", "rubric-change").replace("/tmp/rubrics", str(tmp_path))
    for line in block.strip().splitlines():
        if line.startswith(".venv/bin/jixiao"):
            result = _jixiao(*line.split()[1:])
            assert result.returncode == 0, result.stderr
        else:
            subprocess.run(line, shell=True, check=True, cwd=REPO_ROOT)
    compiled = json.loads(_jixiao("rubric", "compile", "yueyang-fujian5@2025.1", "--rubrics", str(tmp_path)).stdout)
    assert compiled["rubric"]["version"] == "2025.1"
    # The change changes the example's score, as the README says.
    dossier = "examples/yueyang-kjj-2023/dossier.toml"
    before = json.loads(_jixiao("score", dossier, "--format", "json").stdout)
    after = json.loads(
        _jixiao("score", dossier, "--format", "json", "--rubric", "yueyang-fujian5@2025.1",
                "--rubrics", str(tmp_path)).stdout
    )
    text = (REPO_ROOT / "README.md").read_text("utf-8")
    assert before["total"]["score"] != after["total"]["score"]
    assert f"from {before['total']['score']} to {after['total']['score']}" in text


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("department = \n", "utf-8")
    for args in (["score", str(bad)], ["score", str(tmp_path / "missing.toml")],
                 ["score", "examples/yueyang-kjj-2023/dossier.toml", "--rubric", "nope"],
                 ["rubric", "compile", "nope"]):
        result = _jixiao(*args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_readme_rubric_commands_run() -> None:
    for line in _example("README.md", "cli-rubric").strip().splitlines():
        result = _jixiao(*line.split()[1:])
        assert result.returncode == 0, result.stdout + result.stderr
        if "--format" in line:
            assert json.loads(result.stdout)["summary"]["packages"] >= 1


def test_readme_document_commands_run(tmp_path: Path) -> None:
    for line in _example("README.md", "cli-documents").strip().splitlines():
        args = [str(tmp_path / a) if a.startswith("sheet.") else a for a in line.split()[1:]]
        result = _jixiao(*args)
        assert result.returncode == 0, result.stderr
        out = Path(args[-1])
        assert out.stat().st_size > 1000


def test_readme_batch_example(tmp_path: Path) -> None:
    text = (REPO_ROOT / "README.md").read_text("utf-8")
    block = _example("README.md", "cli-batch").replace("/tmp/season", str(tmp_path / "season"))
    shown = re.search(r"<!-- example: cli-batch -->\n```sh\n.*?```\n\n```\n(.*?)```", text, re.S)
    assert shown
    out = ""
    for line in block.strip().splitlines():
        args = line.split()
        if args[0] == ".venv/bin/jixiao":
            result = _jixiao(*args[1:])
            assert result.returncode == 4, result.stderr  # one package could not be scored
            out = result.stdout
        else:
            subprocess.run([sys.executable, *args[1:]], cwd=REPO_ROOT, check=True)
    assert out == shown.group(1).replace("/tmp/season", str(tmp_path / "season"))
    assert (tmp_path / "season" / "results.xlsx").is_file()
    assert len(list((tmp_path / "season" / "reports").glob("*.json"))) == 5


def test_readme_explain_example() -> None:
    text = (REPO_ROOT / "README.md").read_text("utf-8")
    shown = re.search(r"<!-- example: cli-explain -->\n```sh\n(.*?)```\n\n```\n(.*?)```", text, re.S)
    assert shown
    result = _jixiao(*shown.group(1).split()[1:])
    assert result.returncode == 0, result.stderr
    # The rubric's path in each source is printed as the command found it.
    printed = result.stdout.replace(str(REPO_ROOT) + "/", "")
    for line in shown.group(2).splitlines():
        assert line in printed.splitlines(), line
