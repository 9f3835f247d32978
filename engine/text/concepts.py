"""The concepts file: words, combinations of concepts, areas, and how a section is cut into points.

One loader, `load_concepts(text, shown)`, takes the file's text and the name to show in
diagnostics, so a bundle loader can hash and load the same bytes. Problems are reported as
`file:line:col CODE message` (engine/diagnostics.py).
"""

from __future__ import annotations

import re
import tomllib

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.diagnostics import Code, Diagnostic, RubricError
from engine.locate import Locator

# The repository root (as engine.measures._arith: importing the registry here would be circular).


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regexes(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
    return values


class Segmentation(_Model):
    """How a section is cut into points (every list is regexes, matched on simplified text)."""

    markers: list[str] = Field(min_length=1)  # an enumeration mark that starts a point
    marker_after: str  # a mark counts only at the line's start or after one of these characters
    lead_in: list[str] = Field(default_factory=list)  # a sentence that introduces the points
    closing: list[str] = Field(default_factory=list)  # a sentence that closes the section
    noise: list[str] = Field(default_factory=list)  # page numbers, running headers and footers
    null: list[str] = Field(default_factory=list)  # a point (or section) that says "nothing"
    split_single_paragraph_on: str = "；"  # one unmarked paragraph: its points are separated so
    min_point_chars: int = Field(default=4, ge=1)  # shorter pieces are not points
    clause_separators: str = "，,；;。！？"  # a combination concept holds inside one clause

    _check = field_validator("markers", "lead_in", "closing", "noise", "null")(_regexes)


class Concept(_Model):
    """Words (any one), or a combination of other concepts inside one clause."""

    words: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)  # regexes, e.g. a figure
    all: list[str] = Field(default_factory=list)  # every one of these concepts, in one clause
    any: list[str] = Field(default_factory=list)  # one of these concepts
    none: list[str] = Field(default_factory=list)  # and none of these (in the clause)

    _check = field_validator("patterns")(_regexes)


class ConceptsSpec(_Model):
    """The whole file."""

    version: str = Field(min_length=1)
    convert: str = "t2s"  # OpenCC configuration applied before anything else
    segmentation: Segmentation
    concepts: dict[str, Concept] = Field(min_length=1)
    # 附件5's areas, each found by a concept ("资金分配、使用和管理" = "area_funds").
    areas: dict[str, str] = Field(min_length=1)
    stop_words: list[str] = Field(default_factory=list)  # never count as shared content words


class Concepts:
    """A loaded, checked concepts file; `lexicon()` gives the word matcher built from it."""

    def __init__(self, spec: ConceptsSpec, shown: str) -> None:
        self.spec = spec
        self.shown = shown
        self.key = f"{shown}@{spec.version}"

    def words(self) -> list[str]:
        """Every word of every concept, sorted (the segmenter's added dictionary)."""
        return sorted({w for c in self.spec.concepts.values() for w in c.words})

    def __repr__(self) -> str:
        return f"Concepts({self.key!r})"


def load_concepts(text: str, shown: str) -> Concepts:
    """Parse and check a concepts file's text; raise RubricError with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        line, col = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
        raise RubricError([Diagnostic(shown, line, col, Code.JX001, str(exc))]) from None
    where = Locator(text)
    try:
        spec = ConceptsSpec.model_validate(data)
    except ValidationError as exc:
        diags = []
        for err in exc.errors():
            path = tuple(p for p in err["loc"] if isinstance(p, str | int))
            line, col = where.find(path)
            diags.append(
                Diagnostic(shown, line, col, Code.JX002, f"{'.'.join(map(str, path))}: {err['msg']}")
            )
        raise RubricError(diags) from None
    diags = _lint(spec, where, shown)
    if diags:
        raise RubricError(diags)
    return Concepts(spec, shown)


def _lint(spec: ConceptsSpec, where: Locator, shown: str) -> list[Diagnostic]:
    """Unknown concepts, empty concepts, cycles, and words the segmenter would not keep whole."""
    from engine.text.words import unsegmentable  # the segmenter loads only when it is needed

    out: list[Diagnostic] = []

    def diag(path: tuple[str | int, ...], code: Code, message: str) -> None:
        line, col = where.find(path)
        out.append(Diagnostic(shown, line, col, code, message))

    names = spec.concepts
    for name, concept in names.items():
        if not (concept.words or concept.patterns or concept.all or concept.any):
            diag(("concepts", name), Code.JX020, f"concept {name!r} has no words and no concepts")
        for key in ("all", "any", "none"):
            for ref in getattr(concept, key):
                if ref not in names:
                    diag(
                        ("concepts", name, key),
                        Code.JX019,
                        f"concept {name!r} names unknown concept {ref!r}",
                    )
        for word in concept.words:
            if not word.strip():
                diag(("concepts", name, "words"), Code.JX020, f"concept {name!r} has an empty word")
    for area, ref in spec.areas.items():
        if ref not in names:
            diag(("areas", area), Code.JX019, f"area {area!r} names unknown concept {ref!r}")
    if not out:
        cycle = _cycle(spec)
        if cycle:
            diag(
                ("concepts", cycle[0]),
                Code.JX019,
                "concepts refer to each other in a cycle: " + " -> ".join(cycle),
            )
    if not out:
        words = sorted({w for c in names.values() for w in c.words})
        bad = set(unsegmentable(words))
        for name, concept in names.items():
            for word in concept.words:
                if word in bad:
                    diag(
                        ("concepts", name, "words"),
                        Code.JX021,
                        f"concept {name!r}: word {word!r} never segments as written",
                    )
    return out


def _cycle(spec: ConceptsSpec) -> list[str]:
    """A cycle among concept references, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        concept = spec.concepts[name]
        for ref in [*concept.all, *concept.any, *concept.none]:
            if state.get(ref) == 1:
                return [*stack[stack.index(ref) :], ref]
            if ref not in state:
                found = visit(ref)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return []

    for name in spec.concepts:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []
