"""Data files a rubric bundle loads besides rule sets: one entry per kind, one generic loader.

A data file lives at `rules/<kind>/<version>.toml` inside the rules root the bundle was loaded
from. Each kind names the pydantic model its TOML validates into; the loader reports every
problem as `file:line:col CODE message`, the same way as a rubric. Adding a kind (e.g. the
report-text concepts) is one `DataKind` entry in `DATA_KINDS` (its `load` takes the parsed TOML);
a measure names a file of that kind with a `data_file_param(kind)` parameter and reads the
loaded object from `ctx.data`. Lint, the lock, the bundle's sha256 and snapshots follow.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.diagnostics import Code, Diagnostic, RubricError
from engine.importers._layout import TextLayout
from engine.locate import Locator, toml_position
from engine.measures.quantity import QuantityVocabulary
from engine.text.concepts import ConceptsSpec, load_concepts

RULES = "rules"  # the logical name of a rules root, as sources and snapshots show it


@dataclass(frozen=True)
class DataKind:
    """A kind of data file: its folder under the rules root and how its TOML is loaded."""

    kind: str
    model: type[BaseModel]
    load: Callable[[dict[str, Any]], object]
    doc: str
    # A kind whose checks need more than its model (positions inside the text, the segmenter):
    # it reads the file's text itself, under its shown name, and raises RubricError with every
    # problem, each at its file:line:col.
    load_text: Callable[[str, str], object] | None = None


def _entry(kind: str, model: type[BaseModel], doc: str) -> DataKind:
    return DataKind(kind, model, model.model_validate, doc)


DATA_KINDS: Mapping[str, DataKind] = {
    entry.kind: entry
    for entry in (
        _entry("layout", TextLayout, "how the importers recognise tables, rows and headings"),
        _entry("vocabulary", QuantityVocabulary, "words and units of indicator targets"),
        DataKind(
            "concepts",
            ConceptsSpec,
            ConceptsSpec.model_validate,
            "what report text says: areas, causes, funding, concreteness, headings, points",
            load_concepts,
        ),
    )
}


def data_name(kind: str, ref: str) -> str | None:
    """The logical name `rules/<kind>/<version>.toml` of a reference, or None if it is not one.

    A reference is that name itself or the bare version; anything reaching outside the kind's
    folder (another folder, `..`, an absolute path) is not a reference.
    """
    if not ref or "\\" in ref:
        return None
    if "/" not in ref and not ref.endswith(".toml"):
        return f"{RULES}/{kind}/{ref}.toml"
    parts = PurePosixPath(ref).parts
    named = len(parts) == 3 and parts[:2] == (RULES, kind) and parts[2].endswith(".toml")
    return ref if named and not parts[2].startswith(".") else None


def kind_of(name: str) -> DataKind | None:
    """The data kind of a logical name `rules/<kind>/<version>.toml`, if it names one."""
    parts = PurePosixPath(name).parts
    if len(parts) == 3 and parts[0] == RULES:
        return DATA_KINDS.get(parts[1])
    return None


def load_data(kind: DataKind, raw: bytes, shown: str) -> tuple[object | None, list[Diagnostic]]:
    """(the loaded object or None, every problem) of one data file's bytes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(shown, 1, 1, Code.JX015, f"cannot read file: {exc}")]
    if kind.load_text is not None:
        try:
            return kind.load_text(text, shown), []
        except RubricError as exc:
            return None, list(exc.diagnostics)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col = toml_position(str(exc))
        return None, [Diagnostic(shown, line, col, Code.JX001, str(exc).split(" (at ")[0])]
    try:
        return kind.load(data), []
    except ValidationError as exc:
        locator = Locator(text)
        diags = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(top)"
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            line, col = locator.find(loc)
            diags.append(Diagnostic(shown, line, col, Code.JX002, f"{where}: {message}"))
        return None, diags
    except ValueError as exc:  # a model's own check outside pydantic's error list
        return None, [Diagnostic(shown, 1, 1, Code.JX002, " ".join(str(exc).split())[:300])]
