"""Rule-matching backends: durable_rules (the default) and a plain-Python checker.

Both take the same plan (rule id, type tag, condition) and the same facts, and return the set
of (rule id, fact index) pairs that match. Everything else in an evaluation is shared.
"""

from engine.backends.plan import EngineFact, PlannedRule, RulesetPlan
from engine.backends.python_backend import PythonBackend

__all__ = ["EngineFact", "PlannedRule", "PythonBackend", "RulesetPlan"]
