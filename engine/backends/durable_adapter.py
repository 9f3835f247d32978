"""The only module that touches durable_rules. It handles every pitfall in domain.md §7.

- Every engine call runs on one dedicated thread: durable_rules is not thread-safe, and its
  Host's own dispatcher timer threads race with callers, so the Host here starts none.
- A fresh sid per evaluation, with delete_state in `finally`: more than 1,024 live sids breaks
  a ruleset until the process restarts.
- Every evaluation opens with a sentinel fact that a sentinel rule always matches: delete_state
  on a session where nothing matched crashes the process.
- Facts are asserted one by one (a batch with one unmatched fact fires nothing, and a failed
  batch followed by delete_state crashed the process).
- Every rule carries a positive type tag: a rule of only "does not exist" tests loops forever.
- Exceptions raised inside actions are swallowed by durable_rules into state["exception"];
  they are surfaced here as EngineError.
- A ruleset name is registered once; plans are named by content hash, so a new version is a
  new name, and re-registering the same name reuses the existing ruleset.
- durable_rules compares strings with numbers as strings and rejects floats printed as 1e-05
  and facts with more than 255 fields: facts are checked before they are asserted.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from durable.engine import (  # untyped; pyproject's mypy override ignores its missing stubs
    Host,
    MessageNotHandledException,
    MessageObservedException,
)

from engine.backends.plan import EngineFact, Match, RulesetPlan
from engine.conditions import to_durable

TAG = "_tag"
SENTINEL = "$sentinel"
MAX_FIELDS = 255
# Floats at or above 1e16 print with an exponent, which durable_rules rejects (error 204).
MAX_MAGNITUDE = Decimal("1e15")


class EngineError(Exception):
    """durable_rules refused a fact or a rule action failed."""


class _QuietHost(Host):  # type: ignore[misc]  # Host is untyped
    """A Host without the background dispatcher and timer threads (they race with callers)."""

    def _run(self) -> None:
        return None


def durable_fact(fact: EngineFact, sid: str) -> dict[str, Any]:
    """A fact as durable_rules accepts it: ints, plain floats, strings; at most 255 fields."""
    if len(fact.fields) + 3 > MAX_FIELDS:
        raise EngineError(
            f"fact {fact.tag} has {len(fact.fields)} fields; durable_rules allows {MAX_FIELDS - 3}"
        )
    out: dict[str, Any] = {"sid": sid, "id": str(fact.index), TAG: fact.tag}
    for name, value in fact.fields.items():
        if isinstance(value, bool):
            out[name] = 1 if value else 0
        elif isinstance(value, Decimal):
            if abs(value) >= MAX_MAGNITUDE:
                raise EngineError(f"fact {fact.tag}.{name}={value} is too large for durable_rules")
            out[name] = int(value) if value == value.to_integral_value() else float(value)
            if isinstance(out[name], float) and "e" in repr(out[name]):
                raise EngineError(f"fact {fact.tag}.{name}={value} would print with an exponent")
        elif isinstance(value, str):
            out[name] = value
        else:
            raise EngineError(f"fact {fact.tag}.{name} has unsupported type {type(value).__name__}")
    return out


class DurableBackend:
    """Matches facts with durable_rules, all calls on one thread."""

    name = "durable"

    def __init__(self, *, max_rulesets: int = 32) -> None:
        # durable_rules cannot unregister a ruleset: past this many (old rubric versions after
        # reloads), the engine starts a fresh Host and re-registers what is used next.
        self.max_rulesets = max_rulesets
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="durable-rules")
        self._host: Any = None
        self._registered: dict[str, dict[str, Any]] = {}
        self._collector: list[Match] = []
        self._sids = itertools.count(1)
        self._lock = threading.Lock()

    # -- public API: safe from any thread --------------------------------------------------

    def match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        """Every (rule id, fact index) whose condition holds."""
        return self._executor.submit(self._match, plan, facts).result()

    @staticmethod
    def definition_of(plan: RulesetPlan) -> dict[str, Any]:
        """The ruleset as registered with durable_rules, without its actions (JSON-serialisable)."""
        return {plan.name: _definition(plan, lambda _rule_id: None)}

    def live_rulesets(self) -> list[str]:
        """Names registered in this process."""
        return sorted(self._registered)

    def close(self) -> None:
        """Stop the engine thread."""
        self._executor.shutdown(wait=True)

    # -- on the engine thread only ----------------------------------------------------------

    def _ensure(self, plan: RulesetPlan) -> None:
        if plan.name in self._registered:
            return
        if self._host is None or len(self._registered) >= self.max_rulesets:
            # Safe: every call runs on this one thread, so no evaluation is inside the old Host.
            self._host = _QuietHost()
            self._registered.clear()
        definition = _definition(plan, self._action)
        # set_rulesets mutates what it is given (it pops the actions): keep our own copy clean.
        self._host.set_rulesets(
            {plan.name: copy.deepcopy(definition, memo=_keep_callables(definition))}
        )
        self._registered[plan.name] = definition

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def record(c: Any) -> None:
            self._collector.append((rule_id, int(c.m["id"])))

        return record

    def _match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        self._ensure(plan)
        sid = f"e{next(self._sids)}"
        self._collector = []
        host = self._host
        try:
            self._assert(plan.name, {"sid": sid, "id": "-1", TAG: SENTINEL})
            for fact in facts:
                self._assert(plan.name, durable_fact(fact, sid))
        finally:
            host.delete_state(plan.name, sid)
        # An `or` condition fires once per matching branch: the set removes the repeats.
        return {m for m in self._collector if m[0] != SENTINEL}

    def _assert(self, ruleset: str, fact: dict[str, Any]) -> None:
        try:
            state = self._host.assert_fact(ruleset, fact)
        except MessageNotHandledException:
            return  # the fact matched no rule: normal
        except MessageObservedException as exc:
            raise EngineError(f"duplicate fact {fact.get('id')} in one evaluation") from exc
        except Exception as exc:  # durable_rules raises bare Exception for engine errors
            raise EngineError(f"durable_rules refused fact {fact.get('id')}: {exc}") from exc
        if isinstance(state, dict) and state.get("exception"):
            raise EngineError(f"a rule action failed: {state['exception']}")


def _definition(plan: RulesetPlan, action: Callable[[str], Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {SENTINEL: {"all": [{"m": {TAG: SENTINEL}}]}}
    if (run := action(SENTINEL)) is not None:
        rules[SENTINEL]["run"] = run
    for rule in plan.rules:
        body: dict[str, Any] = {"all": [{"m": to_durable(rule.cond, TAG, rule.tag)}]}
        if (run := action(rule.rule_id)) is not None:
            body["run"] = run
        rules[rule.rule_id] = body
    return rules


def _keep_callables(definition: dict[str, Any]) -> dict[int, Any]:
    """deepcopy memo that keeps the action callables themselves."""
    return {id(rule["run"]): rule["run"] for rule in definition.values() if "run" in rule}
