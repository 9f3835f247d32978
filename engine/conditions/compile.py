"""Compile a condition tree into a plain-Python predicate.

durable_rules' JSON form of a condition is the durable backend's own business
(engine.backends.durable_dialect): nothing else knows that dialect.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.conditions.parse import BoolOp, Cond, Const

_PY_OP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def to_python(cond: Cond) -> Callable[[Mapping[str, Any]], bool]:
    """A plain-Python predicate over a fact's fields (Decimal, str, bool)."""
    if isinstance(cond, Const):
        value = cond.value
        return lambda _fields: value
    if isinstance(cond, BoolOp):
        parts = [to_python(p) for p in cond.parts]
        if cond.op == "and":
            return lambda fields: all(p(fields) for p in parts)
        return lambda fields: any(p(fields) for p in parts)
    fn = _PY_OP[cond.op]
    name = cond.field
    if cond.other:
        other = cond.other
        return lambda fields: bool(fn(fields[name], fields[other]))
    literal = cond.value
    return lambda fields: bool(fn(fields[name], literal))
