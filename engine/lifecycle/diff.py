"""What-if: what a rubric change does, rule by rule, and to the scores of a corpus of packages."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.backends.plan import Backend
from engine.decimals import q2
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.importers._layout import TextLayout
from engine.model import Package
from engine.rubric.model import Rubric


@dataclass(frozen=True)
class Change:
    """One rule-level difference between two rubric versions."""

    kind: str  # added | removed | changed
    what: str  # item | clause | rule | band | parameter | calendar | rule_set | total
    ident: str
    old: str = ""
    new: str = ""


def _rules(rubric: Rubric) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rule in rubric.rules:
        spec = rule.spec
        out[spec.id] = {
            "clause": spec.clause,
            "measure": spec.measure,
            "when": spec.when,
            "deduct": spec.deduct.model_dump(mode="json", exclude_none=True)
            if spec.deduct
            else None,
            "finding": spec.finding.model_dump(mode="json") if spec.finding else None,
            "params": rubric.measures[rule.tag].params.model_dump(mode="json"),
        }
    return out


def _bands(rubric: Rubric) -> dict[str, dict[str, Any]]:
    return {
        b.spec.id: {
            "range": [str(x) for x in b.spec.range],
            "when": b.spec.when,
            "auto": None if b.spec.auto is None else str(b.spec.auto),
            "scale": b.spec.scale,
        }
        for b in rubric.bands
    }


def _clauses(rubric: Rubric) -> dict[str, dict[str, Any]]:
    return {
        c.id: {
            "points": str(c.points),
            "cap": None if c.cap is None else str(c.cap),
            "discretionary": c.discretionary,
        }
        for i in rubric.spec.items
        for c in i.clauses
    }


def _items(rubric: Rubric) -> dict[str, dict[str, Any]]:
    return {i.id: {"points": str(i.points), "section": i.section} for i in rubric.spec.items}


def _compare(what: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            out.append(Change("removed", what, key, _short(old[key])))
        elif key not in old:
            out.append(Change("added", what, key, "", _short(new[key])))
        elif old[key] != new[key]:
            if isinstance(old[key], dict) and isinstance(new[key], dict):
                for sub in sorted(old[key].keys() | new[key].keys()):
                    if old[key].get(sub) != new[key].get(sub):
                        out.append(
                            Change(
                                "changed",
                                what,
                                f"{key}.{sub}",
                                _short(old[key].get(sub)),
                                _short(new[key].get(sub)),
                            )
                        )
            else:
                out.append(Change("changed", what, key, _short(old[key]), _short(new[key])))
    return out


def _short(value: Any) -> str:
    """A value as a rubric owner writes it: TOML inline syntax, whole (never cut), no None."""
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_short(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    try:
        Decimal(text)
    except ArithmeticError:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def rule_changes(old: Rubric, new: Rubric) -> list[Change]:
    """Points, caps, bands, parameters, calendar, added and removed rules."""
    changes: list[Change] = []
    if old.spec.total != new.spec.total:
        changes.append(
            Change("changed", "total", "total", str(old.spec.total), str(new.spec.total))
        )
    changes += _compare("item", _items(old), _items(new))
    changes += _compare("clause", _clauses(old), _clauses(new))
    changes += _compare("rule", _rules(old), _rules(new))
    changes += _compare("band", _bands(old), _bands(new))
    changes += _compare(
        "parameter",
        {k: str(v) for k, v in old.parameters.items()},
        {k: str(v) for k, v in new.parameters.items()},
    )
    changes += _compare(
        "calendar",
        old.spec.calendar.model_dump(mode="json"),
        new.spec.calendar.model_dump(mode="json"),
    )
    changes += _compare(
        "rule_set",
        {r.id: r.version for r in old.rule_sets},
        {r.id: r.version for r in new.rule_sets},
    )
    if old.spec.assessment != new.spec.assessment:
        was, now = old.spec.assessment.auto_point_in_band, new.spec.assessment.auto_point_in_band
        changes.append(Change("changed", "assessment", "auto_point_in_band", was, now))
    return changes


@dataclass
class PackageDelta:
    """One package scored under both versions."""

    package: str
    department: str
    old: Decimal
    new: Decimal
    causes: list[dict[str, Any]] = field(default_factory=list)  # rule, old points, new points

    @property
    def delta(self) -> Decimal:
        """new − old."""
        return q2(self.new - self.old)


def _deducted(report: dict[str, Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for item in report["items"]:
        for d in item["deductions"]:
            out[d["rule"]] = out.get(d["rule"], Decimal(0)) + d["points"]
    return out


def rescore(
    old: Rubric,
    new: Rubric,
    corpus: Iterable[tuple[str, Package]],
    backend: Backend,
    *,
    mode: str = "bureau",
    as_of: dt.date | None = None,
    progress: Callable[[], None] | None = None,
) -> list[PackageDelta]:
    """Score every package under both versions; the causes are the rules whose points changed."""
    evaluator = Evaluator(backend)
    out = []
    for name, package in corpus:
        when = (
            as_of
            or package.dossier.as_of
            or package.dossier.received_on
            or dt.date(package.dossier.fiscal_year + 1, 12, 31)
        )
        a = evaluator.evaluate(package, old, mode=mode, as_of=when)  # type: ignore[arg-type]
        b = evaluator.evaluate(package, new, mode=mode, as_of=when)  # type: ignore[arg-type]
        da, db = _deducted(a), _deducted(b)
        causes = [
            {"rule": rule, "old": da.get(rule, Decimal(0)), "new": db.get(rule, Decimal(0))}
            for rule in sorted(da.keys() | db.keys())
            if da.get(rule, Decimal(0)) != db.get(rule, Decimal(0))
        ]
        out.append(
            PackageDelta(
                name, package.dossier.department, a["total"]["score"], b["total"]["score"], causes
            )
        )
        if progress:
            progress()
    return out


def corpus_files(folder: Path) -> list[Path]:
    """Every dossier manifest under a folder (`**/dossier*.toml`)."""
    return sorted(folder.glob("**/dossier*.toml"))


def load_corpus(folder: Path, layout: TextLayout | None = None) -> list[tuple[str, Package]]:
    """The packages of a corpus folder, named by their path, read with `layout` (the baseline
    version's: both versions then score the same packages)."""
    return [(str(p.relative_to(folder)), load_package(p, layout)) for p in corpus_files(folder)]


def summary(deltas: list[PackageDelta]) -> dict[str, Any]:
    """Count, changed, mean / min / max delta."""
    values = [d.delta for d in deltas]
    return {
        "packages": len(values),
        "changed": sum(1 for v in values if v != 0),
        "mean_delta": q2(Decimal(statistics.mean(values))) if values else Decimal(0),
        "min_delta": min(values, default=Decimal(0)),
        "max_delta": max(values, default=Decimal(0)),
    }


def diff_report(
    old: Rubric, new: Rubric, deltas: list[PackageDelta] | None, *, package_key: str = "package"
) -> dict[str, Any]:
    """The what-if as JSON-ready data (CLI and HTTP): changes, per-package deltas, summary."""
    return {
        "old": {"ref": old.ref, "sha256": old.sha256},
        "new": {"ref": new.ref, "sha256": new.sha256},
        "changes": [vars(c) for c in rule_changes(old, new)],
        "packages": [
            {
                package_key: d.package,
                "department": d.department,
                "old": d.old,
                "new": d.new,
                "delta": d.delta,
                "causes": d.causes,
            }
            for d in deltas or []
        ],
        "summary": summary(deltas) if deltas is not None else None,
    }
