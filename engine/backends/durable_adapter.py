"""The only module that touches durable_rules. It handles every pitfall in domain.md §7.

- Every engine call runs under one process-wide lock: durable_rules is not thread-safe, and
  its Host's own dispatcher timer threads race with callers, so the Host here starts none.
  (Calls used to be handed to one dedicated thread; the C engine keeps no thread-local state,
  so the lock serialises them just as well and saves the hand-over, about 0.25 ms an
  evaluation: docs/performance.md.)
- A fresh sid per evaluation, with delete_state in `finally`: more than 1,024 live sids breaks
  a ruleset until the process restarts.
- Every evaluation opens with a sentinel fact that a sentinel rule always matches: delete_state
  on a session where nothing matched crashes the process.
- Facts are asserted one by one (a batch with one unmatched fact fires nothing, and a failed
  batch followed by delete_state crashed the process).
- Every rule carries a positive type tag: a rule of only "does not exist" tests loops forever.
- Exceptions raised inside actions are swallowed by durable_rules into state["exception"];
  they are surfaced here as EngineError.
- Speed: facts go to the C engine (`durable_rules_engine`) directly and each fired action is
  read from the engine's own JSON message, following the same protocol as durable.engine's
  Host (assert, start_action_for_state, update_state, complete_and_start_action) but without
  its per-action Closure, state parsing and re-serialising, which cost more than the matching
  itself (docs/performance.md).
- A ruleset name is registered once; plans are named by content hash, so a new version is a
  new name, and re-registering the same name reuses the existing ruleset.
- durable_rules compares strings with numbers as strings and rejects floats printed as 1e-05
  and facts with more than 255 fields: facts are checked before they are asserted.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import durable_rules_engine as _engine  # type: ignore[import-not-found, unused-ignore]  # durable.engine's C core
from durable.engine import (  # untyped; pyproject's mypy override ignores its missing stubs
    Host,
)

from engine.backends.durable_dialect import to_durable
from engine.backends.plan import EngineFact, Match, RulesetPlan

TAG = "_tag"
SENTINEL = "$sentinel"
MAX_FIELDS = 255
# Floats at or above 1e16 print with an exponent, which durable_rules rejects (error 204).
MAX_MAGNITUDE = Decimal("1e15")


# durable_rules' state is process-wide (every Host shares the C engine): one lock for all backends.
_ENGINE_LOCK = threading.Lock()


class EngineError(Exception):
    """durable_rules refused a fact or a rule action failed."""


class _QuietHost(Host):  # type: ignore[misc]  # Host is untyped
    """A Host without the background dispatcher and timer threads (they race with callers)."""

    def _run(self) -> None:
        return None


def durable_fact(fact: EngineFact, sid: str) -> dict[str, Any]:
    """A fact as durable_rules accepts it: ints, plain floats, strings; at most 255 fields."""
    fields = fact.fields
    if len(fields) + 3 > MAX_FIELDS:
        raise EngineError(
            f"fact {fact.tag} has {len(fields)} fields; durable_rules allows {MAX_FIELDS - 3}"
        )
    out: dict[str, Any] = {"sid": sid, "id": str(fact.index), TAG: fact.tag}
    for name, value in fields.items():
        kind = type(value)
        if kind is bool:
            out[name] = 1 if value else 0
        elif kind is str:
            out[name] = value
        elif isinstance(value, Decimal):
            if abs(value) >= MAX_MAGNITUDE:
                raise EngineError(f"fact {fact.tag}.{name}={value} is too large for durable_rules")
            whole = int(value)
            if whole == value:
                out[name] = whole
            else:
                number = float(value)
                if "e" in repr(number):
                    raise EngineError(f"fact {fact.tag}.{name}={value} would print with an exponent")
                out[name] = number
        elif isinstance(value, bool):  # a bool subclass: same as bool
            out[name] = 1 if value else 0
        elif isinstance(value, str):
            out[name] = value
        else:
            raise EngineError(f"fact {fact.tag}.{name} has unsupported type {type(value).__name__}")
    return out


class _Fired:
    """What an action sees of a firing: the matched fact as `m` (as durable's Closure.m)."""

    __slots__ = ("m",)

    def __init__(self, m: Any) -> None:
        self.m = m


# json.dumps(..., ensure_ascii=False) builds a new encoder on every call; one is enough.
_encode = json.JSONEncoder(ensure_ascii=False).encode


# json.loads(text) with its checks for bytes and a BOM skipped: durable hands back str.
_decode = json.JSONDecoder().decode


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# JSONEncoder.encode still builds the C encoder on every call (in iterencode); a fact is a flat
# dict of str, int and float, so one C encoder without the circular-reference check writes the
# same text about 1 µs sooner per fact (113 facts per evaluation).
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # untyped in typeshed
_c_encoder: Any = (
    _make_encoder(
        None, _unencodable, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
    if _make_encoder is not None
    else None
)


def _encode_fact(fact: dict[str, Any]) -> str:
    """`_encode(fact)`, with the one C encoder when there is one."""
    if _c_encoder is None:
        return _encode(fact)
    return "".join(_c_encoder(fact, 0))

# assert_fact's result codes (durable_rules rules.h): 1 = matched no rule, 2 = already seen.
_NOT_HANDLED = 1
_OBSERVED = 2
_DEFERRED = 3


class DurableBackend:
    """Matches facts with durable_rules, one call at a time in the whole process."""

    name = "durable"

    def __init__(self, *, max_rulesets: int = 32) -> None:
        # durable_rules cannot unregister a ruleset: past this many (old rubric versions after
        # reloads), the engine starts a fresh Host and re-registers what is used next.
        self.max_rulesets = max_rulesets
        self._host: Any = None
        self._registered: dict[str, dict[str, Any]] = {}
        # plan name -> (C ruleset handle, rule id -> action), for the direct protocol.
        self._handles: dict[str, tuple[int, dict[str, Callable[[Any], None]]]] = {}
        self._collector: list[Match] = []
        self._sids = itertools.count(1)
        # Sessions opened and not yet deleted, and the most ever open at once: proof for the
        # memory benchmark that the 1,024 live-sid limit is never approached.
        self.open_sessions = 0
        self.peak_sessions = 0

    # -- public API: safe from any thread --------------------------------------------------

    def match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        """Every (rule id, fact index) whose condition holds."""
        with _ENGINE_LOCK:
            return self._match(plan, facts)

    @staticmethod
    def definition_of(plan: RulesetPlan) -> dict[str, Any]:
        """The ruleset as registered with durable_rules, without its actions (JSON-serialisable)."""
        return {plan.name: _definition(plan, lambda _rule_id: None)}

    def live_rulesets(self) -> list[str]:
        """Names registered in this process."""
        return sorted(self._registered)

    def close(self) -> None:
        """Nothing to stop: kept for callers of the former engine-thread design."""

    # -- under _ENGINE_LOCK only -------------------------------------------------------------

    def _ensure(self, plan: RulesetPlan) -> None:
        if plan.name in self._registered:
            return
        if self._host is None or len(self._registered) >= self.max_rulesets:
            # Safe: every call holds the engine lock, so no evaluation is inside the old Host.
            self._host = _QuietHost()
            self._registered.clear()
            self._handles.clear()
        definition = _definition(plan, self._action)
        # set_rulesets mutates what it is given (it pops the actions): keep our own copy clean.
        self._host.set_rulesets(
            {plan.name: copy.deepcopy(definition, memo=_keep_callables(definition))}
        )
        self._registered[plan.name] = definition
        handle = self._host.get_ruleset(plan.name)._handle
        actions = {rule_id: body["run"] for rule_id, body in definition.items() if "run" in body}
        self._handles[plan.name] = (handle, actions)

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def record(c: Any) -> None:
            self._collector.append((rule_id, int(c.m["id"])))

        return record

    def _match(self, plan: RulesetPlan, facts: list[EngineFact]) -> set[Match]:
        self._ensure(plan)
        handle, actions = self._handles[plan.name]
        sid = f"e{next(self._sids)}"
        self._collector = []
        failures: list[str] = []
        self.open_sessions += 1
        self.peak_sessions = max(self.peak_sessions, self.open_sessions)
        try:
            self._assert(handle, actions, {"sid": sid, "id": "-1", TAG: SENTINEL}, failures)
            for fact in facts:
                self._assert(handle, actions, durable_fact(fact, sid), failures)
        finally:
            _engine.delete_state(handle, sid)
            self.open_sessions -= 1
        if failures:
            raise EngineError(f"a rule action failed: {failures[0]}")
        # An `or` condition fires once per matching branch: the set removes the repeats.
        return {m for m in self._collector if m[0] != SENTINEL}

    def _assert(
        self,
        handle: int,
        actions: dict[str, Callable[[Any], None]],
        fact: dict[str, Any],
        failures: list[str],
    ) -> None:
        """Assert one fact and run every action it fires, as durable.engine's Host would."""
        try:
            code, state_handle = _engine.assert_fact(handle, _encode_fact(fact))
        except Exception as exc:  # durable_rules raises bare Exception for engine errors
            raise EngineError(f"durable_rules refused fact {fact.get('id')}: {exc}") from exc
        if code == _NOT_HANDLED:
            return  # the fact matched no rule: normal
        if code == _OBSERVED:
            raise EngineError(f"duplicate fact {fact.get('id')} in one evaluation")
        if code == _DEFERRED:
            return
        started = _engine.start_action_for_state(handle, state_handle)
        if not started:
            return
        state, message = started
        while message:
            for rule_id, matched in _decode(message).items():
                try:
                    actions[rule_id](_Fired(matched["m"]))
                except Exception as exc:
                    # durable_rules records the failure in the state and goes on; so do we,
                    # and the evaluation fails once the session is drained and deleted.
                    failures.append(f"{type(exc).__name__}: {exc}")
            # The actions never change the session state: hand it back as it came.
            _engine.update_state(handle, state)
            message = _engine.complete_and_start_action(handle, state_handle)


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
