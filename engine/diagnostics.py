"""Closed, stable error codes and the errors that carry them.

A rubric problem is a `Diagnostic` printed as `file:line:col: CODE message`. A package
problem is a `PackageError` with the field path and a message in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Code(StrEnum):
    """The closed set of rubric diagnostic codes. Never reuse or renumber one; docs/errors.md
    lists each under its anchor (`docs/errors.md#jx005`), which every diagnostic prints."""

    JX001 = "JX001"
    JX002 = "JX002"
    JX003 = "JX003"
    JX004 = "JX004"
    JX005 = "JX005"
    JX006 = "JX006"
    JX007 = "JX007"
    JX008 = "JX008"
    JX009 = "JX009"
    JX010 = "JX010"
    JX011 = "JX011"
    JX012 = "JX012"
    JX013 = "JX013"
    JX014 = "JX014"
    JX015 = "JX015"
    JX016 = "JX016"
    JX017 = "JX017"
    JX018 = "JX018"
    JX019 = "JX019"
    JX020 = "JX020"
    JX021 = "JX021"
    JX022 = "JX022"

    @property
    def meaning(self) -> str:
        """What the code means, in one line."""
        return _MEANINGS[self]

    @property
    def anchor(self) -> str:
        """Where docs/errors.md explains it."""
        return f"docs/errors.md#{self.value.lower()}"


_MEANINGS: dict[Code, str] = {
    Code.JX001: "TOML syntax error",
    Code.JX002: "schema error: unknown key, wrong type or missing key",
    Code.JX003: "unknown measure kind",
    Code.JX004: "unknown rule set",
    Code.JX005: "condition names a field that the measure does not produce",
    Code.JX006: "duplicate id",
    Code.JX007: "condition syntax error",
    Code.JX008: "condition type error: a field compared with a value of another type",
    Code.JX009: "unknown clause or item reference",
    Code.JX010: "points do not add up, or a cap exceeds its points",
    Code.JX011: "unknown parameter reference ($name)",
    Code.JX012: "invalid measure parameters",
    Code.JX013: "rubric not found",
    Code.JX014: "deduction names a field that the measure does not produce",
    Code.JX015: "unreadable file",
    Code.JX016: "a published (id, version) whose file changed",
    Code.JX017: "a version refused on reload (lint or case suites failed); the last good one serves",
    Code.JX018: "unknown or misplaced data file (layout, vocabulary …) named by a rubric or rule set",
    Code.JX019: "concepts file: unknown concept, or concepts that refer to each other in a cycle",
    Code.JX020: "concepts file: a concept with no words, or an empty word",
    Code.JX021: "concepts file: a word that never segments as written",
    Code.JX022: "grade bands do not cover 0 to the total exactly once",
}
CODES: dict[str, str] = {code.value: code.meaning for code in Code}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a rubric or rule set file, with its position."""

    file: str
    line: int
    col: int
    code: Code
    message: str
    hint: str = ""

    def __post_init__(self) -> None:
        # Closed: a code outside the enum is a programming error, caught where it is made.
        object.__setattr__(self, "code", Code(self.code))

    def render(self) -> str:
        """`file:line:col: CODE message (hint) [docs/errors.md#code]`."""
        text = f"{self.file}:{self.line}:{self.col}: {self.code.value} {self.message}"
        text = f"{text} ({self.hint})" if self.hint else text
        return f"{text} [{self.code.anchor}]"


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
