"""The durable_rules adapter handles the pitfalls of domain.md §7."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from engine.backends import EngineFact, PlannedRule, RulesetPlan
from engine.backends.durable_adapter import DurableBackend, EngineError, durable_fact
from engine.conditions import parse_condition

FIELDS: dict[str, Any] = {"n": "number", "s": "string"}


def _plan(name: str) -> RulesetPlan:
    return RulesetPlan(
        name,
        (
            PlannedRule("big", "t", parse_condition("n > 10", FIELDS)),
            PlannedRule("named", "t", parse_condition("s == 'x' or s == 'y'", FIELDS)),
        ),
    )


def _facts() -> list[EngineFact]:
    return [
        EngineFact("t", 0, {"n": Decimal(11), "s": "x"}),
        EngineFact("t", 1, {"n": Decimal(1), "s": "z"}),  # matches nothing
        EngineFact("t", 2, {"n": Decimal("10.5"), "s": "y"}),
    ]


def test_matches_and_unmatched_facts() -> None:
    backend = DurableBackend()
    assert backend.match(_plan("a#1"), _facts()) == {
        ("big", 0),
        ("named", 0),
        ("big", 2),
        ("named", 2),
    }


def test_more_sessions_than_the_live_sid_limit() -> None:
    # More than 1,024 live sids breaks a ruleset: each evaluation must delete its state.
    backend = DurableBackend()
    plan = _plan("a#2")
    for _ in range(1100):
        assert backend.match(plan, _facts())


def test_no_fact_matching_is_safe() -> None:
    # delete_state on a session where nothing matched crashed the process: the sentinel prevents it.
    backend = DurableBackend()
    assert backend.match(_plan("a#3"), []) == set()
    assert backend.match(_plan("a#3"), [EngineFact("t", 0, {"n": Decimal(0), "s": "z"})]) == set()


def test_calls_from_many_threads_are_serialised() -> None:
    backend = DurableBackend()
    plan = _plan("a#4")
    expected = backend.match(plan, _facts())
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: backend.match(plan, _facts()), range(200)))
    assert all(r == expected for r in results)


def test_same_plan_registers_once_and_new_names_coexist() -> None:
    backend = DurableBackend()
    backend.match(_plan("a#5"), _facts())
    backend.match(_plan("a#5"), _facts())
    backend.match(_plan("a#6"), _facts())
    assert backend.live_rulesets() == ["a#5", "a#6"]


def test_action_exception_is_surfaced(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DurableBackend()

    def failing(rule_id: str) -> Any:
        def act(c: Any) -> None:
            raise ValueError(f"boom in {rule_id}")

        return act

    monkeypatch.setattr(backend, "_action", failing)
    with pytest.raises(EngineError, match="boom"):
        backend.match(_plan("a#7"), _facts())


def test_fact_limits_are_checked_before_durable_rules_sees_them() -> None:
    with pytest.raises(EngineError, match="fields"):
        durable_fact(EngineFact("t", 0, {f"f{i}": Decimal(i) for i in range(300)}), "s")
    with pytest.raises(EngineError, match="too large"):
        durable_fact(EngineFact("t", 0, {"n": Decimal("1e20")}), "s")
    with pytest.raises(EngineError, match="exponent"):
        durable_fact(EngineFact("t", 0, {"n": Decimal("0.00001")}), "s")
    assert durable_fact(EngineFact("t", 0, {"n": Decimal("0.0001"), "b": True}), "s")["b"] == 1


def test_old_rulesets_are_dropped_past_the_cap() -> None:
    backend = DurableBackend(max_rulesets=2)
    for n in range(5):
        assert backend.match(_plan(f"cap#{n}"), _facts()) == {("big", 0), ("named", 0), ("big", 2), ("named", 2)}
        assert len(backend.live_rulesets()) <= 2
    assert backend.match(_plan("cap#0"), _facts())  # an old version comes back when used again
