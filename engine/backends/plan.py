"""What a backend is given: the rules of one rubric version and the facts of one evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from engine.conditions.parse import Cond


@dataclass(frozen=True)
class PlannedRule:
    """A rule (or a band) as the backends see it: its id, the fact type it reads, its condition."""

    rule_id: str
    tag: str
    cond: Cond


@dataclass(frozen=True)
class RulesetPlan:
    """All rules of one rubric version, under a name unique to its content."""

    name: str  # "<rubric>@<version>#<sha8>": a durable_rules name can never be registered twice
    rules: tuple[PlannedRule, ...]


@dataclass(frozen=True)
class EngineFact:
    """One fact as asserted: its type tag, its index in the evaluation, and its coerced fields.

    Numbers are already quantized Decimals (see engine.evaluate.facts); booleans are bools.
    """

    tag: str
    index: int
    fields: Mapping[str, object]


Match = tuple[str, int]


class Backend(Protocol):
    """Matches facts against a plan."""

    name: str

    def match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        """Every (rule id, fact index) whose condition holds."""
        ...  # pragma: no cover - protocol
