"""Rubric versions on disk, and the snapshots stored with each evaluation.

A snapshot keeps the rubric's TOML and the TOML of every rule set it uses, with the names the
report's `source` fields show. Replaying compiles the snapshot from a temporary folder; the
sources are then renamed back, so the replayed report can equal the stored one byte for byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, RubricError
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import (
    RubricCache,
    RubricVersion,
    default_for_year,
    discover,
    resolve,
)
from service.audit import canonical
from service.errors import ApiError

_ME = ""  # the rule_set key of a rubric's own rules and bands


@dataclass(frozen=True)
class RuleSetSource:
    """One rule set as used: id, version, content hash, the name its sources show, its TOML."""

    id: str
    version: str
    sha256: str
    source_name: str
    source: str


@dataclass(frozen=True)
class Snapshot:
    """A rubric version exactly as an evaluation used it."""

    rubric_id: str
    version: str
    title: str
    sha256: str
    source_name: str
    source: str
    rule_sets: tuple[RuleSetSource, ...]

    def body(self) -> str:
        """Canonical JSON, as stored (its SHA-256 goes into the `created` event)."""
        return canonical(dataclasses.asdict(self))

    @classmethod
    def from_body(cls, body: str) -> Snapshot:
        """Read a stored snapshot."""
        data: dict[str, Any] = json.loads(body)
        data["rule_sets"] = tuple(RuleSetSource(**r) for r in data["rule_sets"])
        return cls(**data)


def _source_names(rubric: Rubric) -> dict[str, str]:
    """`rule_set key -> file name` as the compiled rules' `source` fields show them."""
    names: dict[str, str] = {}
    for rule in rubric.rules:
        names.setdefault(rule.rule_set, rule.source.rpartition(":")[0])
    for band in rubric.bands:
        names.setdefault(_ME, band.source.rpartition(":")[0])
    return names


def snapshot_of(rubric: Rubric) -> Snapshot:
    """The snapshot of a rubric compiled from disk."""
    names = _source_names(rubric)
    rule_sets = []
    for ref in rubric.rule_sets:
        raw = Path(ref.path).read_bytes()
        if hashlib.sha256(raw).hexdigest() != ref.sha256:
            # The file changed since it was compiled; the cache recompiles on the next request.
            raise ApiError(
                409,
                "rubric_changed",
                f"规则集 {ref.id}@{ref.version} 正在被修改，请重试",
                f"rule set {ref.id}@{ref.version} changed while in use; retry",
            )
        key = f"{ref.id}@{ref.version}"
        rule_sets.append(
            RuleSetSource(ref.id, ref.version, ref.sha256, names.get(key, ref.path), raw.decode())
        )
    return Snapshot(
        rubric_id=rubric.spec.id,
        version=rubric.spec.version,
        title=rubric.spec.title,
        sha256=rubric.sha256,
        source_name=names.get(_ME, str(rubric.path)),
        source=rubric.source,
        rule_sets=tuple(rule_sets),
    )


class SnapshotMismatch(Exception):
    """A snapshot that no longer compiles to its recorded hash."""


def compile_snapshot(snapshot: Snapshot) -> Rubric:
    """Compile a stored snapshot, with its sources named as when it was first used."""
    with tempfile.TemporaryDirectory(prefix="jixiao-snapshot-") as tmp:
        base = Path(tmp)
        rules_dir = base / "rules"
        for rs in snapshot.rule_sets:
            path = rules_dir / rs.id / f"{rs.version}.toml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rs.source.encode("utf-8"))
        rubric_path = base / "rubrics" / snapshot.rubric_id / f"{snapshot.version}.toml"
        rubric_path.parent.mkdir(parents=True)
        rubric_path.write_bytes(snapshot.source.encode("utf-8"))
        rubric = load_rubric(rubric_path, [rules_dir], shown=snapshot.source_name)
    if rubric.sha256 != snapshot.sha256:
        raise SnapshotMismatch(
            f"snapshot of {snapshot.rubric_id}@{snapshot.version} compiles to {rubric.sha256}, "
            f"recorded {snapshot.sha256}"
        )
    names = {_ME: snapshot.source_name} | {
        f"{rs.id}@{rs.version}": rs.source_name for rs in snapshot.rule_sets
    }

    def renamed(source: str, key: str) -> str:
        _file, sep, line = source.rpartition(":")
        return f"{names[key]}:{line}" if sep and key in names else source

    return dataclasses.replace(
        rubric,
        path=Path(snapshot.source_name),
        rules=tuple(
            dataclasses.replace(r, source=renamed(r.source, r.rule_set)) for r in rubric.rules
        ),
        bands=tuple(dataclasses.replace(b, source=renamed(b.source, _ME)) for b in rubric.bands),
    )


class Rubrics:
    """The rubric catalogue: versions on disk (compiled once per file content) and snapshots."""

    def __init__(self, rubric_dirs: list[Path], rules_dirs: list[Path]) -> None:
        self.rubric_dirs = rubric_dirs
        self.rules_dirs = rules_dirs
        self._cache = RubricCache(rules_dirs)
        self._snapshots: dict[str, Rubric] = {}
        self._lock = threading.Lock()

    def versions(self) -> list[RubricVersion]:
        """Every rubric version on disk."""
        return discover(self.rubric_dirs)

    def get(self, path: Path) -> Rubric:
        """The compiled rubric at `path` (RubricError if it does not compile)."""
        return self._cache.get(path)

    def find(self, ref: str | None, *, fiscal_year: int | None) -> Rubric:
        """`ID[@VERSION]`, or without one the single rubric covering `fiscal_year`."""
        if not ref:
            ref = default_for_year(self.rubric_dirs, fiscal_year) if fiscal_year else None
            if ref is None:
                ids = sorted({v.id for v in self.versions() if fiscal_year in v.fiscal_years})
                choice = ", ".join(ids) or "none"
                raise ApiError(
                    422,
                    "rubric_required",
                    f"请用 rubric 参数指定评分表（覆盖 {fiscal_year} 年度的：{choice}）",
                    f"choose a rubric with ?rubric=ID[@VERSION] (covering FY{fiscal_year}: {choice})",
                )
        return self.get(resolve(ref, self.rubric_dirs, fiscal_year=fiscal_year))

    def version(self, rubric_id: str, version: str) -> Rubric:
        """One version, by exact id and version (RubricError JX013 if absent)."""
        for found in self.versions():
            if found.id == rubric_id and found.version == version:
                return self.get(found.path)
        raise RubricError(
            [Diagnostic("rubrics", 0, 0, "JX013", f"rubric '{rubric_id}@{version}' not found")]
        )

    def load_all(self) -> tuple[list[str], list[str]]:
        """Compile every version on disk: (refs loaded, diagnostics of those that failed)."""
        loaded: list[str] = []
        failed: list[str] = []
        for found in self.versions():
            try:
                loaded.append(self.get(found.path).ref)
            except RubricError as exc:
                failed.extend(d.render() for d in exc.diagnostics)
            except OSError as exc:
                failed.append(f"{found.path}: {exc}")
        return loaded, failed

    def from_snapshot(self, snapshot: Snapshot) -> Rubric:
        """A stored snapshot, compiled once per process."""
        # Keyed by the whole snapshot, names included: they shape the report's `source` fields.
        key = hashlib.sha256(snapshot.body().encode("utf-8")).hexdigest()
        with self._lock:
            cached = self._snapshots.get(key)
        if cached is None:
            cached = compile_snapshot(snapshot)
            with self._lock:
                self._snapshots[key] = cached
        return cached
