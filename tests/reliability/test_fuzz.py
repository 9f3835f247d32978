"""Hypothesis fuzzing of every way a package gets in: only typed errors, never a crash.

- the manifest (as data and as TOML text): a Dossier, or PackageError;
- the JSON model (the example's Package JSON with values replaced at random): a Package, or a
  pydantic ValidationError; a Package that validates is then scored: a report, or one of the
  engine's typed errors;
- every importer (`import_document`, .txt/.docx/.xlsx/.xls/.pdf): random bytes and damaged copies
  of the example's renditions: ImportedDocuments, or PackageError.

Bounded (max_examples) so the suite stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.backends import PythonBackend
from engine.diagnostics import CalendarError, PackageError
from engine.dossier import parse_manifest, read_manifest
from engine.evaluate import Evaluator, render_json
from engine.importers.dispatch import import_document
from engine.model import Package
from engine.rubric.model import Rubric
from engine.rubric.registry import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
MANIFEST = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
RENDITIONS = {
    "package.txt": (EXAMPLE / "package.txt").read_bytes(),
    "package.docx": (EXAMPLE / "package.docx").read_bytes(),
    "package.xlsx": (EXAMPLE / "package.xlsx").read_bytes(),
    # one page of the PDF rendition (the whole one takes a second a read)
    "package.pdf": (REPO_ROOT / "tests/documents/fixtures/basic-data.pdf").read_bytes(),
    "package.xls": (REPO_ROOT / "tests" / "documents" / "fixtures" / "package.xls").read_bytes(),
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same cases on every run: a failure reproduces
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["2024-02-30", "2024-13-01", "1e309", "-5", "NaN", "", "本级", "不适用"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def well_formed(exc: PackageError) -> None:
    """A PackageError names at least one problem, each in Chinese and in English."""
    assert exc.problems
    assert all(p.zh and p.en for p in exc.problems)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replace(node[head], rest, value)
    return copy


@pytest.fixture(scope="module")
def package_json() -> dict[str, Any]:
    from engine.dossier import load_package

    data: dict[str, Any] = json.loads(load_package(EXAMPLE / "dossier.toml").model_dump_json())
    return data


# -- the manifest ---------------------------------------------------------------------------


@FUZZ
@given(st.dictionaries(st.sampled_from([*MANIFEST, "extra"]), values, max_size=8), st.data())
def test_manifest_data_gives_a_dossier_or_a_package_error(changes: dict[str, Any], data: st.DataObject) -> None:
    manifest = dict(MANIFEST) | changes
    if data.draw(st.booleans()):
        manifest.pop(data.draw(st.sampled_from(sorted(manifest))), None)
    try:
        parse_manifest(manifest, file="fuzz.toml")
    except PackageError as exc:
        well_formed(exc)


@FUZZ
@given(st.binary(max_size=200), st.integers(min_value=0), st.integers(min_value=0, max_value=400))
def test_manifest_text_gives_a_dossier_or_a_package_error(
    tmp_path_factory: pytest.TempPathFactory, junk: bytes, at: int, cut: int
) -> None:
    text = (EXAMPLE / "dossier.toml").read_bytes()
    at %= len(text) + 1
    damaged = text[:at] + junk + text[at + cut :]
    path = tmp_path_factory.mktemp("manifest") / "dossier.toml"
    path.write_bytes(damaged)
    try:
        read_manifest(path)
    except PackageError as exc:
        well_formed(exc)


# -- the JSON model -------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_package_json_gives_a_package_or_a_validation_error(
    package_json: dict[str, Any], rubric: Rubric, data: st.DataObject
) -> None:
    paths = _paths(package_json)
    mutated: Any = package_json
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        mutated = _replace(mutated, data.draw(st.sampled_from(paths)), data.draw(values))
        paths = _paths(mutated)
    text = json.dumps(mutated, ensure_ascii=False)  # NaN and Infinity as JSON literals
    try:
        package = Package.model_validate_json(text)
    except ValidationError:
        return
    try:
        report = Evaluator(PythonBackend()).evaluate(
            package, rubric, mode="bureau", as_of=dt.date(2024, 6, 28)
        )
    except (PackageError, CalendarError):
        return
    render_json(report)


# -- every importer -------------------------------------------------------------------------


def _imported_or_refused(name: str, data: bytes) -> None:
    try:
        import_document(name, data)
    except PackageError as exc:
        well_formed(exc)


@FUZZ
@given(st.sampled_from(sorted(RENDITIONS)), st.binary(max_size=2048))
def test_random_bytes_are_refused_with_a_package_error(name: str, data: bytes) -> None:
    _imported_or_refused(name, data)


@pytest.mark.parametrize("name", sorted(RENDITIONS))
def test_damaged_renditions_are_read_or_refused(name: str) -> None:
    @settings(FUZZ, max_examples=25)
    @given(
        st.lists(
            st.tuples(st.integers(min_value=0), st.binary(min_size=1, max_size=8)),
            min_size=1,
            max_size=4,
        ),
        st.integers(min_value=0),
    )
    def damaged(patches: list[tuple[int, bytes]], keep: int) -> None:
        data = bytearray(RENDITIONS[name])
        for offset, junk in patches:
            at = offset % len(data)
            data[at : at + len(junk)] = junk
        keep = len(data) - keep % (len(data) // 4 + 1)  # sometimes truncated, up to a quarter
        _imported_or_refused(name, bytes(data[:keep]))

    damaged()


@settings(FUZZ, max_examples=30)
@given(st.lists(st.tuples(st.integers(min_value=0), st.text(max_size=30)), min_size=1, max_size=6))
def test_damaged_text_is_read_or_refused(edits: list[tuple[int, str]]) -> None:
    lines = RENDITIONS["package.txt"].decode("utf-8").splitlines()
    for at, line in edits:
        lines.insert(at % (len(lines) + 1), line)
    _imported_or_refused("package.txt", "\n".join(lines).encode("utf-8"))


def test_a_path_is_not_needed_for_the_fuzzers() -> None:
    # Guard: the fixtures the fuzzers damage exist (a renamed example would silently shrink them).
    assert all(len(b) > 1000 for b in RENDITIONS.values())
    assert Path(EXAMPLE / "dossier.toml").exists()
