"""Rule conditions: a small, readable expression language over a fact's fields.

`when = "missing > 0 and not exempt"` parses into a typed tree that compiles into a
plain-Python predicate here, and into durable_rules' JSON in the durable backend.
"""

from engine.conditions.compile import to_python
from engine.conditions.parse import Cond, ConditionError, parse_condition

__all__ = ["Cond", "ConditionError", "parse_condition", "to_python"]
