"""Closed, stable error codes and the errors that carry them.

A rubric problem is a `Diagnostic` printed as `file:line:col: CODE message`. A package
problem is a `PackageError` with the field path and a message in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The closed set of rubric diagnostic codes. Never reuse or renumber one; docs/errors.md lists them.
CODES: dict[str, str] = {
    "JX001": "TOML syntax error",
    "JX002": "schema error: unknown key, wrong type or missing key",
    "JX003": "unknown measure kind",
    "JX004": "unknown rule set",
    "JX005": "condition names a field that the measure does not produce",
    "JX006": "duplicate id",
    "JX007": "condition syntax error",
    "JX008": "condition type error: a field compared with a value of another type",
    "JX009": "unknown clause or item reference",
    "JX010": "points do not add up, or a cap exceeds its points",
    "JX011": "unknown parameter reference ($name)",
    "JX012": "invalid measure parameters",
    "JX013": "rubric not found",
    "JX014": "deduction names a field that the measure does not produce",
    "JX015": "unreadable file",
    "JX016": "a published (id, version) whose file changed",
    "JX017": "a version refused on reload (lint or case suites failed); the last good one serves",
    "JX018": "grade bands do not cover 0 to the total exactly once (a gap or an overlap)",
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a rubric or rule set file, with its position."""

    file: str
    line: int
    col: int
    code: str
    message: str
    hint: str = ""

    def render(self) -> str:
        """`file:line:col: CODE message (hint)`."""
        text = f"{self.file}:{self.line}:{self.col}: {self.code} {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class RubricError(Exception):
    """A rubric or rule set that cannot be compiled; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


@dataclass(frozen=True)
class PackageProblem:
    """One problem in a package, at a field path, in Chinese and English."""

    path: str
    zh: str
    en: str

    def render(self) -> str:
        """`path: 中文 / English`."""
        return f"{self.path}: {self.zh} / {self.en}"


@dataclass
class PackageError(Exception):
    """A package that cannot be read or validated."""

    file: str
    problems: list[PackageProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{self.file}: {p.render()}" for p in self.problems)


class CalendarError(Exception):
    """A date outside the working-day data with no override in the rubric."""
