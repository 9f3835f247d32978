"""Why each rule and band of a rubric did or did not apply to a package (`jixiao score --explain`).

Computed after matching from the facts and the compiled conditions, never from the backend's
internals, so both backends give the same explanation. The backend's matches say what fired;
each comparison of a condition is re-tried on each fact to say why. Only built when asked:
an ordinary evaluation collects nothing for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from engine.backends.plan import Match
from engine.conditions.compile import to_python
from engine.conditions.parse import Compare, Cond, Const
from engine.decimals import plain
from engine.measures.base import Fact, FieldValue
from engine.rubric.model import CompiledBand, CompiledRule, Rubric


class FactRecord(Protocol):
    """A fact as the evaluator handed it to the backend."""

    @property
    def tag(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def fact(self) -> Fact: ...
    @property
    def fields(self) -> dict[str, FieldValue]: ...


def _literal(value: FieldValue | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain(value)
    return f'"{value}"'


def _value(value: FieldValue) -> str | bool:
    """A fact's value as shown: numbers as exact text (0.625 stays 0.625), booleans as such."""
    if isinstance(value, bool):
        return value
    return plain(value) if isinstance(value, Decimal) else str(value)


def trace(cond: Cond, fields: Mapping[str, FieldValue]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether `cond` holds on `fields`, and each comparison tried with the value it saw."""
    if isinstance(cond, Const):
        return cond.value, [{"test": _literal(cond.value), "holds": cond.value}]
    if isinstance(cond, Compare):
        holds = to_python(cond)(fields)
        shown = cond.other or _literal(cond.value)
        seen: dict[str, Any] = {"test": f"{cond.field} {cond.op} {shown}", "holds": holds}
        seen["value"] = _value(fields[cond.field])
        if cond.other:
            seen["other"] = _value(fields[cond.other])
        return holds, [seen]
    tests: list[dict[str, Any]] = []
    results = []
    for part in cond.parts:
        holds, seen_parts = trace(part, fields)
        results.append(holds)
        tests.extend(seen_parts)
    return (all(results) if cond.op == "and" else any(results)), tests


def _fact(record: FactRecord, cond: Cond) -> dict[str, Any]:
    holds, tests = trace(cond, record.fields)
    return {"fact": record.fact.key, "subject": record.fact.subject, "holds": holds, "tests": tests}


def _rule_outcome(
    rule: CompiledRule,
    fired: bool,
    tried: list[dict[str, Any]],
    withheld: int,
    deductions: list[dict[str, Any]],
) -> str:
    """Why the rule did (or did not) take points, in Chinese."""
    if rule.spec.deduct is None:
        return "记录发现" if fired else "未记录发现：条件对每个事实都不成立" if tried else "无可检验的事实"
    if fired:
        taken = sum((Decimal(str(d["points"])) for d in deductions), Decimal(0))
        if taken == 0 and deductions:
            return "条件成立，但本条已达扣分上限，不再扣分"
        return f"扣分 {plain(taken)}"
    if withheld:
        return f"未扣分：{withheld} 个事实缺少佐证，预检模式下列为待补充材料，不交给规则"
    if not tried:
        return "未扣分：材料中没有本规则可检验的事实"
    return f"未扣分：条件对全部 {len(tried)} 个事实都不成立（见各事实的比较）"


def explain(
    rubric: Rubric,
    records: Sequence[FactRecord],
    withheld: Sequence[tuple[str, Fact]],
    matches: set[Match],
    report: Mapping[str, Any],
) -> dict[str, Any]:
    """Every rule and band of the rubric, fired or not, with the facts tried and their values."""
    by_tag: dict[str, list[FactRecord]] = {}
    for record in records:
        by_tag.setdefault(record.tag, []).append(record)
    withheld_by_tag: dict[str, int] = {}
    for tag, _ in withheld:
        withheld_by_tag[tag] = withheld_by_tag.get(tag, 0) + 1
    fired: dict[str, set[int]] = {}
    for rule_id, index in matches:
        fired.setdefault(rule_id, set()).add(index)
    deductions: dict[str, list[dict[str, Any]]] = {}
    for item in report["items"]:
        for d in item["deductions"]:
            deductions.setdefault(d["rule"], []).append(d)

    rules = []
    for rule in rubric.rules:
        facts = by_tag.get(rule.tag, [])
        tried = [_fact(r, rule.cond) | {"fired": r.index in fired.get(rule.spec.id, set())} for r in facts]
        did = bool(fired.get(rule.spec.id))
        rules.append(
            {
                "rule": rule.spec.id,
                "source": rule.source,
                "rule_set": rule.rule_set,
                "item": rule.item.name if rule.item else None,
                "clause": rule.clause.id if rule.clause else None,
                "when": rule.spec.when,
                "fired": did,
                "outcome": _rule_outcome(
                    rule, did, tried, withheld_by_tag.get(rule.tag, 0), deductions.get(rule.spec.id, [])
                ),
                "facts": tried,
            }
        )
    return {
        "decision_id": report["decision_id"],
        "rubric": f"{rubric.spec.id}@{rubric.spec.version}",
        "mode": report["mode"],
        "as_of": report["as_of"],
        "rules": rules,
        "bands": _bands(rubric, by_tag, fired, withheld_by_tag),
    }


def _bands(
    rubric: Rubric,
    by_tag: Mapping[str, list[FactRecord]],
    fired: Mapping[str, set[int]],
    withheld: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Per discretionary clause: its bands in order, each tried on the clause's fact."""
    clauses: dict[str, list[CompiledBand]] = {}
    for band in rubric.bands:
        clauses.setdefault(band.clause.id, []).append(band)
    out = []
    for clause_id, bands in clauses.items():
        facts = by_tag.get(bands[0].tag, [])
        record = facts[0] if facts else None  # the assessment reads the clause's first fact
        tried = []
        chosen = None
        for band in bands:
            entry: dict[str, Any] = {
                "band": band.spec.id,
                "label": band.spec.label,
                "range": [band.spec.range[0], band.spec.range[1]],
                "when": band.spec.when,
                "source": band.source,
            }
            if record is not None:
                holds, tests = trace(band.cond, record.fields)
                entry["holds"], entry["tests"] = holds, tests
                if chosen is None and record.index in fired.get(band.spec.id, set()):
                    chosen = band.spec.id
            tried.append(entry)
        if record is None:
            why = (
                "缺少佐证，预检模式下列为待补充材料" if withheld.get(bands[0].tag) else "没有可评估的事实"
            )
        elif chosen is None:
            why = "没有一档的条件成立：本条不扣分"
        else:
            why = f"按顺序第一个条件成立的档次：{chosen}"
        out.append(
            {
                "clause": clause_id,
                "item": bands[0].item.name,
                "fact": record.fact.key if record else None,
                "values": {k: _value(v) for k, v in record.fields.items()} if record else {},
                "bands": tried,
                "chosen": chosen,
                "why": why,
            }
        )
    return out


def _tests_text(tests: list[dict[str, Any]]) -> str:
    shown = []
    for test in tests:
        value = f"（值 {_plain(test['value'])}）" if "value" in test else ""
        shown.append(f"{test['test']}{value} {'✓' if test['holds'] else '✗'}")
    return "；".join(shown)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_explanation(explanation: Mapping[str, Any]) -> str:
    """The explanation as Chinese text: each rule with its outcome and the facts it tried, then
    each discretionary clause's bands in order, marked with the one that chose the score."""
    lines = [
        f"评分说明  {explanation['rubric']}  模式 {explanation['mode']}  评价日期 {explanation['as_of']}",
        "",
        f"规则（{len(explanation['rules'])}）",
    ]
    for rule in explanation["rules"]:
        where = "·".join(str(x) for x in (rule["item"], rule["clause"]) if x)
        lines.append(f"  [{rule['rule']}] {where}  条件：{rule['when']}  （{rule['source']}）")
        lines.append(f"    结果：{rule['outcome']}")
        for fact in rule["facts"]:
            mark = "触发" if fact["fired"] else "未触发"
            lines.append(f"    - {fact['subject'] or fact['fact']}：{mark}；{_tests_text(fact['tests'])}")
    lines += ["", f"酌情条款的档次（{len(explanation['bands'])}）"]
    for clause in explanation["bands"]:
        lines.append(f"  [{clause['clause']}] {clause['item']}：{clause['why']}")
        if clause["values"]:
            shown = "，".join(f"{k}={_plain(v)}" for k, v in clause["values"].items())
            lines.append(f"    事实：{shown}")
        for band in clause["bands"]:
            chosen = " ← 选定" if band["band"] == clause["chosen"] else ""
            low, high = band["range"]
            tried = f"；{_tests_text(band['tests'])}" if "tests" in band else ""
            lines.append(
                f"    {band['band']} {band['label']}（{plain(Decimal(str(low)))}–{plain(Decimal(str(high)))} 分）"
                f"：{band['when']}{tried}{chosen}"
            )
    return "\n".join(lines) + "\n"
