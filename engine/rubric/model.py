"""A compiled rubric: validated spec, resolved measures, parsed conditions, and the backend plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.backends.plan import RulesetPlan
from engine.conditions import Cond
from engine.importers._layout import TextLayout, default_layout
from engine.measures.base import MeasureSpec, Params
from engine.rubric.schema import BandSpec, ClauseSpec, ItemSpec, RubricSpec, RuleSpec


@dataclass(frozen=True)
class MeasureInstance:
    """A measure kind with resolved parameters; its facts are computed once per evaluation."""

    tag: str  # the fact type tag, unique per (kind, parameters)
    spec: MeasureSpec
    params: Params


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate, with where it was written."""

    spec: RuleSpec
    tag: str
    cond: Cond
    source: str  # "file:line"
    rule_set: str  # "" for the rubric's own rules, else "<id>@<version>"
    item: ItemSpec | None = None
    clause: ClauseSpec | None = None


@dataclass(frozen=True)
class CompiledBand:
    """A band of a discretionary clause, ready to evaluate."""

    spec: BandSpec
    tag: str
    cond: Cond
    source: str
    item: ItemSpec
    clause: ClauseSpec


@dataclass(frozen=True)
class RuleSetRef:
    """A rule set a rubric uses, with its content hash."""

    id: str
    version: str
    path: str  # its logical name, rules/<id>/<version>.toml
    sha256: str


@dataclass(frozen=True)
class Rubric:
    """Everything needed to score packages under one rubric version."""

    spec: RubricSpec
    path: Path
    sha256: str
    source: str  # the rubric TOML text, kept for snapshots
    rule_sets: tuple[RuleSetRef, ...]
    measures: dict[str, MeasureInstance]
    rules: tuple[CompiledRule, ...]
    bands: tuple[CompiledBand, ...]
    plan: RulesetPlan
    parameters: dict[str, object] = field(default_factory=dict)
    # Every file the bundle loaded (logical name, bytes), rubric first: the sha256 covers them.
    files: tuple[tuple[str, bytes], ...] = ()
    # Loaded data files by logical name (`rules/vocabulary/2024.1.toml` -> its model).
    data: Mapping[str, object] = field(default_factory=dict)
    layout: TextLayout = field(default_factory=default_layout)

    @property
    def ref(self) -> str:
        """`id@version`."""
        return f"{self.spec.id}@{self.spec.version}"
