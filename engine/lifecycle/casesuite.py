"""Rubric case suites: TOML data beside each rubric (`rubrics/<id>/tests/*.toml`).

A suite names a base dossier; each case applies changes (manifest keys deep-merged, document
text replaced) and lists the deductions it expects, by rule id and points. For every item an
expected rule belongs to, the item's deductions must be exactly the expected ones. The pytest
runner and `jixiao rubric test` share this module.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.backends.plan import Backend
from engine.diagnostics import PackageError
from engine.dossier import assemble, parse_manifest
from engine.evaluate import Evaluator
from engine.rubric.model import Rubric


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedDeduction(_Spec):
    """A deduction a case expects."""

    rule: str
    points: Decimal


class TextChange(_Spec):
    """Replace `old` (which must occur) by `new` in one document; `regex = true` for a pattern."""

    document: str
    old: str
    new: str
    regex: bool = False


class Case(_Spec):
    """One case: changes to the base package and what the report must then say."""

    name: str
    clause: list[str] = Field(default_factory=list)  # the rubric clauses this case covers
    mode: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    replace: list[TextChange] = Field(default_factory=list)
    expect: list[ExpectedDeduction] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)  # rule ids that must not deduct
    needs_input: list[str] = Field(default_factory=list)  # item names expected under needs_input
    items: dict[str, Decimal] = Field(default_factory=dict)  # item id -> expected score


class Suite(_Spec):
    """A suite file."""

    rubric: str  # ID@VERSION the suite is written for
    base: str  # the base dossier manifest, relative to the suite file
    as_of: dt.date
    mode: str = "bureau"
    cases: list[Case]


@dataclass
class CaseResult:
    """The outcome of one case."""

    suite: str
    case: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def load_suite(path: Path) -> Suite:
    """Parse a suite file."""
    return Suite.model_validate(tomllib.loads(path.read_text("utf-8"), parse_float=Decimal))


def suite_files(rubric_dir: Path) -> list[Path]:
    """Every suite beside a rubric: `<rubric_dir>/tests/*.toml`."""
    return sorted((rubric_dir / "tests").glob("*.toml"))


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value == "__absent__":  # a way to say "the key is not provided"
            out.pop(key, None)
        else:
            out[key] = value
    return out


def run_case(
    suite_path: Path, suite: Suite, case: Case, rubric: Rubric, backend: Backend
) -> CaseResult:
    """Apply the case to the base package, score it, compare with the expectation."""
    result = CaseResult(suite_path.name, case.name)
    base_path = suite_path.parent / suite.base
    try:
        manifest = _merge(tomllib.loads(base_path.read_text("utf-8")), case.changes)
        dossier = parse_manifest(manifest, file=suite.base)
        texts = {name: (base_path.parent / name).read_text("utf-8") for name in dossier.documents}
    except OSError as exc:
        # A suite whose base package cannot be read fails (and refuses its version) on its own;
        # the message names the file, never the folder it was looked for in.
        missing = Path(exc.filename).name if exc.filename else suite.base
        result.problems.append(
            f"base package {suite.base}: cannot read {missing}: {exc.strerror or type(exc).__name__}"
        )
        return result
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        result.problems.append(f"base package {suite.base}: {type(exc).__name__}: {exc}")
        return result
    except PackageError as exc:
        problems = "; ".join(p.render() for p in exc.problems)
        result.problems.append(f"base package {suite.base}: {problems}")
        return result
    for change in case.replace:
        text = texts.get(change.document, "")
        if change.regex:
            changed, count = re.subn(change.old, change.new, text, count=1)
        else:
            changed, count = text.replace(change.old, change.new, 1), text.count(change.old)
        if not count:
            result.problems.append(f"replace: not found in {change.document}: {change.old[:30]!r}")
            return result
        texts[change.document] = changed
    package = assemble(dossier, [(n, texts[n]) for n in dossier.documents], layout=rubric.layout)
    mode = case.mode or suite.mode
    report = Evaluator(backend).evaluate(package, rubric, mode=mode, as_of=suite.as_of)  # type: ignore[arg-type]
    by_item: dict[str, Counter[tuple[str, Decimal]]] = {}
    rule_item: dict[str, str] = {}
    for item in report["items"]:
        by_item[item["id"]] = Counter(
            (d["rule"], d["points"]) for d in item["deductions"] if d["points"] > 0
        )
        for d in item["deductions"]:
            rule_item[d["rule"]] = item["id"]
    known = {r.spec.id: r.item.id for r in rubric.rules if r.item} | {
        b.spec.id: b.item.id for b in rubric.bands
    }
    expected: dict[str, Counter[tuple[str, Decimal]]] = {}
    for e in case.expect:
        if e.rule not in known:
            result.problems.append(f"expected rule {e.rule} is not in the rubric")
            continue
        expected.setdefault(known[e.rule], Counter())[(e.rule, e.points)] += 1
    for item_id, want in expected.items():
        got = by_item.get(item_id, Counter())
        if got != want:
            result.problems.append(f"item {item_id}: expected {_show(want)}, got {_show(got)}")
    for rule_id in case.absent:
        if rule_id in rule_item and any(r == rule_id for r, _ in by_item[rule_item[rule_id]]):
            result.problems.append(f"rule {rule_id} deducted but should not")
    for item_id, score in case.items.items():
        found = next((i["score"] for i in report["items"] if i["id"] == item_id), None)
        if found != score:
            result.problems.append(f"item {item_id}: expected score {score}, got {found}")
    need_items = sorted({n["item"] for n in report["needs_input"]})
    if case.needs_input and need_items != sorted(case.needs_input):
        result.problems.append(
            f"needs_input items: expected {sorted(case.needs_input)}, got {need_items}"
        )
    return result


def _show(counter: Counter[tuple[str, Decimal]]) -> str:
    return (
        ", ".join(
            f"{r} −{p}" + (f" ×{n}" if n > 1 else "") for (r, p), n in sorted(counter.items())
        )
        or "nothing"
    )


def run_suite(path: Path, rubric: Rubric, backend: Backend) -> list[CaseResult]:
    """Every case of one suite file."""
    suite = load_suite(path)
    return [run_case(path, suite, case, rubric, backend) for case in suite.cases]
