"""durable_rules' JSON dialect of a condition: known here and nowhere else.

durable_rules receives booleans as 1 / 0 and numbers as floats made from Decimals that the
evaluator has already quantized (see engine.evaluate.run), so both backends compare the same
values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.conditions.parse import BoolOp, Compare, Cond, Const

_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def durable_value(value: Decimal | str | bool) -> float | int | str:
    """A literal as durable_rules sees it."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def to_durable(cond: Cond, tag_field: str, tag: str) -> dict[str, Any]:
    """A durable_rules `m` expression: the type tag AND the condition."""
    if isinstance(cond, Const):
        if not cond.value:
            # A rule that can never fire still needs a valid, positive expression.
            return {"$and": [{tag_field: tag}, {tag_field: tag + "#never"}]}
        return {tag_field: tag}
    return {"$and": [{tag_field: tag}, _durable(cond)]}


def _durable(cond: Cond) -> dict[str, Any]:
    if isinstance(cond, Const):  # parse_condition folds constants away; never nested
        raise ValueError("a constant cannot be nested in a durable_rules condition")
    if isinstance(cond, BoolOp):
        return {"$and" if cond.op == "and" else "$or": [_durable(p) for p in cond.parts]}
    rhs: Any = {"$m": cond.other} if cond.other else durable_value(_lit(cond))
    if cond.op == "==":
        return {cond.field: rhs}
    return {_DURABLE_OP[cond.op]: {cond.field: rhs}}


def _lit(cond: Compare) -> Decimal | str | bool:
    assert cond.value is not None  # a parsed comparison always has a value or another field
    return cond.value
