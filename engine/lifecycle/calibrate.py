"""`jixiao rubric calibrate`: how often the automatic band agrees with labelled report sections.

A corpus (TOML, tests/calibration/corpus.toml) holds report sections written as departments
write them, each labelled with the band the rubric's words give. Each section is imported as a
report (the same heading rules as a real package) and scored; agreement is reported per clause
for the fit split and the held-out split separately (an entry whose number is a multiple of
`held_out_every` is held out).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.backends.plan import Backend
from engine.evaluate import Evaluator
from engine.importers._context import Context
from engine.importers._layout import default_layout
from engine.importers._report import build_report
from engine.importers._scan import FreeLine
from engine.model import Dossier, Package
from engine.rubric.model import Rubric


class CorpusSection(BaseModel):
    """One labelled section."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z]+[0-9]+$")
    clause: str
    style: str = ""
    band: str
    score: Decimal
    reason: str
    title: str
    text: str
    problems: str | None = None  # the problem section a suggestion section answers


class Corpus(BaseModel):
    """The corpus file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    held_out_every: int = Field(ge=2)
    sections: list[CorpusSection] = Field(min_length=1)

    def held_out(self, section: CorpusSection) -> bool:
        """Held out when the number in its id is a multiple of `held_out_every`."""
        number = int(re.sub(r"^[a-z]+", "", section.id))
        return number % self.held_out_every == 0


def load_corpus(path: Path) -> Corpus:
    """Read and validate a corpus file."""
    return Corpus.model_validate(tomllib.loads(path.read_text("utf-8")))


def corpus_package(corpus: Corpus, section: CorpusSection, fiscal_year: int) -> Package:
    """A package whose report holds the section (after the problems it answers, if any)."""
    parts = []
    if section.problems:
        problems = next(s for s in corpus.sections if s.id == section.problems)
        parts.append(problems)
    parts.append(section)
    lines: list[str] = []
    for part in parts:
        lines.append(part.title)
        lines.extend(line for line in part.text.splitlines() if line.strip())
    ctx = Context.build(default_layout(), f"corpus:{section.id}")
    body = [FreeLine(line=n, text=text) for n, text in enumerate(lines, start=1)]
    report = build_report([], body, ctx)
    return Package(
        dossier=Dossier(department=f"校准语料{section.id}", fiscal_year=fiscal_year),
        report=report,
    )


@dataclass
class Tally:
    """Agreement for one clause on one split."""

    total: int = 0
    band_exact: int = 0
    score_within: int = 0  # band agreed and the score within one point of the label
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def share(self, count: int) -> Decimal:
        return (
            (Decimal(count) / Decimal(self.total) * 100).quantize(Decimal("0.1"))
            if self.total
            else Decimal(0)
        )


@dataclass
class Calibration:
    """Tallies by (clause, split), split being "fit" or "held-out"."""

    rubric: str
    tallies: dict[tuple[str, str], Tally]


def calibrate(rubric: Rubric, corpus: Corpus, backend: Backend) -> Calibration:
    """Score every corpus section and compare with its label."""
    year = min(rubric.spec.fiscal_years)
    as_of = rubric.spec.calendar.deadline or dt.date(year + 1, 6, 30)
    evaluator = Evaluator(backend)
    tallies: dict[tuple[str, str], Tally] = {}
    for section in corpus.sections:
        report = evaluator.evaluate(
            corpus_package(corpus, section, year), rubric, mode="bureau", as_of=as_of
        )
        got_band, got_score = _band(report, section.clause)
        split = "held-out" if corpus.held_out(section) else "fit"
        tally = tallies.setdefault((section.clause, split), Tally())
        tally.total += 1
        tally.confusion[(section.band, got_band)] += 1
        if got_band == section.band:
            tally.band_exact += 1
            if abs(got_score - section.score) <= 1:
                tally.score_within += 1
        else:
            tally.misses.append(
                f"{section.id}（{section.style}）：标注 {section.band}，自动 {got_band}"
            )
    return Calibration(f"{rubric.spec.id}@{rubric.spec.version}", dict(sorted(tallies.items())))


def _band(report: dict[str, Any], clause: str) -> tuple[str, Decimal]:
    for item in report["items"]:
        for band in item["assessment"].get("bands", []):
            if band["clause"] == clause:
                return str(band["band"]), Decimal(band["score"])
    return "（无）", Decimal(0)


def render(result: Calibration, *, show_misses: bool = False) -> str:
    """The agreement table, then the confusion matrix of each clause and split (in Chinese)."""
    out = [f"校准：{result.rubric}", "条款\t数据集\t条数\t档次一致\t档内分数一致（±1分）"]
    for (clause, split), t in result.tallies.items():
        out.append(
            f"{clause}\t{_split(split)}\t{t.total}\t{t.band_exact}/{t.total} {t.share(t.band_exact)}%"
            f"\t{t.score_within}/{t.band_exact}"
        )
    for (clause, split), t in result.tallies.items():
        bands = sorted({b for pair in t.confusion for b in pair})
        out.append("")
        out.append(f"混淆矩阵 {clause}（{_split(split)}；行：标注，列：自动）")
        out.append("\t".join(["", *(_short(b) for b in bands)]))
        for label in bands:
            out.append("\t".join([_short(label), *(str(t.confusion[(label, b)]) for b in bands)]))
        if show_misses:
            out.extend(f"  不一致 {m}" for m in t.misses)
    return "\n".join(out) + "\n"


def _split(split: str) -> str:
    return "留出集" if split == "held-out" else "拟合集"


def _short(band: str) -> str:
    return band.split(".", 1)[-1]
