"""Shared helpers of the document tests: scoring a dossier and comparing models and reports."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from engine.backends import PythonBackend
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.importers.dispatch import import_document
from engine.importers.text import ImportedDocuments
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "yueyang-kjj-2023"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
AS_OF = dt.date(2024, 6, 28)


@cache
def rubric() -> Rubric:
    """The FY2023 default: its layout (2024.2) reads PDFs and other templates' wording."""
    return load_rubric(REPO / "rubrics/yueyang-fujian5/2024.2.toml", [REPO / "rules"])


def score(package: Package) -> dict[str, Any]:
    """The bureau-mode report of a package, as the issue's tests specify."""
    return Evaluator(PythonBackend()).evaluate(package, rubric(), mode="bureau", as_of=AS_OF)


@cache
def report_of(manifest: str) -> dict[str, Any]:
    return score(load_package(EXAMPLE / manifest, rubric().layout))


def strip_locations(value: Any, extra: tuple[str, ...] = ()) -> Any:
    """`value` without its `location` keys (and any `extra` keys), recursively.

    The decision id hashes the whole package, locations included, so it is left out too.
    """
    drop = {"location", "decision_id", *extra}
    if isinstance(value, dict):
        return {k: strip_locations(v, extra) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [strip_locations(v, extra) for v in value]
    return value


def imported(path: Path) -> ImportedDocuments:
    """A document read with the rubric's own layout, as scoring reads it."""
    return import_document(path.name, path.read_bytes(), layout=rubric().layout)


def model_of(docs: ImportedDocuments, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The parsed documents as plain data without locations and raw cell text (the figures a
    typed Excel cell shows are the same; its U+3000 padding is not)."""
    data: dict[str, Any] = {
        "basic_data": docs.basic_data.model_dump(mode="json") if docs.basic_data else None,
        "department_table": docs.department_table.model_dump(mode="json")
        if docs.department_table
        else None,
        "project_tables": [t.model_dump(mode="json") for t in docs.project_tables],
        "report": docs.report.model_dump(mode="json") if docs.report else None,
        "warnings": [w.model_dump(mode="json") for w in docs.warnings],
    }
    return strip_locations(data, ("raw", *extra))  # type: ignore[no-any-return]


@cache
def seed_model() -> dict[str, Any]:
    return model_of(imported(EXAMPLE / "package.txt"))
