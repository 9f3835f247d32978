"""Other templates' header wording (lettered MOF columns, units, synonyms) imports to the same
model and scores the same; a header cell the layout cannot place is a warning naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents_support import (
    EXAMPLE,
    FIXTURES,
    imported,
    model_of,
    report_of,
    rubric,
    score,
    strip_locations,
)

from engine.dossier import load_package
from engine.importers.dispatch import import_document

SAME = ["letters", "units", "synonyms"]


@pytest.mark.parametrize("name", SAME)
def test_wording_variants_import_to_the_seed_model(name: str) -> None:
    assert model_of(imported(FIXTURES / f"wording-{name}.docx")) == model_of(
        imported(EXAMPLE / "package.docx")
    )


@pytest.mark.parametrize("name", SAME)
def test_wording_variants_give_the_example_report(name: str, tmp_path: Path) -> None:
    # the Word dossier as it is, with the variant in place of package.docx
    (tmp_path / "dossier.toml").write_bytes((EXAMPLE / "dossier-docx.toml").read_bytes())
    (tmp_path / "package.docx").write_bytes((FIXTURES / f"wording-{name}.docx").read_bytes())
    report = score(load_package(tmp_path / "dossier.toml", rubric().layout))
    assert strip_locations(report) == strip_locations(report_of("dossier-docx.toml"))


def test_the_synonyms_come_from_the_layout() -> None:
    """Without the layout's synonyms the renamed columns are not found (the test can fail)."""
    layout = rubric().layout
    bare = layout.model_copy(
        update={
            "self_eval": layout.self_eval.model_copy(
                update={
                    "indicators": layout.self_eval.indicators.model_copy(update={"synonyms": ()}),
                    "funding": layout.self_eval.funding.model_copy(update={"synonyms": ()}),
                }
            )
        }
    )
    data = (FIXTURES / "wording-synonyms.docx").read_bytes()
    assert model_of(import_document("package.docx", data, layout=bare)) != model_of(
        imported(EXAMPLE / "package.docx")
    )


def test_a_header_no_layout_word_names_is_a_warning_naming_it() -> None:
    docs = imported(FIXTURES / "wording-unknown.docx")
    unplaced = [w for w in docs.warnings if w.code == "IMPORT_HEADER_UNPLACED"]
    assert {w.text for w in unplaced} == {"情况说明"}
    assert all(w.location.document.startswith("wording-unknown.docx:表") for w in unplaced)
    # one per self-evaluation table that has the column
    assert len(unplaced) == 1 + len(docs.project_tables)
