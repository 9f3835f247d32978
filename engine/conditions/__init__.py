"""Rule conditions: a small, readable expression language over a fact's fields.

`when = "missing > 0 and not exempt"` parses into a typed tree that compiles both into a
durable_rules condition and into a plain-Python predicate.
"""

from engine.conditions.compile import to_durable, to_python
from engine.conditions.parse import Cond, ConditionError, parse_condition

__all__ = ["Cond", "ConditionError", "parse_condition", "to_durable", "to_python"]
