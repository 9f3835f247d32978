"""自评报告: the title lines, then sections split at heading lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.importers._cells import normalize_text
from engine.importers._context import Context
from engine.importers._scan import FreeLine
from engine.model.package import Report, ReportSection, trusted_model


@dataclass
class _Section:
    numbering: str
    title: str
    level: int
    line: int
    lines: list[str] = field(default_factory=list)


class HeadingMatcher:
    """Tells a heading line ("六、部门整体支出绩效情况") from a numbered paragraph."""

    def __init__(self, ctx: Context) -> None:
        layout = ctx.layout.report
        self.patterns = [(re.compile(h.pattern), h.level) for h in layout.headings]
        self.max_length = layout.max_heading_length
        self.endings = tuple(e for e in layout.heading_forbidden_endings if e)
        self.unnumbered = tuple(
            word for word in (normalize_text(w) for w in layout.unnumbered_headings) if word
        )

    def match(self, line: str, outline: int | None = None) -> tuple[str, str, int] | None:
        """(numbering as written, title normalised, level) when `line` is a heading.

        Numbered headings are matched by the layout's patterns, whatever the style (一、 1、
        （一） (1) 1. 第一部分). Without numbering, a line is a heading when its Word style
        says so (`outline`) or when it starts with a template section title.
        """
        stripped = line.strip()
        if len(stripped) > self.max_length or (self.endings and stripped.endswith(self.endings)):
            return None
        for pattern, level in self.patterns:
            found = pattern.match(stripped)
            if found and found.end() > 0:
                numbering = found.group(0).strip()
                return numbering, normalize_text(stripped[found.end() :]), level
        text = normalize_text(stripped)
        if outline is not None and text:
            return "", text, outline
        if text and text.startswith(self.unnumbered):
            return "", text, 1
        return None


def build_report(title_lines: list[FreeLine], body: list[FreeLine], ctx: Context) -> Report:
    """The report: title joined from its lines, body split into sections in document order."""
    headings = HeadingMatcher(ctx)
    title = "".join(normalize_text(line.text) for line in title_lines)
    sections: list[_Section] = []
    for line in body:
        heading = headings.match(line.text, line.outline)
        if heading is not None:
            numbering, text, level = heading
            sections.append(_Section(numbering, text, level, line.line))
            continue
        stripped = line.text.strip()
        if not stripped:
            continue
        if not sections:
            # Text before the first heading (a preamble) is kept as a level-0 section.
            sections.append(_Section("", "", 0, line.line))
        sections[-1].lines.append(stripped)
    return Report(
        title=title,
        sections=[
            trusted_model(
                ReportSection,
                {
                    "numbering": s.numbering,
                    "title": s.title,
                    "level": s.level,
                    "text": "\n".join(s.lines),
                    "location": ctx.loc(section=s.title, line=s.line),
                },
            )
            for s in sections
        ],
        location=ctx.loc(line=title_lines[0].line if title_lines else None),
    )
