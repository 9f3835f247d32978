"""A rubric version's TOML for reading: line numbers, and an anchor for every rule by its id.

Rule and band anchors come from the compiled rubric's own `source` (file:line), so they land
exactly where the engine says the rule is; item and clause anchors from their `id =` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine import labels
from engine.rubric.model import Rubric
from service.rubrics import Snapshot

_ID_LINE = re.compile(r'^\s*id\s*=\s*"([^"]+)"')

CHANGE_ZH = labels.CHANGES
WHAT_ZH = labels.CHANGED_PARTS


@dataclass
class SourceLine:
    """One line of TOML: number, text, how to colour it, and the anchors that land on it."""

    number: int
    text: str
    kind: str  # header | comment | plain
    anchors: list[str] = field(default_factory=list)


@dataclass
class SourceFile:
    """One TOML file of a rubric version (the rubric or one of its rule sets)."""

    key: str  # prefix of its line anchors: rubric-L12, rs-indicator-tables-L91
    title: str
    name: str  # the name the report's `source` fields show
    sha256: str
    lines: list[SourceLine]


def rule_anchor(rule_id: str) -> str:
    """The anchor of a rule or band on the rubric pages."""
    return f"rule-{rule_id}"


def _lines(text: str) -> list[SourceLine]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.lstrip()
        kind = (
            "header"
            if stripped.startswith("[")
            else "comment"
            if stripped.startswith("#")
            else "plain"
        )
        out.append(SourceLine(number, raw, kind))
    return out


def source_files(rubric: Rubric, snapshot: Snapshot) -> list[SourceFile]:
    """The rubric's TOML, each rule set's and each data file's, with anchors for every rule,
    band, clause and item."""
    files = [
        SourceFile(
            "rubric", "评分表", snapshot.source_name, snapshot.sha256, _lines(snapshot.source)
        )
    ]
    for rs in snapshot.rule_sets:
        files.append(
            SourceFile(
                f"rs-{rs.id}",
                f"规则集 {rs.id}@{rs.version}",
                rs.source_name,
                rs.sha256,
                _lines(rs.source),
            )
        )
    for data in snapshot.data_files:  # the layout, vocabulary …: they score too
        key = "data-" + "-".join(data.name.removesuffix(".toml").split("/")[1:]).replace(".", "_")
        files.append(
            SourceFile(key, f"数据文件 {data.name}", data.name, data.sha256, _lines(data.source))
        )
    by_name = {f.name: f for f in files}
    used: set[str] = set()

    def put(file: SourceFile, number: int, anchor: str) -> None:
        if anchor not in used and 1 <= number <= len(file.lines):
            used.add(anchor)
            file.lines[number - 1].anchors.append(anchor)

    placed = [(r.source, r.spec.id) for r in rubric.rules] + [
        (b.source, b.spec.id) for b in rubric.bands
    ]
    for source, rule_id in placed:
        name, _, number = source.rpartition(":")
        found = by_name.get(name)
        if found is not None and number.isdigit():
            put(found, int(number), rule_anchor(rule_id))
    items = {i.id for i in rubric.spec.items}
    clauses = {c.id for i in rubric.spec.items for c in i.clauses}
    for line in files[0].lines:
        match = _ID_LINE.match(line.text)
        if match and match.group(1) in clauses:
            put(files[0], line.number, f"clause-{match.group(1)}")
        elif match and match.group(1) in items:
            put(files[0], line.number, f"item-{match.group(1)}")
    for file in files:
        for line in file.lines:
            line.anchors.insert(0, f"{file.key}-L{line.number}")
    return files
