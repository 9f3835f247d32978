"""The plain-Python backend: the same conditions as plain predicates. It checks durable_rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.backends.plan import EngineFact, Match, RulesetPlan
from engine.conditions import to_python


class PythonBackend:
    """Evaluates conditions directly; fast, and the reference for the durable_rules backend."""

    name = "python"

    def __init__(self) -> None:
        self._compiled: dict[
            str, dict[str, list[tuple[str, Callable[[Mapping[str, Any]], bool]]]]
        ] = {}

    def _plan(
        self, plan: RulesetPlan
    ) -> dict[str, list[tuple[str, Callable[[Mapping[str, Any]], bool]]]]:
        by_tag = self._compiled.get(plan.name)
        if by_tag is None:
            by_tag = {}
            for rule in plan.rules:
                by_tag.setdefault(rule.tag, []).append((rule.rule_id, to_python(rule.cond)))
            self._compiled[plan.name] = by_tag
        return by_tag

    def match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        """Every (rule id, fact index) whose condition holds."""
        by_tag = self._plan(plan)
        out: set[Match] = set()
        for fact in facts:
            for rule_id, predicate in by_tag.get(fact.tag, ()):
                if predicate(fact.fields):
                    out.add((rule_id, fact.index))
        return out
