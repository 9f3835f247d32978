"""The condition language: parsing, type checks, and the two compilers agreeing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backends import EngineFact, PlannedRule, PythonBackend, RulesetPlan
from engine.backends.durable_adapter import DurableBackend
from engine.backends.durable_dialect import to_durable
from engine.conditions import ConditionError, parse_condition, to_python

FIELDS: dict[str, Any] = {"missing": "number", "share": "number", "name": "string", "ok": "bool"}


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("missing > 0", {"missing": Decimal(1)}, True),
        ("missing > 0", {"missing": Decimal(0)}, False),
        ("share >= 0.95", {"share": Decimal("0.95")}, True),
        ("share >= 0.95", {"share": Decimal("0.9499")}, False),
        ("not ok", {"ok": False}, True),
        ("ok", {"ok": False}, False),
        ("ok == false", {"ok": False}, True),
        ("name == '本级'", {"name": "本级"}, True),
        ('name != "本级"', {"name": "本级"}, False),
        ("0 < missing <= 3", {"missing": Decimal(3)}, True),
        ("0 < missing <= 3", {"missing": Decimal(4)}, False),
        ("not (missing > 1 and ok)", {"missing": Decimal(2), "ok": True}, False),
        ("missing > share", {"missing": Decimal(2), "share": Decimal(1)}, True),
        ("true", {}, True),
        ("missing > 0 or true", {"missing": Decimal(0)}, True),
        ("-1 < missing", {"missing": Decimal(0)}, True),
    ],
)
def test_python_predicate(text: str, fields: dict[str, Any], expected: bool) -> None:
    assert to_python(parse_condition(text, FIELDS))(fields) is expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("missing >", "JX007"),
        ("missng > 0", "JX005"),
        ("name > 3", "JX008"),
        ("missing == '3'", "JX008"),
        ("name < 'a'", "JX008"),
        ("missing + 1 > 0", "JX007"),
        ("missing", "JX008"),
        ("f(missing)", "JX007"),
        ("1 < 2", "JX007"),
    ],
)
def test_bad_conditions_have_codes(text: str, code: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(text, FIELDS)
    assert info.value.code == code


def test_unknown_field_suggests_the_close_one() -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition("missng > 0", FIELDS)
    assert "missing" in info.value.hint


def test_durable_expression_carries_the_type_tag() -> None:
    expr = to_durable(parse_condition("missing > 0", FIELDS), "_tag", "m1")
    assert expr == {"$and": [{"_tag": "m1"}, {"$gt": {"missing": 0}}]}
    assert to_durable(parse_condition("true", FIELDS), "_tag", "m1") == {"_tag": "m1"}


_CONDITIONS = [
    "missing > 0",
    "share >= 0.5",
    "not ok",
    "ok and missing <= 2",
    "name == 'a' or share < 0.25",
    "not (name != 'b' and missing > 1)",
    "missing > share",
    "0.1 <= share < 0.9",
    "true",
    "ok == false or (missing >= 3 and name != 'c')",
]

_facts = st.lists(
    st.fixed_dictionaries(
        {
            "missing": st.integers(-3, 5).map(Decimal),
            "share": st.sampled_from(["0", "0.1", "0.25", "0.5", "0.6667", "0.9", "1"]).map(
                Decimal
            ),
            "name": st.sampled_from(["a", "b", "c", "本级"]),
            "ok": st.booleans(),
        }
    ),
    max_size=12,
)

_DURABLE = DurableBackend()


@settings(max_examples=60, deadline=None)
@given(_facts)
def test_backends_agree_on_random_facts(facts: list[dict[str, Any]]) -> None:
    plan = RulesetPlan(
        "conditions-test#1",
        tuple(
            PlannedRule(f"r{i}", "t", parse_condition(c, FIELDS)) for i, c in enumerate(_CONDITIONS)
        ),
    )
    engine_facts = [EngineFact("t", i, f) for i, f in enumerate(facts)]
    assert _DURABLE.match(plan, engine_facts) == PythonBackend().match(plan, engine_facts)
