"""Parse and type-check a condition into a small tree: comparisons joined by and / or.

The grammar is Python's expression syntax restricted to: field names, numbers, "strings",
true / false, == != < <= > >=, and, or, not, parentheses. `not` is pushed down to the
comparisons (De Morgan), because durable_rules has no negation operator. A bare field name
is `field == true`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from engine.diagnostics import Code
from engine.model.facts import FieldType

Op = Literal["==", "!=", "<", "<=", ">", ">="]
Literal_ = Decimal | str | bool

_OPS: dict[type[ast.cmpop], Op] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_NEGATE: dict[Op, Op] = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP: dict[Op, Op] = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class ConditionError(Exception):
    """A condition that does not parse or type-check. `code` is a diagnostics code."""

    def __init__(self, code: Code, message: str, col: int = 0, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.col = col
        self.hint = hint


@dataclass(frozen=True)
class Compare:
    """`field op value`, or `field op other_field` when `other` is set."""

    field: str
    op: Op
    value: Literal_ | None = None
    other: str | None = None


@dataclass(frozen=True)
class BoolOp:
    """All (and) or any (or) of the parts."""

    op: Literal["and", "or"]
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Const:
    """`true` or `false` alone (e.g. a band that always applies)."""

    value: bool


Cond = Compare | BoolOp | Const


def parse_condition(text: str, fields: Mapping[str, FieldType]) -> Cond:
    """Parse `text` and check every name against `fields` (name -> type)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(
            Code.JX007, f"condition does not parse: {exc.msg}", exc.offset or 0
        ) from exc
    return simplify(_Parser(fields).convert(tree.body, negate=False))


def simplify(cond: Cond) -> Cond:
    """Fold true / false inside and / or, so no constant is nested in a compiled condition."""
    if not isinstance(cond, BoolOp):
        return cond
    parts: list[Cond] = []
    for part in (simplify(p) for p in cond.parts):
        if isinstance(part, Const):
            if part.value == (cond.op == "or"):
                return Const(part.value)  # true in an or, false in an and, decides it
            continue  # true in an and, false in an or, changes nothing
        parts.append(part)
    if not parts:
        return Const(cond.op == "and")
    return parts[0] if len(parts) == 1 else BoolOp(cond.op, tuple(parts))


class _Parser:
    def __init__(self, fields: Mapping[str, FieldType]) -> None:
        self.fields = fields

    def convert(self, node: ast.expr, *, negate: bool) -> Cond:
        if isinstance(node, ast.BoolOp):
            op: Literal["and", "or"] = "and" if isinstance(node.op, ast.And) else "or"
            if negate:
                op = "or" if op == "and" else "and"
            return BoolOp(op, tuple(self.convert(v, negate=negate) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.convert(node.operand, negate=not negate)
        if isinstance(node, ast.Compare):
            return self._compare(node, negate=negate)
        if isinstance(node, ast.Name):
            if node.id in ("true", "false"):
                return Const((node.id == "true") != negate)
            self._field(node)
            if self.fields[node.id] != "bool":
                raise ConditionError(
                    Code.JX008, f"'{node.id}' is a {self.fields[node.id]}, not a bool", node.col_offset
                )
            return Compare(node.id, "==", not negate)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return Const(node.value != negate)
        raise ConditionError(
            Code.JX007,
            f"unsupported expression: {ast.unparse(node)}",
            node.col_offset,
            "use comparisons joined by and / or / not",
        )

    def _compare(self, node: ast.Compare, *, negate: bool) -> Cond:
        left = node.left
        parts: list[Cond] = []
        for op_node, right in zip(node.ops, node.comparators, strict=True):
            op = _OPS.get(type(op_node))
            if op is None:
                raise ConditionError(Code.JX007, "unsupported comparison operator", node.col_offset)
            parts.append(self._one(left, op, right, node))
            left = right
        cond: Cond = parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))
        return _negate(cond) if negate else cond

    def _one(self, left: ast.expr, op: Op, right: ast.expr, node: ast.expr) -> Compare:
        if not isinstance(left, ast.Name) or left.id in ("true", "false"):
            if isinstance(right, ast.Name) and right.id not in ("true", "false"):
                return self._one(right, _FLIP[op], left, node)
            raise ConditionError(
                Code.JX007, "a comparison needs a field name on one side", node.col_offset
            )
        kind = self._field(left)
        if isinstance(right, ast.Name) and right.id not in ("true", "false"):
            other_kind = self._field(right)
            if other_kind != kind:
                raise ConditionError(
                    Code.JX008,
                    f"'{left.id}' ({kind}) compared with '{right.id}' ({other_kind})",
                    node.col_offset,
                )
            return Compare(left.id, op, other=right.id)
        value = _literal(right)
        value_kind: FieldType = (
            "bool" if isinstance(value, bool) else "string" if isinstance(value, str) else "number"
        )
        if value_kind != kind:
            raise ConditionError(
                Code.JX008,
                f"'{left.id}' is a {kind} but is compared with a {value_kind}",
                node.col_offset,
                "durable_rules would compare them as strings",
            )
        if kind != "number" and op not in ("==", "!="):
            raise ConditionError(
                Code.JX008, f"'{left.id}' is a {kind}: only == and != apply", node.col_offset
            )
        return Compare(left.id, op, value)

    def _field(self, name: ast.Name) -> FieldType:
        if name.id not in self.fields:
            known = ", ".join(sorted(self.fields))
            hint = _did_you_mean(name.id, list(self.fields))
            raise ConditionError(
                Code.JX005,
                f"unknown field '{name.id}' (the measure yields: {known})",
                name.col_offset,
                hint,
            )
        return self.fields[name.id]


def _literal(node: ast.expr) -> Literal_:
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | str):
            return node.value
        if isinstance(node.value, int | float):
            # Keep the text as written: 0.95 must not become 0.9499999...
            return Decimal(repr(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        if isinstance(inner, Decimal):
            return -inner
    raise ConditionError(Code.JX007, f"not a literal: {ast.unparse(node)}", node.col_offset)


def _negate(cond: Cond) -> Cond:
    if isinstance(cond, Const):
        return Const(not cond.value)
    if isinstance(cond, Compare):
        return Compare(cond.field, _NEGATE[cond.op], cond.value, cond.other)
    return BoolOp("or" if cond.op == "and" else "and", tuple(_negate(p) for p in cond.parts))


def _did_you_mean(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def fields_used(cond: Cond) -> set[str]:
    """Every field a condition reads."""
    if isinstance(cond, Const):
        return set()
    if isinstance(cond, Compare):
        return {cond.field} | ({cond.other} if cond.other else set())
    out: set[str] = set()
    for part in cond.parts:
        out |= fields_used(part)
    return out
