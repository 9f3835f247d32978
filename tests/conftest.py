"""Shared fixtures: the example package, the bundled rubric, and one engine per backend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import load_package
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023" / "dossier.toml"
RUBRIC = BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml"
AS_OF = dt.date(2024, 6, 28)

# One durable_rules backend per test process: its engine thread and registered rulesets are
# process-wide state, exactly as in the service.
_DURABLE = DurableBackend()


@pytest.fixture(scope="session")
def durable() -> DurableBackend:
    return _DURABLE


@pytest.fixture(scope="session")
def python_backend() -> PythonBackend:
    return PythonBackend()


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric(RUBRIC, [BUNDLED_RULES])


@pytest.fixture(scope="session")
def example() -> Package:
    return load_package(EXAMPLE)


@pytest.fixture
def example_text() -> str:
    return (EXAMPLE.parent / "package.txt").read_text("utf-8")


def repo_path(*parts: str) -> Path:
    """A path inside the repository."""
    return REPO_ROOT.joinpath(*parts)
