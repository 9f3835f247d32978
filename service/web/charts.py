"""Server-side charts: geometry for inline SVG bar charts (the templates draw them).

No chart library and nothing fetched: a chart is a few rectangles and labels, computed here,
escaped by the template. Every chart also has a text description and a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.decimals import plain
from service.web.season import Bin, RuleCost


@dataclass(frozen=True)
class Bar:
    """One bar: its box, its label and the value written at its end."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    label_x: float
    label_y: float
    value_x: float
    value_y: float


@dataclass(frozen=True)
class Chart:
    """An SVG chart: size, bars, axis line and the sentence that describes it."""

    width: int
    height: int
    bars: list[Bar]
    axis: tuple[float, float, float, float]
    description: str


def histogram(bins: list[Bin], *, width: int = 560, height: int = 240) -> Chart:
    """Vertical bars, one per score band, with the count above each bar."""
    left, bottom, top = 16, 36, 24
    plot_h = height - bottom - top
    slot = (width - 2 * left) / max(len(bins), 1)
    peak = max((b.count for b in bins), default=0) or 1
    bars = []
    for i, b in enumerate(bins):
        h = plot_h * b.count / peak
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = top + plot_h - h
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(y, 1),
                width=round(w, 1),
                height=round(h, 1),
                label=b.label,
                value=str(b.count),
                label_x=round(x + w / 2, 1),
                label_y=height - bottom + 20,
                value_x=round(x + w / 2, 1),
                value_y=round(y - 6, 1),
            )
        )
    total = sum(b.count for b in bins)
    parts = "，".join(f"{b.label} 分 {b.count} 份" for b in bins)
    return Chart(
        width,
        height,
        bars,
        (left, top + plot_h, width - left, top + plot_h),
        f"共 {total} 份材料的总分分布（得分率，满分折算为 100）：{parts}。",
    )


def rule_bars(costs: list[RuleCost], *, width: int = 760, row_h: int = 26) -> Chart:
    """Horizontal bars, one per rule, labelled in Chinese (item and band, not the rule id),
    longest = most points taken; value: points and packages."""
    label_w, right, top = 340, 150, 8  # room for an item and its band label, in Chinese
    height = top * 2 + row_h * max(len(costs), 1)
    plot_w = width - label_w - right
    peak = max((c.points for c in costs), default=Decimal(0)) or Decimal(1)
    bars = []
    for i, c in enumerate(costs):
        w = float(plot_w * c.points / peak)
        y = top + i * row_h + 4
        bars.append(
            Bar(
                x=label_w,
                y=y,
                width=round(max(w, 1.0), 1),
                height=row_h - 8,
                label=c.label,
                value=f"{plain(c.points)} 分 · {c.packages} 份",
                label_x=label_w - 8,
                label_y=y + row_h / 2,
                value_x=round(label_w + max(w, 1.0) + 6, 1),
                value_y=y + row_h / 2,
            )
        )
    if costs:
        parts = "；".join(
            f"{c.label} 共扣 {plain(c.points)} 分，涉及 {c.packages} 份材料" for c in costs
        )
        description = f"扣分最多的 {len(costs)} 条规则：{parts}。"
    else:
        description = "没有扣分记录。"
    return Chart(width, height, bars, (label_w, top, label_w, height - top), description)
