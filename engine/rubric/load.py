"""Load, validate and compile a rubric TOML (and the rule sets it names) into a `Rubric`.

Every problem is collected, not just the first, and reported as `file:line:col: CODE message`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import engine.measures  # noqa: F401  # registers every measure kind
from engine.backends.plan import PlannedRule, RulesetPlan
from engine.conditions import ConditionError, parse_condition
from engine.diagnostics import Diagnostic, RubricError
from engine.measures.base import REGISTRY, FieldType
from engine.rubric.locate import KeyPath, Locator
from engine.rubric.model import (
    CompiledBand,
    CompiledRule,
    MeasureInstance,
    Rubric,
    RuleSetRef,
)
from engine.rubric.schema import RubricSpec, RuleSetSpec, RuleSpec

_FORMAT_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Source:
    """One TOML file: its path as shown, text, locator and parsed data."""

    def __init__(self, path: Path, shown: str, diags: list[Diagnostic]) -> None:
        self.path = path
        self.shown = shown
        self.data: dict[str, Any] | None = None
        self.text = ""
        self.raw = b""
        try:
            self.raw = path.read_bytes()
            self.text = self.raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diags.append(Diagnostic(shown, 1, 1, "JX015", f"cannot read file: {exc}"))
            self.locator = Locator("")
            return
        self.locator = Locator(self.text)
        try:
            self.data = tomllib.loads(self.text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            line, col = _toml_position(str(exc))
            diags.append(Diagnostic(shown, line, col, "JX001", str(exc).split(" (at ")[0]))

    def diag(self, path: KeyPath, code: str, message: str, hint: str = "") -> Diagnostic:
        line, col = self.locator.find(path)
        return Diagnostic(self.shown, line, col, code, message, hint)


def _toml_position(message: str) -> tuple[int, int]:
    found = re.search(r"line (\d+), column (\d+)", message)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)


def _schema_diags(src: _Source, exc: ValidationError, prefix: KeyPath = ()) -> list[Diagnostic]:
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        where = ".".join(str(p) for p in loc) or "(top)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        out.append(src.diag(tuple(loc), "JX002", f"{where}: {message}"))
    return out


def load_rubric(path: Path, rules_dirs: list[Path], *, shown: str | None = None) -> Rubric:
    """Load and compile the rubric at `path`. Raises RubricError with every diagnostic."""
    diags: list[Diagnostic] = []
    src = _Source(path, shown or str(path), diags)
    if src.data is None:
        raise RubricError(diags)
    try:
        spec = RubricSpec.model_validate(src.data)
    except ValidationError as exc:
        raise RubricError(diags + _schema_diags(src, exc)) from None
    diags.extend(check_published(path, src.shown, spec.id, spec.version, src.raw))
    return _Compiler(spec, src, rules_dirs, diags).compile()


LOCK_FILE = "published.lock"


def read_lock(lock: Path) -> dict[tuple[str, str], str]:
    """(id, version) -> sha256 of every published version recorded in a lock file."""
    if not lock.is_file():
        return {}
    data = tomllib.loads(lock.read_text("utf-8"))
    return {(e["id"], e["version"]): e["sha256"] for e in data.get("published", [])}


def check_published(
    path: Path, shown: str, ident: str, version: str, raw: bytes
) -> list[Diagnostic]:
    """A published (id, version) is immutable: its file must still hash to the locked sha256.

    The lock file sits at the top of the folder tree (`rubrics/published.lock`,
    `rules/published.lock`), one level above the `<id>/<version>.toml` files.
    """
    locked = read_lock(path.parent.parent / LOCK_FILE).get((ident, version))
    actual = hashlib.sha256(raw).hexdigest()
    if locked is None or locked == actual:
        return []
    return [
        Diagnostic(
            shown,
            1,
            1,
            "JX016",
            f"{ident}@{version} is published (sha256 {locked[:12]}…) and this file differs "
            f"({actual[:12]}…)",
            "copy it to a new version instead of editing a published one",
        )
    ]


def lint_rule_set(path: Path, *, shown: str | None = None) -> list[Diagnostic]:
    """Every problem in a rule set file on its own: schema, measures, conditions, parameters."""
    diags: list[Diagnostic] = []
    src = _Source(path, shown or _shown(path), diags)
    if src.data is None:
        return diags
    try:
        spec = RuleSetSpec.model_validate(src.data)
    except ValidationError as exc:
        return diags + _schema_diags(src, exc)
    diags.extend(check_published(path, src.shown, spec.id, spec.version, src.raw))
    if (path.parent.name, path.stem) != (spec.id, spec.version):
        diags.append(
            src.diag(
                ("id",),
                "JX004",
                f"file declares {spec.id}@{spec.version} but lives at {path.parent.name}/{path.stem}.toml",
            )
        )
    empty = RubricSpec(id="lint", version="0", title="", total=Decimal(0), sections=[], items=[])
    compiler = _Compiler(empty, src, [], diags)
    for r, rule in enumerate(spec.rules):
        compiler._rule(rule, src, ("rules", r), [spec.parameters], f"{spec.id}@{spec.version}", {})
    return diags


class _Compiler:
    def __init__(
        self, spec: RubricSpec, src: _Source, rules_dirs: list[Path], diags: list[Diagnostic]
    ):
        self.spec = spec
        self.src = src
        self.rules_dirs = rules_dirs
        self.diags = diags
        self.measures: dict[str, MeasureInstance] = {}
        self.ids: dict[str, str] = {}

    def compile(self) -> Rubric:
        spec, src = self.spec, self.src
        self._check_arithmetic()
        self._check_grades()
        clauses = {c.id: (item, c) for item in spec.items for c in item.clauses}
        for i, item in enumerate(spec.items):
            self._claim(item.id, ("items", i, "id"), "item")
        for i, item in enumerate(spec.items):
            for j, clause in enumerate(item.clauses):
                self._claim(clause.id, ("items", i, "clauses", j, "id"), "clause")

        rule_sets: list[RuleSetRef] = []
        compiled_rules: list[CompiledRule] = []
        # The rubric's parameters override a rule set's; the rubric's own rules see both.
        scopes: list[dict[str, Any]] = [spec.parameters]
        for k, ref in enumerate(spec.rule_sets):
            loaded = self._load_rule_set(ref, ("rule_sets", k))
            if loaded is None:
                continue
            rs_spec, rs_src, rs_ref = loaded
            rule_sets.append(rs_ref)
            scopes.append(rs_spec.parameters)
            for r, rule in enumerate(rs_spec.rules):
                compiled = self._rule(
                    rule,
                    rs_src,
                    ("rules", r),
                    [spec.parameters, rs_spec.parameters],
                    f"{rs_spec.id}@{rs_spec.version}",
                    clauses,
                )
                if compiled:
                    compiled_rules.append(compiled)
        for r, rule in enumerate(spec.rules):
            compiled = self._rule(rule, src, ("rules", r), scopes, "", clauses)
            if compiled:
                compiled_rules.append(compiled)

        bands: list[CompiledBand] = []
        for i, item in enumerate(spec.items):
            for j, clause in enumerate(item.clauses):
                if not clause.discretionary or clause.measure is None:
                    continue
                base: KeyPath = ("items", i, "clauses", j)
                instance = self._measure(clause.measure, clause.params, src, base, scopes)
                for b, band in enumerate(clause.bands):
                    where = (*base, "bands", b)
                    self._claim(band.id, (*where, "id"), "band", src)
                    _low, high = band.range
                    if high > clause.points:
                        self.diags.append(
                            src.diag(
                                (*where, "range"),
                                "JX010",
                                f"band {band.id} reaches {high} but clause {clause.id} has {clause.points} points",
                            )
                        )
                    if instance is None:
                        continue
                    cond = self._cond(band.when, instance.spec.fields, src, (*where, "when"))
                    if band.scale and instance.spec.fields.get(band.scale) != "number":
                        self.diags.append(
                            src.diag(
                                (*where, "scale"),
                                "JX014",
                                f"scale names '{band.scale}', not a number field",
                            )
                        )
                    if cond is not None:
                        line, _ = src.locator.find((*where, "id"))
                        bands.append(
                            CompiledBand(
                                band, instance.tag, cond, f"{src.shown}:{line}", item, clause
                            )
                        )

        if self.diags:
            raise RubricError(self.diags)
        sha = _sha256(
            [(src.shown, src.raw)] + [(r.path, Path(r.path).read_bytes()) for r in rule_sets]
        )
        name = f"{spec.id}@{spec.version}#{sha[:8]}"
        plan = RulesetPlan(
            name,
            tuple(PlannedRule(r.spec.id, r.tag, r.cond) for r in compiled_rules)
            + tuple(PlannedRule(b.spec.id, b.tag, b.cond) for b in bands),
        )
        return Rubric(
            spec=spec,
            path=src.path,
            sha256=sha,
            source=src.text,
            rule_sets=tuple(rule_sets),
            measures=self.measures,
            rules=tuple(compiled_rules),
            bands=tuple(bands),
            plan=plan,
            parameters=dict(spec.parameters),
        )

    # -- pieces --------------------------------------------------------------------------

    def _claim(self, ident: str, where: KeyPath, what: str, src: _Source | None = None) -> None:
        src = src or self.src
        if ident in self.ids:
            self.diags.append(
                src.diag(where, "JX006", f"duplicate id '{ident}' (already a {self.ids[ident]})")
            )
        else:
            self.ids[ident] = what

    def _check_arithmetic(self) -> None:
        spec, src = self.spec, self.src
        sections = {s.name: s for s in spec.sections}
        if sum((s.points for s in spec.sections), Decimal(0)) != spec.total:
            self.diags.append(
                src.diag(
                    ("total",),
                    "JX010",
                    f"sections add up to {sum(s.points for s in spec.sections)}, not total {spec.total}",
                )
            )
        for i, item in enumerate(spec.items):
            if item.section not in sections:
                self.diags.append(
                    src.diag(
                        ("items", i, "section"),
                        "JX009",
                        f"unknown section '{item.section}'",
                        _hint(item.section, list(sections)),
                    )
                )
            clause_sum = sum((c.points for c in item.clauses), Decimal(0))
            if clause_sum != item.points:
                self.diags.append(
                    src.diag(
                        ("items", i, "points"),
                        "JX010",
                        f"item {item.id}: clauses add up to {clause_sum}, not {item.points}",
                    )
                )
            for j, clause in enumerate(item.clauses):
                if clause.cap is not None and clause.cap > clause.points:
                    self.diags.append(
                        src.diag(
                            ("items", i, "clauses", j, "cap"),
                            "JX010",
                            f"cap {clause.cap} exceeds the clause's {clause.points} points",
                        )
                    )
        for s, section in enumerate(spec.sections):
            total = sum((it.points for it in spec.items if it.section == section.name), Decimal(0))
            if total != section.points:
                self.diags.append(
                    src.diag(
                        ("sections", s, "points"),
                        "JX010",
                        f"section {section.name}: items add up to {total}, not {section.points}",
                    )
                )

    def _check_grades(self) -> None:
        """Grade bands, sorted by lower bound, must tile [0, total]: each point in exactly one."""
        spec, src = self.spec, self.src
        if not spec.grades:
            return

        def bad(index: int, key: str, message: str) -> None:
            self.diags.append(src.diag(("grades", index, key), "JX018", message))

        order = sorted(range(len(spec.grades)), key=lambda k: spec.grades[k].lower)
        seen: dict[str, int] = {}
        for k in order:
            grade = spec.grades[k]
            if grade.label in seen:
                bad(k, "label", f"grade label '{grade.label}' is used twice")
            seen.setdefault(grade.label, k)
            empty = grade.lower > grade.upper or (
                grade.lower == grade.upper and not (grade.lower_inclusive and grade.upper_inclusive)
            )
            if empty:
                bad(k, "upper", f"grade {grade.label} holds no score ({grade.lower}..{grade.upper})")
        first, last = spec.grades[order[0]], spec.grades[order[-1]]
        if first.lower != 0 or not first.lower_inclusive:
            bad(order[0], "lower", f"grades start at {first.lower}, not at 0 inclusive")
        if last.upper != spec.total or not last.upper_inclusive:
            bad(order[-1], "upper", f"grades end at {last.upper}, not at total {spec.total} inclusive")
        for a, b in itertools.pairwise(order):
            low, high = spec.grades[a], spec.grades[b]
            where = f"between {low.label} and {high.label}"
            if low.upper < high.lower or (
                low.upper == high.lower and not (low.upper_inclusive or high.lower_inclusive)
            ):
                bad(b, "lower", f"gap {where}: {low.upper} to {high.lower} has no grade")
            elif low.upper > high.lower or (low.upper_inclusive and high.lower_inclusive):
                bad(b, "lower", f"overlap {where}: {high.lower} to {low.upper} has two grades")

    def _load_rule_set(
        self, ref: str, where: KeyPath
    ) -> tuple[RuleSetSpec, _Source, RuleSetRef] | None:
        rs_id, _, version = ref.partition("@")
        candidates = [d / rs_id / f"{version}.toml" for d in self.rules_dirs] if version else []
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            known = sorted(
                f"{p.parent.name}@{p.stem}"
                for d in self.rules_dirs
                if d.is_dir()
                for p in d.glob("*/*.toml")
            )
            self.diags.append(
                self.src.diag(where, "JX004", f"unknown rule set '{ref}'", _hint(ref, known))
            )
            return None
        rs_src = _Source(path, _shown(path), self.diags)
        if rs_src.data is None:
            return None
        try:
            rs_spec = RuleSetSpec.model_validate(rs_src.data)
        except ValidationError as exc:
            self.diags.extend(_schema_diags(rs_src, exc))
            return None
        self.diags.extend(
            check_published(path, rs_src.shown, rs_spec.id, rs_spec.version, rs_src.raw)
        )
        if f"{rs_spec.id}@{rs_spec.version}" != ref:
            self.diags.append(
                rs_src.diag(
                    ("id",),
                    "JX004",
                    f"file declares {rs_spec.id}@{rs_spec.version}, expected {ref}",
                )
            )
        return (
            rs_spec,
            rs_src,
            RuleSetRef(
                rs_spec.id, rs_spec.version, str(path), hashlib.sha256(rs_src.raw).hexdigest()
            ),
        )

    def _rule(
        self,
        rule: RuleSpec,
        src: _Source,
        where: KeyPath,
        scopes: list[dict[str, Any]],
        rule_set: str,
        clauses: dict[str, Any],
    ) -> CompiledRule | None:
        self._claim(rule.id, (*where, "id"), "rule", src)
        item = clause = None
        if rule.clause is not None:
            if rule.clause not in clauses:
                self.diags.append(
                    src.diag(
                        (*where, "clause"),
                        "JX009",
                        f"unknown clause '{rule.clause}'",
                        _hint(rule.clause, list(clauses)),
                    )
                )
            else:
                item, clause = clauses[rule.clause]
        instance = self._measure(rule.measure, rule.params, src, where, scopes)
        if instance is None:
            return None
        fields = instance.spec.fields
        cond = self._cond(rule.when, fields, src, (*where, "when"))
        if rule.deduct is not None:
            for key in ("count", "share"):
                name = getattr(rule.deduct, key)
                if name is not None and fields.get(name) != "number":
                    self.diags.append(
                        src.diag(
                            (*where, "deduct", key),
                            "JX014",
                            f"deduct.{key} names '{name}', which is not a number field of {rule.measure}",
                            _hint(name, list(fields)),
                        )
                    )
            if (
                clause is not None
                and rule.deduct.cap is not None
                and rule.deduct.cap > clause.points
            ):
                self.diags.append(
                    src.diag(
                        (*where, "deduct", "cap"),
                        "JX010",
                        f"cap {rule.deduct.cap} exceeds clause {clause.id}'s {clause.points} points",
                    )
                )
        for text, key in (
            (rule.reason, "reason"),
            (rule.finding.message if rule.finding else "", "finding"),
        ):
            for name in _FORMAT_FIELD.findall(text):
                if name not in fields and name not in _TEMPLATE_EXTRAS:
                    self.diags.append(
                        src.diag(
                            (*where, key),
                            "JX005",
                            f"template names unknown field '{name}'",
                            _hint(name, [*fields, *_TEMPLATE_EXTRAS]),
                        )
                    )
        if cond is None:
            return None
        line, _ = src.locator.find((*where, "id"))
        return CompiledRule(rule, instance.tag, cond, f"{src.shown}:{line}", rule_set, item, clause)

    def _measure(
        self,
        kind: str,
        params: dict[str, Any],
        src: _Source,
        where: KeyPath,
        scopes: list[dict[str, Any]],
    ) -> MeasureInstance | None:
        spec = REGISTRY.get(kind)
        if spec is None:
            self.diags.append(
                src.diag(
                    (*where, "measure"),
                    "JX003",
                    f"unknown measure kind '{kind}'",
                    _hint(kind, list(REGISTRY)),
                )
            )
            return None
        resolved: dict[str, Any] = {}
        ok = True
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("$"):
                name = value[1:]
                scope = next((s for s in scopes if name in s), None)
                if scope is None:
                    known = sorted({k for s in scopes for k in s})
                    self.diags.append(
                        src.diag(
                            (*where, "params", key),
                            "JX011",
                            f"unknown parameter '${name}'",
                            _hint(name, known),
                        )
                    )
                    ok = False
                    continue
                resolved[key] = scope[name]
            else:
                resolved[key] = value
        if not ok:
            return None
        try:
            validated = spec.params.model_validate(resolved)
        except ValidationError as exc:
            for err in exc.errors():
                loc = (*where, "params", *err["loc"])
                self.diags.append(
                    src.diag(
                        loc,
                        "JX012",
                        f"{kind} params: {'.'.join(map(str, err['loc']))}: {err['msg']}",
                    )
                )
            return None
        canonical = json.dumps(
            validated.model_dump(mode="json"), sort_keys=True, ensure_ascii=False
        )
        tag = f"{kind}#{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"
        self.measures.setdefault(tag, MeasureInstance(tag, spec, validated))
        return self.measures[tag]

    def _cond(
        self, text: str, fields: dict[str, FieldType] | Any, src: _Source, where: KeyPath
    ) -> Any:
        try:
            return parse_condition(text, fields)
        except ConditionError as exc:
            line, col = src.locator.find(where)
            # Point inside the string: the key, then `= "`, then the offending column.
            value_col = src.text.splitlines()[line - 1].find('"', col - 1) + 2 if src.text else col
            self.diags.append(
                Diagnostic(
                    src.shown, line, max(value_col, 1) + exc.col, exc.code, exc.message, exc.hint
                )
            )
            return None


_TEMPLATE_EXTRAS = ("subject", "table", "row", "column", "expected", "found", "expression")


def _hint(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def _shown(path: Path) -> str:
    """A path as printed in diagnostics: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _sha256(parts: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for _name, raw in parts:
        digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()
