"""Load, validate and compile a rubric TOML (and the rule sets it names) into a `Rubric`.

Every problem is collected, not just the first, and reported as `file:line:col: CODE message`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

import engine.measures  # noqa: F401  # registers every measure kind
from engine.backends.plan import PlannedRule, RulesetPlan
from engine.conditions import ConditionError, parse_condition
from engine.diagnostics import Code, Diagnostic, RubricError
from engine.importers._layout import DEFAULT_LAYOUT, TextLayout
from engine.locate import KeyPath, Locator, toml_position
from engine.measures.base import REGISTRY
from engine.model.facts import FieldType
from engine.rubric.datafiles import (
    DATA_KINDS,
    RULES,
    DataKind,
    data_name,
    load_data,
)
from engine.rubric.model import (
    CompiledBand,
    CompiledRule,
    MeasureInstance,
    Rubric,
    RuleSetRef,
)
from engine.rubric.schema import RubricSpec, RuleSetSpec, RuleSpec

RUBRICS = "rubrics"  # the logical name of a rubrics root
_FORMAT_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Source:
    """One TOML file: its name as shown, text, locator and parsed data."""

    def __init__(
        self, raw: bytes | None, shown: str, diags: list[Diagnostic], error: str = ""
    ) -> None:
        self.shown = shown
        self.data: dict[str, Any] | None = None
        self.text = ""
        self.raw = b""
        try:
            if raw is None:
                raise OSError(error or "no such file")
            self.raw = raw
            self.text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diags.append(Diagnostic(shown, 1, 1, Code.JX015, f"cannot read file: {exc}"))
            self.locator = Locator("")
            return
        self.locator = Locator(self.text)
        try:
            self.data = tomllib.loads(self.text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            line, col = toml_position(str(exc))
            diags.append(Diagnostic(shown, line, col, Code.JX001, str(exc).split(" (at ")[0]))

    @classmethod
    def read(cls, path: Path, shown: str, diags: list[Diagnostic]) -> _Source:
        """The file at `path` (an unreadable file is a JX015 diagnostic)."""
        try:
            return cls(path.read_bytes(), shown, diags)
        except OSError as exc:
            return cls(None, shown, diags, str(exc))

    def diag(self, path: KeyPath, code: Code, message: str, hint: str = "") -> Diagnostic:
        line, col = self.locator.find(path)
        return Diagnostic(self.shown, line, col, code, message, hint)


class BundleFiles:
    """The files a bundle may read, by logical name (`rules/<id>/<version>.toml`).

    From folders (the first rules root holding a name wins) or from memory (a snapshot).
    A folder's lock file protects its published versions; memory has no lock: a snapshot is
    checked against its recorded sha256 instead.
    """

    def __init__(
        self, rules_dirs: list[Path] | None = None, memory: Mapping[str, bytes] | None = None
    ) -> None:
        self.rules_dirs = rules_dirs or []
        self.memory = memory

    def _path(self, name: str) -> Path | None:
        parts = PurePosixPath(name).parts
        # `rules/<folder>/<file>` and nothing else: a name never reaches outside its root.
        if len(parts) != 3 or parts[0] != RULES or any(p in ("..", ".") for p in parts):
            return None
        rest = Path(parts[1], parts[2])
        return next((d / rest for d in self.rules_dirs if (d / rest).is_file()), None)

    def read(self, name: str) -> bytes | None:
        """The file's bytes, or None when there is none (or it cannot be read)."""
        if self.memory is not None:
            return self.memory.get(name)
        path = self._path(name)
        try:
            return None if path is None else path.read_bytes()
        except OSError:
            return None

    def names(self, folder: str) -> list[str]:
        """The logical names of the files under `rules/<folder>/` (a glob; for hints)."""
        if self.memory is not None:
            found = [n for n in self.memory if fnmatch.fnmatch(n, f"{RULES}/{folder}/*.toml")]
        else:
            found = [
                f"{RULES}/{p.parent.name}/{p.name}"
                for d in self.rules_dirs
                if d.is_dir()
                for p in d.glob(f"{folder}/*.toml")
            ]
        return sorted(found)

    def locked(self, name: str) -> str | None:
        """The sha256 the lock of the file's rules root records for it, if published."""
        path = self._path(name) if self.memory is None else None
        if path is None:
            return None
        return read_lock(path.parent.parent / LOCK_FILE).get((path.parent.name, path.stem))


def _schema_diags(src: _Source, exc: ValidationError, prefix: KeyPath = ()) -> list[Diagnostic]:
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        where = ".".join(str(p) for p in loc) or "(top)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        out.append(src.diag(tuple(loc), Code.JX002, f"{where}: {message}"))
    return out


def load_rubric(path: Path, rules_dirs: list[Path], *, shown: str | None = None) -> Rubric:
    """Load and compile the rubric at `path` with everything it uses, from `rules_dirs`.

    Raises RubricError with every diagnostic. Files are shown by their logical names
    (`rubrics/<id>/<version>.toml`, `rules/<id>/<version>.toml`), never by where they lie.
    """
    diags: list[Diagnostic] = []
    src = _Source.read(path, shown or rubric_name(path), diags)
    locked = read_lock(path.parent.parent / LOCK_FILE)
    return _load(src, BundleFiles(rules_dirs), diags, locked, path)


def load_bundle(files: Mapping[str, bytes], rubric: str) -> Rubric:
    """Compile a rubric from files held in memory (a snapshot): nothing is read from disk.

    `files` maps logical names to bytes; `rubric` is the rubric's own name among them.
    """
    diags: list[Diagnostic] = []
    src = _Source(files.get(rubric), rubric, diags)
    return _load(src, BundleFiles(memory=files), diags, {}, Path(rubric))


def rubric_name(path: Path) -> str:
    """The logical name of a rubric file: `rubrics/<id>/<version>.toml`."""
    return f"{RUBRICS}/{path.parent.name}/{path.name}"


def _load(
    src: _Source,
    files: BundleFiles,
    diags: list[Diagnostic],
    locked: dict[tuple[str, str], str],
    path: Path,
) -> Rubric:
    if src.data is None:
        raise RubricError(diags)
    try:
        spec = RubricSpec.model_validate(src.data)
    except ValidationError as exc:
        raise RubricError(diags + _schema_diags(src, exc)) from None
    diags.extend(_locked_differs(locked.get((spec.id, spec.version)), src, spec.id, spec.version))
    return _Compiler(spec, src, files, diags, path).compile()


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
    `rules/published.lock`), one level above the `<id>/<version>.toml` files. A data file
    (`rules/layout/2024.1.toml`) is locked as (folder, version).
    """
    locked = read_lock(path.parent.parent / LOCK_FILE).get((ident, version))
    return _locked_differs(locked, _Source(raw, shown, []), ident, version)


def _locked_differs(locked: str | None, src: _Source, ident: str, version: str) -> list[Diagnostic]:
    actual = hashlib.sha256(src.raw).hexdigest()
    if locked is None or locked == actual:
        return []
    return [
        Diagnostic(
            src.shown,
            1,
            1,
            Code.JX016,
            f"{ident}@{version} is published (sha256 {locked[:12]}…) and this file differs "
            f"({actual[:12]}…)",
            "copy it to a new version instead of editing a published one",
        )
    ]


def lint_rule_set(path: Path, *, shown: str | None = None) -> list[Diagnostic]:
    """Every problem in a rule set file on its own: schema, measures, conditions, parameters."""
    diags: list[Diagnostic] = []
    src = _Source.read(path, shown or shown_name(path), diags)
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
                Code.JX004,
                f"file declares {spec.id}@{spec.version} but lives at {path.parent.name}/{path.stem}.toml",
            )
        )
    empty = RubricSpec(id="lint", version="0", title="", total=Decimal(0), sections=[], items=[])
    # Data files the rule set names resolve inside its own rules root.
    compiler = _Compiler(empty, src, BundleFiles([path.parent.parent]), diags, path)
    for r, rule in enumerate(spec.rules):
        compiler._rule(rule, src, ("rules", r), [spec.parameters], f"{spec.id}@{spec.version}", {})
    return diags


class _Compiler:
    def __init__(
        self,
        spec: RubricSpec,
        src: _Source,
        files: BundleFiles,
        diags: list[Diagnostic],
        path: Path,
    ):
        self.spec = spec
        self.src = src
        self.files = files
        self.diags = diags
        self.path = path
        self.measures: dict[str, MeasureInstance] = {}
        self.ids: dict[str, str] = {}
        # Every file the bundle read, by logical name, in reading order: the sha256 covers them.
        self.loaded: dict[str, bytes] = {src.shown: src.raw}
        self.data: dict[str, object] = {}  # by logical name
        self.refs: dict[str, object] = {}  # by the reference a parameter gives, for measures

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
                                Code.JX010,
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
                                Code.JX014,
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

        layout_name = self._data(
            DATA_KINDS["layout"], spec.layout or DEFAULT_LAYOUT, src, ("layout",)
        )
        if self.diags:
            raise RubricError(self.diags)
        sha = content_sha256(list(self.loaded.items()))
        name = f"{spec.id}@{spec.version}#{sha[:8]}"
        plan = RulesetPlan(
            name,
            tuple(PlannedRule(r.spec.id, r.tag, r.cond) for r in compiled_rules)
            + tuple(PlannedRule(b.spec.id, b.tag, b.cond) for b in bands),
        )
        layout = self.data[layout_name or ""]
        assert isinstance(layout, TextLayout)  # the layout kind loads a TextLayout
        return Rubric(
            spec=spec,
            path=self.path,
            sha256=sha,
            source=src.text,
            rule_sets=tuple(rule_sets),
            measures=self.measures,
            rules=tuple(compiled_rules),
            bands=tuple(bands),
            plan=plan,
            parameters=dict(spec.parameters),
            files=tuple(self.loaded.items()),
            data={**self.refs, **self.data},
            layout=layout,
        )

    # -- pieces --------------------------------------------------------------------------

    def _claim(self, ident: str, where: KeyPath, what: str, src: _Source | None = None) -> None:
        src = src or self.src
        if ident in self.ids:
            self.diags.append(
                src.diag(where, Code.JX006, f"duplicate id '{ident}' (already a {self.ids[ident]})")
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
                    Code.JX010,
                    f"sections add up to {sum(s.points for s in spec.sections)}, not total {spec.total}",
                )
            )
        for i, item in enumerate(spec.items):
            if item.section not in sections:
                self.diags.append(
                    src.diag(
                        ("items", i, "section"),
                        Code.JX009,
                        f"unknown section '{item.section}'",
                        _hint(item.section, list(sections)),
                    )
                )
            clause_sum = sum((c.points for c in item.clauses), Decimal(0))
            if clause_sum != item.points:
                self.diags.append(
                    src.diag(
                        ("items", i, "points"),
                        Code.JX010,
                        f"item {item.id}: clauses add up to {clause_sum}, not {item.points}",
                    )
                )
            for j, clause in enumerate(item.clauses):
                if clause.cap is not None and clause.cap > clause.points:
                    self.diags.append(
                        src.diag(
                            ("items", i, "clauses", j, "cap"),
                            Code.JX010,
                            f"cap {clause.cap} exceeds the clause's {clause.points} points",
                        )
                    )
        for s, section in enumerate(spec.sections):
            total = sum((it.points for it in spec.items if it.section == section.name), Decimal(0))
            if total != section.points:
                self.diags.append(
                    src.diag(
                        ("sections", s, "points"),
                        Code.JX010,
                        f"section {section.name}: items add up to {total}, not {section.points}",
                    )
                )

    def _check_grades(self) -> None:
        """Grade bands, sorted by lower bound, must tile [0, total]: each point in exactly one."""
        spec, src = self.spec, self.src
        if not spec.grades:
            return

        def bad(index: int, key: str, message: str) -> None:
            self.diags.append(src.diag(("grades", index, key), Code.JX022, message))

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
        name = f"{RULES}/{rs_id}/{version}.toml"
        raw = self.files.read(name) if version and "/" not in ref else None
        if raw is None:
            known = sorted(
                f"{n.split('/')[1]}@{n.rsplit('/', 1)[1].removesuffix('.toml')}"
                for n in self.files.names("*")
            )
            self.diags.append(
                self.src.diag(where, Code.JX004, f"unknown rule set '{ref}'", _hint(ref, known))
            )
            return None
        rs_src = _Source(raw, name, self.diags)
        if rs_src.data is None:
            return None
        try:
            rs_spec = RuleSetSpec.model_validate(rs_src.data)
        except ValidationError as exc:
            self.diags.extend(_schema_diags(rs_src, exc))
            return None
        self.diags.extend(
            _locked_differs(self.files.locked(name), rs_src, rs_spec.id, rs_spec.version)
        )
        if f"{rs_spec.id}@{rs_spec.version}" != ref:
            self.diags.append(
                rs_src.diag(
                    ("id",),
                    Code.JX004,
                    f"file declares {rs_spec.id}@{rs_spec.version}, expected {ref}",
                )
            )
        self.loaded[name] = raw
        return (
            rs_spec,
            rs_src,
            RuleSetRef(rs_spec.id, rs_spec.version, name, hashlib.sha256(raw).hexdigest()),
        )

    def _data(self, kind: DataKind, ref: str, src: _Source, where: KeyPath) -> str | None:
        """Load the data file `ref` names (once per bundle); its logical name, or None."""
        name = data_name(kind.kind, ref)
        if name is None:
            self.diags.append(
                src.diag(
                    where,
                    Code.JX018,
                    f"'{ref}' is not a {kind.kind} file of the rules root",
                    f"write {RULES}/{kind.kind}/<version>.toml or the bare version",
                )
            )
            return None
        if name in self.data:
            self.refs[ref] = self.data[name]
            return name
        raw = self.files.read(name)
        if raw is None:
            self.diags.append(
                src.diag(
                    where,
                    Code.JX018,
                    f"unknown {kind.kind} '{ref}'",
                    _hint(name, self.files.names(kind.kind)),
                )
            )
            return None
        loaded, problems = load_data(kind, raw, name)
        self.diags.extend(problems)
        version = PurePosixPath(name).stem
        self.diags.extend(
            _locked_differs(self.files.locked(name), _Source(raw, name, []), kind.kind, version)
        )
        if loaded is None:
            return None
        self.loaded[name] = raw
        self.data[name] = self.refs[ref] = loaded
        return name

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
                        Code.JX009,
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
                            Code.JX014,
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
                        Code.JX010,
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
                            Code.JX005,
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
                    Code.JX003,
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
                            Code.JX011,
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
                        Code.JX012,
                        f"{kind} params: {'.'.join(map(str, err['loc']))}: {err['msg']}",
                    )
                )
            return None
        for field_name, info in spec.params.model_fields.items():
            extra = info.json_schema_extra
            data_kind = (
                DATA_KINDS.get(str(extra.get("data_file"))) if isinstance(extra, dict) else None
            )
            if data_kind is None:
                continue
            ref = getattr(validated, field_name)
            if self._data(data_kind, ref, src, (*where, "params", field_name)) is None:
                return None
        # Parameters that name things inside a data file (e.g. concepts) are checked against
        # the loaded file here, where the file is known, never by reading it from a path.
        check = getattr(validated, "check_data", None)
        if callable(check):
            problems = check(self.refs)
            for problem in problems:
                self.diags.append(src.diag((*where, "params"), Code.JX012, f"{kind} params: {problem}"))
            if problems:
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


def shown_name(path: Path) -> str:
    """A file as diagnostics name it: relative to the working directory when it lies below it,
    else by its place in its tree (`rubrics/<id>/<version>.toml`), never an absolute path."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return "/".join(path.resolve().parts[-3:])


def content_sha256(parts: list[tuple[str, bytes]]) -> str:
    """The sha256 over files' contents in order (names do not count: a copy hashes the same)."""
    digest = hashlib.sha256()
    for _name, raw in parts:
        digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()
