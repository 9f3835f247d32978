"""Score many dossiers at once: one worker process per core, each with its own rule engine.

`find_dossiers` turns command-line paths (files or folders) into manifests; `run_batch` scores
them with `jobs` processes and returns one `BatchResult` per manifest in input order, whatever
order they finish in, so everything built from the results is the same for any `jobs`. One
package that cannot be scored is a result with its error; it never stops the batch.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.backends.plan import Backend
from engine.diagnostics import CalendarError, PackageError, RubricError
from engine.dossier import load_package, read_manifest
from engine.evaluate import Evaluator, render_json
from engine.measures.base import Mode
from engine.model import Dossier, Package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import default_for_year, discover, resolve, rubric_dirs, rules_dirs


class BatchInputError(ValueError):
    """A package the batch cannot score for a reason outside its manifest's schema."""


@dataclass(frozen=True)
class BatchOptions:
    """What every package of a batch is scored with (picklable, for the worker processes)."""

    rubric: str | None = None  # ID[@VERSION]; None: the rubric covering each package's year
    rubrics: str | None = None
    rules: str | None = None
    mode: Mode = "bureau"
    as_of: dt.date | None = None
    backend: str = "durable"
    out_dir: Path | None = None
    out_formats: tuple[str, ...] = ("json",)


@dataclass(frozen=True)
class BatchResult:
    """One package's outcome: its report (JSON text) or the error that stopped it."""

    path: str
    report_json: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Scored."""
        return self.report_json is not None

    def report(self) -> dict[str, Any]:
        """The report with its numbers as Decimals."""
        if self.report_json is None:
            raise ValueError(f"{self.path} was not scored")
        parsed: dict[str, Any] = json.loads(self.report_json, parse_float=Decimal)
        return parsed


def is_manifest(path: Path) -> bool:
    """Whether a `*.toml` found in a folder is a dossier manifest.

    One that does not parse counts as a (broken) manifest, so a broken package is reported, never
    skipped; one that parses is a manifest when it has any of a manifest's top-level keys (so
    rubrics, case suites and other TOML beside the dossiers are left alone).
    """
    try:
        return is_manifest_text(path.read_text("utf-8"))
    except UnicodeDecodeError:
        return True


def is_manifest_text(text: str) -> bool:
    """`is_manifest` for a file's text (e.g. an entry of an uploaded zip)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return True
    return bool(set(data) & set(Dossier.model_fields))


def find_dossiers(paths: list[Path]) -> list[Path]:
    """Manifests named or found below folders (`**/*.toml`), sorted per folder, each once."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*.toml")) if p.is_file() and is_manifest(p))
        else:
            found.append(path)
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def prepare(
    path: Path, rubric_ref: str | None, rubrics: str | None, rules: str | None, as_of: dt.date | None
) -> tuple[Package, Rubric, dt.date]:
    """The package, the rubric it is scored with, and the evaluation date (as `jixiao score`)."""
    dossier = read_manifest(path)
    dirs = rubric_dirs(rubrics)
    ref = rubric_ref or default_for_year(dirs, dossier.fiscal_year)
    if ref is None:
        covering = ", ".join(
            sorted({v.id for v in discover(dirs) if dossier.fiscal_year in v.fiscal_years})
        )
        raise BatchInputError(
            f"{path}: choose a rubric with --rubric (FY{dossier.fiscal_year}: {covering or 'none'})"
        )
    when = as_of or dossier.as_of or dossier.received_on
    rubric = _rubric(str(resolve(ref, dirs, fiscal_year=dossier.fiscal_year, as_of=when)), rules)
    if when is None:
        raise BatchInputError(
            f"{path}: no evaluation date: pass --as-of or set as_of / received_on"
        )
    package = load_package(path, rubric.layout)  # read with the rubric's own layout
    return package, rubric, when


@lru_cache(maxsize=16)
def _rubric(path: str, rules: str | None) -> Rubric:
    """A compiled rubric, once per worker process (a batch mostly uses one or two)."""
    return load_rubric(Path(path), rules_dirs(rules))


def error_text(exc: BaseException) -> str:
    """One line for a package that could not be scored, as `jixiao score` prints it."""
    if isinstance(exc, RubricError):
        return "; ".join(d.render() for d in exc.diagnostics)
    if isinstance(exc, PackageError):
        return "; ".join(f"{exc.file}: {p.render()}" for p in exc.problems)
    if isinstance(exc, CalendarError | ValueError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


_BACKENDS: dict[str, Backend] = {}


def _backend(name: str) -> Backend:
    """This process's backend (a durable engine per worker process, created once)."""
    if name not in _BACKENDS:
        if name == "python":
            from engine.backends import PythonBackend

            _BACKENDS[name] = PythonBackend()
        else:
            from engine.backends.durable_adapter import DurableBackend

            _BACKENDS[name] = DurableBackend()
    return _BACKENDS[name]


def out_stem(path: Path, root: Path | None) -> str:
    """The file name (without suffix) a package's outputs get in `--out-dir`: its manifest's path
    below the common folder, with `/` as `__` (so `d001/dossier.toml` is `d001__dossier`)."""
    try:
        relative = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    return "__".join(relative.with_suffix("").parts)


def score_one(path: Path, options: BatchOptions, stem: str = "") -> BatchResult:
    """Score one manifest; any failure becomes the result's error (the batch goes on)."""
    try:
        package, rubric, as_of = prepare(
            path, options.rubric, options.rubrics, options.rules, options.as_of
        )
        report = Evaluator(_backend(options.backend)).evaluate(
            package, rubric, mode=options.mode, as_of=as_of
        )
        text = render_json(report)
        if options.out_dir is not None:
            _write_outputs(report, text, options.out_dir, stem or out_stem(path, None), options)
        return BatchResult(str(path), report_json=text)
    except Exception as exc:  # the batch's defence: a package's failure is its result
        return BatchResult(str(path), error=error_text(exc))


def _write_outputs(
    report: dict[str, Any], text: str, out_dir: Path, stem: str, options: BatchOptions
) -> None:
    from engine.export import export_sheet

    out_dir.mkdir(parents=True, exist_ok=True)
    for fmt in options.out_formats:
        target = out_dir / f"{stem}.{fmt}"
        if fmt == "json":
            partial = target.with_name(target.name + ".part")
            partial.write_text(text, "utf-8")
            partial.replace(target)
        else:
            export_sheet(report, target)


def common_root(paths: list[Path]) -> Path | None:
    """The deepest folder holding every manifest (names outputs uniquely)."""
    if not paths:
        return None
    parents = [p.resolve().parent for p in paths]
    root = parents[0]
    while not all(p == root or root in p.parents for p in parents):
        root = root.parent
    return root


def run_batch(
    paths: list[Path],
    options: BatchOptions,
    *,
    jobs: int = 1,
    on_result: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Score every manifest with `jobs` worker processes; results in the order of `paths`.

    `on_result` is called in the parent as each package finishes (progress)."""
    root = common_root(paths)
    stems = [out_stem(p, root) for p in paths]
    results: list[BatchResult | None] = [None] * len(paths)
    for index, result in _scored(paths, stems, options, jobs):
        results[index] = result
        if on_result is not None:
            on_result(result)
    return [r for r in results if r is not None]


def _scored(
    paths: list[Path], stems: list[str], options: BatchOptions, jobs: int
) -> Iterator[tuple[int, BatchResult]]:
    if jobs <= 1 or len(paths) <= 1:
        for index, path in enumerate(paths):
            yield index, score_one(path, options, stems[index])
        return
    # spawn: each worker starts clean and builds its own durable engine (no forked engine state).
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[BatchResult], int] = {
            pool.submit(score_one, path, options, stems[index]): index
            for index, path in enumerate(paths)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
