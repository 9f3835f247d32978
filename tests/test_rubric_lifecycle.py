"""Rubric lifecycle: lint diagnostics (golden files), schemas, immutable versions, case suites, what-if."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine.backends import PythonBackend
from engine.diagnostics import RubricError
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.rubric.diff import load_corpus, rescore, rule_changes
from engine.rubric.lint import SCHEMA_DIR, lint_file, lint_tree, publish, schemas
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

GOLDEN = Path(__file__).parent / "golden" / "rubrics"
REGENERATE = os.environ.get("JIXIAO_REGENERATE_GOLDEN") == "1"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.toml")), ids=lambda p: p.stem)
def test_broken_rubric_diagnostics_match_golden(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Diagnostics name the file as given, relative to the working directory.
    monkeypatch.chdir(GOLDEN)
    rendered = "\n".join(d.render() for d in lint_file(Path(path.name), [BUNDLED_RULES])) + "\n"
    expected = path.with_suffix(".expected")
    if REGENERATE:
        expected.write_text(rendered, "utf-8")
    assert rendered.strip(), "a broken rubric must produce diagnostics"
    assert rendered == expected.read_text("utf-8")


def test_every_golden_code_is_documented() -> None:
    documented = (REPO_ROOT / "docs" / "errors.md").read_text("utf-8")
    for expected in GOLDEN.glob("*.expected"):
        for line in expected.read_text("utf-8").splitlines():
            code = line.split(": ", 1)[1].split()[0]
            assert f"| {code} |" in documented, code


def test_bundled_rubrics_and_rule_sets_lint_clean() -> None:
    diags, files = lint_tree([BUNDLED_RUBRICS, BUNDLED_RULES], [BUNDLED_RULES])
    assert diags == []
    assert files >= 6


def test_committed_schemas_match_the_models() -> None:
    # Regenerate with `jixiao rubric schema`.
    for name, text in schemas().items():
        assert (SCHEMA_DIR / name).read_text("utf-8") == text, name


def test_toml_files_carry_a_schema_header() -> None:
    for path in [*BUNDLED_RUBRICS.glob("*/*.toml"), *BUNDLED_RUBRICS.glob("*/tests/*.toml")]:
        assert path.read_text("utf-8").startswith("#:schema "), path


def _tree(tmp_path: Path) -> Path:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(BUNDLED_RUBRICS / "yueyang-fujian5", rubrics / "yueyang-fujian5")
    return rubrics / "yueyang-fujian5" / "2024.1.toml"


def test_a_published_version_cannot_change(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    digest = publish(path)
    assert load_rubric(path, [BUNDLED_RULES]).sha256  # unchanged: loads
    assert publish(path) == digest  # publishing again is a no-op
    path.write_text(
        path.read_text("utf-8").replace("deadline = 2024-06-30", "deadline = 2024-07-15"), "utf-8"
    )
    with pytest.raises(RubricError) as info:
        load_rubric(path, [BUNDLED_RULES])
    assert [d.code for d in info.value.diagnostics] == ["JX016"]
    with pytest.raises(RubricError):
        publish(path)


def test_bundled_published_versions_are_intact() -> None:
    for lock in (BUNDLED_RUBRICS / "published.lock", BUNDLED_RULES / "published.lock"):
        entries = tomllib.loads(lock.read_text("utf-8"))["published"]
        assert entries, lock


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_lint_reports_and_fails(tmp_path: Path) -> None:
    broken = tmp_path / "r" / "mini"
    broken.mkdir(parents=True)
    shutil.copy(GOLDEN / "unknown-field.toml", broken / "1.toml")
    result = _cli("rubric", "lint", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "1.toml:26:9: JX005 unknown field 'dnoe'" in result.stdout
    assert _cli("rubric", "lint").returncode == 0


def test_cli_rubric_test_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    for other in (path.parent / "tests").glob("*.toml"):  # every suite finds the example
        other.write_text(
            other.read_text("utf-8").replace("../../../examples", str(REPO_ROOT / "examples")),
            "utf-8",
        )
    suite = path.parent / "tests" / "clauses.toml"
    text = suite.read_text("utf-8")
    suite.write_text(
        text.replace(
            '{ rule = "notice.not-issued", points = 2 }',
            '{ rule = "notice.not-issued", points = 3 }',
            1,
        ),
        "utf-8",
    )
    result = _cli("rubric", "test", str(path.parent))
    assert result.returncode == 1
    assert "FAIL" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("1 failed")


def _corpus(tmp_path: Path) -> Path:
    """Variations of the example package: lateness, notice elements, units."""
    source = REPO_ROOT / "examples" / "yueyang-kjj-2023"
    manifest = (source / "dossier.toml").read_text("utf-8")
    variants = {
        "on-time": manifest,
        "late": manifest.replace("received_on = 2024-06-28", "received_on = 2024-07-04"),
        "no-notice": manifest.replace("issued = true", "issued = false"),
        "two-elements": manifest.replace('"自评程序和步骤", "有关要求", "附件"', ""),
    }
    corpus = tmp_path / "corpus"
    for name, text in variants.items():
        (corpus / name).mkdir(parents=True)
        shutil.copy(source / "package.txt", corpus / name / "package.txt")
        (corpus / name / "dossier.toml").write_text(text, "utf-8")
    return corpus


def test_diff_deltas_match_scoring_each_package_separately(tmp_path: Path) -> None:
    old = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    new = load_rubric(BUNDLED_RUBRICS / "yitihua-platform" / "2024.1.toml", [BUNDLED_RULES])
    changes = rule_changes(old, new)
    assert any(c.ident == "tables.deviation.exceeded" and c.kind == "added" for c in changes)
    assert any(c.ident == "problems.partial.range" for c in changes)
    corpus = _corpus(tmp_path)
    deltas = rescore(old, new, load_corpus(corpus), PythonBackend(), as_of=dt.date(2024, 7, 10))
    assert len(deltas) == 4
    evaluator = Evaluator(PythonBackend())
    for delta in deltas:
        package = load_package(corpus / delta.package)
        a = evaluator.evaluate(package, old, mode="bureau", as_of=dt.date(2024, 7, 10))["total"][
            "score"
        ]
        b = evaluator.evaluate(package, new, mode="bureau", as_of=dt.date(2024, 7, 10))["total"][
            "score"
        ]
        assert (delta.old, delta.new, delta.delta) == (a, b, b - a)
        assert delta.causes, "every changed package names the rules that changed its score"


def test_cli_diff_prints_changes_and_deltas(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    result = _cli(
        "rubric",
        "diff",
        "yueyang-fujian5@2024.1",
        "yitihua-platform@2024.1",
        "--corpus",
        str(corpus),
        "--as-of",
        "2024-07-10",
    )
    assert result.returncode == 0, result.stderr
    assert "tables.deviation.exceeded" in result.stdout
    assert "合计：4 个包" in result.stdout


def test_effective_from_and_fiscal_years_choose_the_version() -> None:
    from engine.rubric.registry import RubricVersion, choose

    versions = [
        RubricVersion(
            "r", "2024.1", Path("a.toml"), (2023, 2024), effective_from=dt.date(2024, 1, 1)
        ),
        RubricVersion("r", "2025.1", Path("b.toml"), (2024,), effective_from=dt.date(2025, 3, 1)),
        RubricVersion("r", "2023.1", Path("c.toml"), (2022,), effective_from=dt.date(2023, 1, 1)),
    ]
    assert choose("r", versions, fiscal_year=2024) == Path("b.toml")
    assert choose("r", versions, fiscal_year=2024, as_of=dt.date(2025, 1, 10)) == Path("a.toml")
    assert choose("r", versions, fiscal_year=2024, as_of=dt.date(2025, 6, 1)) == Path("b.toml")
    assert choose("r", versions, fiscal_year=2022) == Path("c.toml")
    assert choose("r@2023.1", versions, fiscal_year=2024) == Path("c.toml")
