"""Rubric versions on disk, and the snapshots stored with each evaluation.

A snapshot keeps every file of the rubric bundle: the rubric's TOML, every rule set and every
data file (layout, vocabulary …), with the names the report's `source` fields show. Replaying
compiles the snapshot in memory, reading nothing from disk, so the replayed report can equal
the stored one byte for byte whatever happened to the files since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.diagnostics import Code, Diagnostic, RubricError
from engine.rubric.datafiles import DATA_KINDS, RULES, kind_of
from engine.rubric.load import (
    LOCK_FILE,
    RUBRICS,
    content_sha256,
    load_bundle,
    load_rubric,
    read_lock,
    rubric_name,
)
from engine.rubric.model import Rubric
from engine.rubric.registry import (
    BUNDLED_RULES,
    RubricVersion,
    choose,
    default_among,
    discover,
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
class DataFileSource:
    """One data file of the bundle (`rules/layout/2024.1.toml`): its content hash and TOML."""

    name: str
    sha256: str
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
    # Absent from snapshots stored before the bundle held its data files: those do not replay.
    data_files: tuple[DataFileSource, ...] = ()

    def body(self) -> str:
        """Canonical JSON, as stored (its SHA-256 goes into the `created` event)."""
        return canonical(dataclasses.asdict(self))

    @classmethod
    def from_body(cls, body: str) -> Snapshot:
        """Read a stored snapshot."""
        data: dict[str, Any] = json.loads(body)
        data["rule_sets"] = tuple(RuleSetSource(**r) for r in data["rule_sets"])
        data["data_files"] = tuple(DataFileSource(**d) for d in data.get("data_files", ()))
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
    """The snapshot of a compiled rubric, from the bytes it was compiled from (no disk read)."""
    names = _source_names(rubric)
    contents = dict(rubric.files)
    rule_sets = []
    for ref in rubric.rule_sets:
        key = f"{ref.id}@{ref.version}"
        rule_sets.append(
            RuleSetSource(
                ref.id, ref.version, ref.sha256, names.get(key, ref.path), contents[ref.path].decode()
            )
        )
    data_files = tuple(
        DataFileSource(name, hashlib.sha256(raw).hexdigest(), raw.decode())
        for name, raw in rubric.files
        if kind_of(name) is not None
    )
    return Snapshot(
        rubric_id=rubric.spec.id,
        version=rubric.spec.version,
        title=rubric.spec.title,
        sha256=rubric.sha256,
        source_name=names.get(_ME, str(rubric.path)),
        source=rubric.source,
        rule_sets=tuple(rule_sets),
        data_files=data_files,
    )


class SnapshotMismatch(Exception):
    """A snapshot that no longer compiles to its recorded hash."""


def compile_snapshot(snapshot: Snapshot) -> Rubric:
    """Compile a stored snapshot in memory, with its sources named as when it was first used."""
    rubric_name = f"{RUBRICS}/{snapshot.rubric_id}/{snapshot.version}.toml"
    files = {rubric_name: snapshot.source.encode("utf-8")}
    for rs in snapshot.rule_sets:
        files[f"{RULES}/{rs.id}/{rs.version}.toml"] = rs.source.encode("utf-8")
    for data in snapshot.data_files:
        files[data.name] = data.source.encode("utf-8")
    legacy = not snapshot.data_files
    if legacy:
        files |= _published_data_files()
    rubric = load_bundle(files, rubric_name)
    if legacy:
        # Stored before snapshots carried the data files: its sha256 covered the rubric and its
        # rule sets only, and it was read and scored with the layout and vocabulary now
        # published in the bundled lock. Checked the old way, it keeps its recorded sha256
        # (its report and decision_id carry it).
        own = [(name, raw) for name, raw in rubric.files if kind_of(name) is None]
        if content_sha256(own) == snapshot.sha256:
            rubric = dataclasses.replace(rubric, sha256=snapshot.sha256)
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


def _published_data_files() -> dict[str, bytes]:
    """Every data file of the bundled rules root that its lock publishes, by logical name."""
    locked = read_lock(BUNDLED_RULES / LOCK_FILE)
    out: dict[str, bytes] = {}
    for (kind, version), sha in locked.items():
        if kind not in DATA_KINDS:
            continue
        raw = (BUNDLED_RULES / kind / f"{version}.toml").read_bytes()
        if hashlib.sha256(raw).hexdigest() == sha:  # the lock vouches for these bytes
            out[f"{RULES}/{kind}/{version}.toml"] = raw
    return out


@dataclass(frozen=True)
class _Live:
    """A version that passed its checks, and the file state it was compiled from."""

    rubric: Rubric
    version: RubricVersion
    stamp: tuple[tuple[str, int, int], ...]


def _stamp(path: Path, rules_dirs: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(file, mtime, size) of the rubric and every rule set file: any change means recompiling."""
    files = [path, *sorted(p for d in rules_dirs if d.is_dir() for p in d.glob("*/*.toml"))]
    out = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        out.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: versions live now, versions refused (with why), versions that changed."""

    loaded: list[str]
    rejected: dict[str, list[str]]
    changed: list[str]


class Rubrics:
    """The rubric catalogue: the last good compiled version of every file on disk, and snapshots.

    `reload()` compiles new and changed files, runs their case suites, and only then puts them
    live; a broken edit is refused with its diagnostics and the last good version keeps serving.
    Requests never compile: they read the live set. Evaluations in flight hold their Rubric
    object, so a reload never changes the version they started with.
    """

    def __init__(
        self, rubric_dirs: list[Path], rules_dirs: list[Path], *, run_suites: bool = True
    ) -> None:
        self.rubric_dirs = rubric_dirs
        self.rules_dirs = rules_dirs
        self.run_suites = run_suites
        self._live: dict[str, _Live] = {}
        self._rejected: dict[str, list[str]] = {}
        self._snapshots: dict[str, Rubric] = {}
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._loaded = (
            False  # the first use loads, if startup did not (e.g. an app without lifespan)
        )

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.reload()

    def versions(self) -> list[RubricVersion]:
        """Every rubric version on disk."""
        return discover(self.rubric_dirs)

    def live_versions(self) -> list[RubricVersion]:
        """The versions that serve requests."""
        self._ensure_loaded()
        with self._lock:
            return [live.version for live in self._live.values()]

    def rejected(self) -> dict[str, list[str]]:
        """Files whose latest edit was refused, with the diagnostics."""
        with self._lock:
            return dict(self._rejected)

    def get(self, path: Path) -> Rubric:
        """The live version compiled from `path` (RubricError with the diagnostics if none is)."""
        self._ensure_loaded()
        key = str(path.resolve())
        with self._lock:
            live = self._live.get(key)
            refused = self._rejected.get(key)
        if live is not None:
            return live.rubric
        if refused:
            raise RubricError([Diagnostic(rubric_name(path), 0, 0, Code.JX017, "; ".join(refused))])
        name = rubric_name(path)  # never the server's path: errors reach departments too
        raise RubricError([Diagnostic(name, 0, 0, Code.JX013, f"rubric {name} is not loaded")])

    def find(self, ref: str | None, *, fiscal_year: int | None) -> Rubric:
        """`ID[@VERSION]`, or without one the single rubric covering `fiscal_year`."""
        live = self.live_versions()
        if not ref:
            ref = default_among(live, fiscal_year) if fiscal_year else None
            if ref is None:
                ids = sorted({v.id for v in self.live_versions() if fiscal_year in v.fiscal_years})
                choice = ", ".join(ids) or "none"
                raise ApiError(
                    422,
                    "rubric_required",
                    f"请用 rubric 参数指定评分表（覆盖 {fiscal_year} 年度的：{choice}）",
                    f"choose a rubric with ?rubric=ID[@VERSION] (covering FY{fiscal_year}: {choice})",
                )
        return self.get(choose(ref, live, fiscal_year=fiscal_year))

    def version(self, rubric_id: str, version: str) -> Rubric:
        """One version, by exact id and version (RubricError JX013 if absent)."""
        for found in self.versions():
            if found.id == rubric_id and found.version == version:
                return self.get(found.path)
        raise RubricError(
            [Diagnostic("rubrics", 0, 0, Code.JX013, f"rubric '{rubric_id}@{version}' not found")]
        )

    def reload(self) -> ReloadResult:
        """Compile and test what changed on disk; put live only what passes."""
        with self._reload_lock:  # one reload at a time (watcher, admin endpoint, startup)
            changed: list[str] = []
            on_disk = self.versions()
            seen = set()
            for found in on_disk:
                key = str(found.path.resolve())
                seen.add(key)
                stamp = _stamp(found.path, self.rules_dirs)
                with self._lock:
                    current = self._live.get(key)
                if current is not None and current.stamp == stamp and key not in self._rejected:
                    if current.version != found:  # e.g. just published: same file, new state
                        with self._lock:
                            self._live[key] = dataclasses.replace(current, version=found)
                    continue
                problems = self._check(found)
                with self._lock:
                    if isinstance(problems, list):
                        self._rejected[key] = problems
                    else:
                        self._live[key] = _Live(problems, found, stamp)
                        self._rejected.pop(key, None)
                        # Recompiled because some rules file changed; changed only if its bundle did.
                        if current is None or current.rubric.sha256 != problems.sha256:
                            changed.append(problems.ref)
            with self._lock:
                for key in [k for k in self._live if k not in seen]:
                    del self._live[key]  # deleted from disk: no new evaluations on it
                for key in [k for k in self._rejected if k not in seen]:
                    del self._rejected[key]
                loaded = sorted(live.rubric.ref for live in self._live.values())
                rejected = dict(self._rejected)
                self._loaded = True
            return ReloadResult(loaded, rejected, changed)

    def _check(self, found: RubricVersion) -> Rubric | list[str]:
        """The compiled rubric if it lints clean and its case suites pass, else the problems."""
        try:
            rubric = load_rubric(found.path, self.rules_dirs)
        except RubricError as exc:
            return [d.render() for d in exc.diagnostics]
        except OSError as exc:
            return [f"{rubric_name(found.path)}: {exc.strerror or type(exc).__name__}"]
        if not self.run_suites:
            return rubric
        from engine.backends import PythonBackend
        from engine.lifecycle.casesuite import load_suite, run_case, suite_files

        failures: list[str] = []
        backend = PythonBackend()  # the reference backend: suites check the rubric, not the engine
        for path in suite_files(found.path.parent):
            try:
                suite = load_suite(path)
            except Exception as exc:  # a broken suite refuses the version, whatever the error
                shown = f"{rubric_name(found.path).rpartition('/')[0]}/tests/{path.name}"
                failures.append(f"{shown}: {type(exc).__name__}: {exc}")
                continue
            if suite.rubric != rubric.ref:
                continue
            for case in suite.cases:
                try:
                    result = run_case(path, suite, case, rubric, backend)
                except Exception as exc:  # refuses this version only; never stops the service
                    failures.append(f"{path.name}: {case.name}: {type(exc).__name__}: {exc}")
                    continue
                failures += [f"{path.name}: {case.name}: {p}" for p in result.problems]
        return failures or rubric

    def load_all(self) -> tuple[list[str], list[str]]:
        """Reload: (refs live, diagnostics of the versions refused)."""
        result = self.reload()
        return result.loaded, [d for problems in result.rejected.values() for d in problems]

    def status(self) -> tuple[list[str], list[str]]:
        """(refs live, diagnostics of refused versions) without touching the disk."""
        with self._lock:
            loaded = sorted(live.rubric.ref for live in self._live.values())
            failed = [d for problems in self._rejected.values() for d in problems]
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


def watch(rubrics: Rubrics, stop: threading.Event, on_reload: Any) -> None:
    """Reload whenever a rubric or rule set file changes, until `stop` is set (a daemon thread)."""
    import watchfiles

    dirs = [d for d in [*rubrics.rubric_dirs, *rubrics.rules_dirs] if d.is_dir()]
    if not dirs:
        return
    for _changes in watchfiles.watch(
        *dirs,
        stop_event=stop,
        debounce=300,
        # published.lock too: publishing a staged version makes it a default.
        watch_filter=lambda _c, p: p.endswith((".toml", ".lock")),
        raise_interrupt=False,
    ):
        on_reload(rubrics.reload())
