"""Find rubric versions on disk: `rubrics/<id>/<version>.toml`, rule sets in `rules/<id>/<version>.toml`."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from engine.bundled import bundled
from engine.diagnostics import Code, Diagnostic, RubricError
from engine.rubric.load import LOCK_FILE, load_rubric, read_lock
from engine.rubric.model import Rubric

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout (tests and tools only)
BUNDLED_RUBRICS = bundled("rubrics")
BUNDLED_RULES = bundled("rules")


def rubric_dirs(option: str | None = None) -> list[Path]:
    """`--rubrics`, else $JIXIAO_RUBRICS (os.pathsep-separated), else the bundled folder."""
    value = option or os.environ.get("JIXIAO_RUBRICS")
    return [Path(p) for p in value.split(os.pathsep) if p] if value else [BUNDLED_RUBRICS]


def rules_dirs(option: str | None = None) -> list[Path]:
    """`--rules`, else $JIXIAO_RULES, else the bundled folder."""
    value = option or os.environ.get("JIXIAO_RULES")
    return [Path(p) for p in value.split(os.pathsep) if p] if value else [BUNDLED_RULES]


@dataclass(frozen=True)
class RubricVersion:
    """A rubric file found on disk, with the keys needed to choose it."""

    id: str
    version: str
    path: Path
    fiscal_years: tuple[int, ...]
    default: bool = False
    effective_from: dt.date | None = None
    # Recorded in its tree's published.lock. A version not recorded there is *staged*: linted,
    # tested and usable by its exact ID@VERSION, never chosen when no version is named.
    published: bool = False


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple(
        (0, int(p)) if p.isdigit() else (1, p) for p in version.replace("-", ".").split(".")
    )


def discover(dirs: list[Path]) -> list[RubricVersion]:
    """Every `<dir>/<id>/<version>.toml`, read just enough to know its years."""
    found: list[RubricVersion] = []
    for base in dirs:
        try:
            locked = read_lock(base / LOCK_FILE)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
            locked = {}  # a broken lock publishes nothing; the loader reports it
        for path in sorted(base.glob("*/*.toml")):
            try:
                data = tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                data = {}
            years = tuple(y for y in data.get("fiscal_years", []) if isinstance(y, int))
            effective = data.get("effective_from")
            found.append(
                RubricVersion(
                    path.parent.name,
                    path.stem,
                    path,
                    years,
                    data.get("default") is True,
                    effective if isinstance(effective, dt.date) else None,
                    (path.parent.name, path.stem) in locked,
                )
            )
    return found


def servable(versions: list[RubricVersion]) -> list[RubricVersion]:
    """The versions that may be chosen when no version is named: the published ones. Where
    nothing is published (a working folder without a lock file) there is nothing to stage
    against, and every version may be chosen."""
    published = [v for v in versions if v.published]
    return published or versions


def default_for_year(dirs: list[Path], fiscal_year: int) -> str | None:
    """The rubric id for a package that names none: the only one covering its year, else the
    only one marked `default = true` among those. None when that is ambiguous."""
    return default_among(discover(dirs), fiscal_year)


def default_among(versions: list[RubricVersion], fiscal_year: int) -> str | None:
    """`default_for_year` over given versions (e.g. those a service has live)."""
    covering = [v for v in servable(versions) if fiscal_year in v.fiscal_years]
    ids = sorted({v.id for v in covering})
    if len(ids) == 1:
        return ids[0]
    defaults = sorted({v.id for v in covering if v.default})
    return defaults[0] if len(defaults) == 1 else None


def resolve(
    ref: str, dirs: list[Path], *, fiscal_year: int | None = None, as_of: dt.date | None = None
) -> Path:
    """`ID[@VERSION]` to a file. Without a version: among the versions covering `fiscal_year`
    (and already in effect on `as_of`), the latest `effective_from`, then the highest version."""
    return choose(
        ref,
        discover(dirs),
        fiscal_year=fiscal_year,
        as_of=as_of,
        where=", ".join(str(d) for d in dirs),
    )


def choose(
    ref: str,
    available: list[RubricVersion],
    *,
    fiscal_year: int | None = None,
    as_of: dt.date | None = None,
    where: str = "rubrics",
) -> Path:
    """`resolve` over given versions (e.g. those a service has live)."""
    rubric_id, _, version = ref.partition("@")
    versions = [v for v in available if v.id == rubric_id]
    staged: list[RubricVersion] = []
    if version:
        versions = [v for v in versions if v.version == version]
    else:
        eligible = servable(available)
        staged = [v for v in versions if v not in eligible]
        versions = [v for v in versions if v in eligible]
        if fiscal_year is not None and any(fiscal_year in v.fiscal_years for v in versions):
            versions = [v for v in versions if fiscal_year in v.fiscal_years]
        if as_of is not None and any(
            v.effective_from is None or v.effective_from <= as_of for v in versions
        ):
            # A version not yet in effect on the evaluation date is not chosen implicitly.
            versions = [
                v for v in versions if v.effective_from is None or v.effective_from <= as_of
            ]
    if not versions and staged:
        names = ", ".join(sorted(f"{v.id}@{v.version}" for v in staged))
        raise RubricError(
            [
                Diagnostic(
                    where,
                    0,
                    0,
                    Code.JX013,
                    f"rubric '{ref}' has no published version (staged: {names}); name the "
                    "version, or publish it with `jixiao rubric publish`",
                )
            ]
        )
    if not versions:
        known = sorted({f"{v.id}@{v.version}" for v in available})
        raise RubricError(
            [
                Diagnostic(
                    where,
                    0,
                    0,
                    Code.JX013,
                    f"rubric '{ref}' not found (known: {', '.join(known) or 'none'})",
                )
            ]
        )
    return max(
        versions, key=lambda v: (v.effective_from or dt.date.min, _version_key(v.version))
    ).path


class RubricCache:
    """Compiled rubrics by path and content; a changed file compiles anew."""

    def __init__(self, rules: list[Path]) -> None:
        self.rules = rules
        self._cache: dict[tuple[Path, int, int], Rubric] = {}

    def get(self, path: Path) -> Rubric:
        """The compiled rubric at `path`."""
        stat = path.stat()
        key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
        if key not in self._cache:
            self._cache[key] = load_rubric(path, self.rules)
        return self._cache[key]
