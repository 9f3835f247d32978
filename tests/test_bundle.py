"""The sealed rubric bundle: every file that can change a score is loaded, checked and hashed
together, named logically, and protected by the lock."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from engine.diagnostics import RubricError
from engine.dossier import load_package
from engine.evaluate.run import decision_id
from engine.lifecycle.lint import lint_file
from engine.rubric.datafiles import DATA_KINDS, data_name
from engine.rubric.load import load_bundle, load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023" / "dossier.toml"
AS_OF = dt.date(2024, 6, 28)


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    """rubrics/ and rules/ copied alone: (the rubric file, the rules root)."""
    shutil.copytree(BUNDLED_RUBRICS, tmp_path / "rubrics")
    shutil.copytree(BUNDLED_RULES, tmp_path / "rules")
    return tmp_path / "rubrics" / "yueyang-fujian5" / "2024.1.toml", tmp_path / "rules"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _unlock(rules: Path, kind: str, version: str = "2024.1") -> None:
    """Drop the lock entry of a data file, as if that version had never been published."""
    lock = rules / "published.lock"
    blocks = lock.read_text("utf-8").split("\n[[published]]\n")
    kept = [
        b for b in blocks if not (f'id = "{kind}"\n' in b and f'version = "{version}"\n' in b)
    ]
    assert len(kept) == len(blocks) - 1
    lock.write_text("\n[[published]]\n".join(kept), "utf-8")


def test_the_bundle_holds_and_names_every_file_it_loaded() -> None:
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    names = [name for name, _raw in rubric.files]
    assert names[0] == "rubrics/yueyang-fujian5/2024.1.toml"
    assert "rules/indicator-tables/2024.1.toml" in names
    assert "rules/vocabulary/2024.1.toml" in names
    assert "rules/layout/2024.1.toml" in names
    assert all(not Path(n).is_absolute() for n in names)
    assert {r.source.rpartition(":")[0] for r in rubric.rules} <= set(names)


def test_one_word_of_the_vocabulary_changes_the_sha_and_the_decision_and_the_lock_refuses_it(
    tmp_path: Path,
) -> None:
    path, rules = _copy(tmp_path)
    before = load_rubric(path, [rules])
    vocabulary = rules / "vocabulary" / "2024.1.toml"
    _edit(vocabulary, '"无此项",', '"无此项目",')  # one none-marker word
    with pytest.raises(RubricError) as refused:
        load_rubric(path, [rules])
    codes = {(d.file, d.code) for d in refused.value.diagnostics}
    assert codes == {("rules/vocabulary/2024.1.toml", "JX016")}
    _unlock(rules, "vocabulary")  # an unpublished vocabulary may change: the hash follows it
    after = load_rubric(path, [rules])
    assert after.sha256 != before.sha256
    package = load_package(EXAMPLE, before.layout)
    assert decision_id(package, after, "bureau", AS_OF) != decision_id(
        package, before, "bureau", AS_OF
    )


def test_a_changed_layout_is_refused_by_the_lock(tmp_path: Path) -> None:
    path, rules = _copy(tmp_path)
    _edit(rules / "layout" / "2024.1.toml", "max_title_lines = 3", "max_title_lines = 4")
    with pytest.raises(RubricError) as refused:
        load_rubric(path, [rules])
    assert any(d.file == "rules/layout/2024.1.toml" for d in refused.value.diagnostics)


@pytest.mark.parametrize(
    ("kind", "old", "new", "line_of"),
    [
        ("vocabulary", "none_markers = [", "none_markers = 5\nwas = [", "none_markers = 5"),
        ("layout", "max_title_lines = ", "max_title_lines = -", "max_title_lines = -"),
    ],
)
def test_a_broken_data_file_fails_lint_and_compile_with_its_position(
    tmp_path: Path, kind: str, old: str, new: str, line_of: str
) -> None:
    path, rules = _copy(tmp_path)
    data = rules / kind / "2024.1.toml"
    _edit(data, old, new)
    line = next(n for n, text in enumerate(data.read_text("utf-8").splitlines(), 1) if line_of in text)
    linted = lint_file(data, [rules])
    assert any(d.code == "JX002" and d.line == line and d.col > 0 for d in linted), linted
    _unlock(rules, kind)
    with pytest.raises(RubricError) as refused:
        load_rubric(path, [rules])
    assert any(
        d.file == f"rules/{kind}/2024.1.toml" and d.line == line and d.code == "JX002"
        for d in refused.value.diagnostics
    ), refused.value.diagnostics


def test_a_data_reference_stays_inside_its_kind_folder() -> None:
    assert data_name("vocabulary", "rules/vocabulary/2024.1.toml") == "rules/vocabulary/2024.1.toml"
    assert data_name("vocabulary", "2024.1") == "rules/vocabulary/2024.1.toml"
    for outside in ("/etc/passwd", "rules/layout/2024.1.toml", "rules/vocabulary/../x.toml", "../x"):
        assert data_name("vocabulary", outside) is None
    assert set(DATA_KINDS) >= {"layout", "vocabulary"}


def test_an_unknown_layout_is_a_diagnostic_at_the_key(tmp_path: Path) -> None:
    path, rules = _copy(tmp_path)
    _edit(path, 'rule_sets = [', 'layout = "2099.9"\nrule_sets = [')
    (tmp_path / "rubrics" / "published.lock").unlink()
    with pytest.raises(RubricError) as refused:
        load_rubric(path, [rules])
    (diag,) = refused.value.diagnostics
    assert (diag.file, diag.code) == ("rubrics/yueyang-fujian5/2024.1.toml", "JX018")
    assert path.read_text("utf-8").splitlines()[diag.line - 1].startswith("layout")


def test_a_bundle_compiles_from_memory_alone(tmp_path: Path) -> None:
    path, rules = _copy(tmp_path)
    rubric = load_rubric(path, [rules])
    shutil.rmtree(tmp_path / "rules")
    again = load_bundle(dict(rubric.files), rubric.files[0][0])
    assert again.sha256 == rubric.sha256
    assert again.layout == rubric.layout
    assert [r.source for r in again.rules] == [r.source for r in rubric.rules]


def test_a_rule_set_reference_never_reaches_outside_the_rules_root(tmp_path: Path) -> None:
    path, rules = _copy(tmp_path)
    (tmp_path / "outside.toml").write_text('id = ".."\nversion = "outside"\n', "utf-8")
    (tmp_path / "rubrics" / "published.lock").unlink()
    _edit(path, 'rule_sets = ["indicator-tables@2024.1"]', 'rule_sets = ["..@outside"]')
    with pytest.raises(RubricError) as refused:
        load_rubric(path, [rules])
    assert any(d.code == "JX004" for d in refused.value.diagnostics)
    assert all("outside" not in d.file for d in refused.value.diagnostics)  # never read
