"""Layout does not decide the band: re-numbering, paragraphs vs inline enumeration, a lead-in
line, heading synonyms and traditional characters leave 反映问题情况 and 建议情况 unchanged,
on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import opencc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.backends.plan import Backend
from engine.evaluate import Evaluator
from engine.lifecycle.calibrate import Corpus, CorpusSection, corpus_package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from tests.conftest import _DURABLE

RUBRIC: Rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.2.toml", [BUNDLED_RULES])
BACKENDS: dict[str, Backend] = {"durable": _DURABLE, "python": PythonBackend()}
_S2T = opencc.OpenCC("s2t")

PROBLEMS = [
    "预算编制不够细化，由于测算依据不足",
    "部分重点任务完成滞后，原因是人员变动频繁",
    "专项资金拨付进度慢，因审批环节较多",
    "固定资产账实不符，原因是清查不及时",
    "政府采购计划执行不严格",
    "经费保障不足",
    "资金缺口较大，项目推进受限",
    "绩效目标设置不够合理",
    "会计核算不规范，由于财务人员兼职",
]
SUGGESTIONS = [
    "细化预算编制，每年9月底前完成测算",
    "建立重点任务月调度机制，明确责任人",
    "优化资金拨付流程，每季度通报支出进度",
    "每年开展一次资产清查",
    "严格执行政府采购计划",
    "积极争取上级资金支持",
    "建议财政加大投入力度",
    "加强绩效目标管理",
]
PROBLEM_HEADINGS = [
    "七、存在的问题及原因分析",
    "七、存在的主要问题",
    "七、存在主要问题",
    "七、问题及原因",
]
SUGGESTION_HEADINGS = [
    "八、下一步改进措施",
    "八、相关措施及建议",
    "八、几点建议",
    "八、下一步工作打算",
]
CN = "一二三四五六七八九"
CIRCLED = "①②③④⑤⑥⑦⑧⑨"
ORDER = ["首先，", "其次，", "再次，", "最后，"]

Layout = Callable[[list[str]], str]
LAYOUTS: dict[str, Layout] = {
    "paragraphs 一是": lambda ps: "\n".join(f"{CN[i]}是{p}。" for i, p in enumerate(ps)),
    "paragraphs (1)": lambda ps: "\n".join(f"（{i + 1}）{p}。" for i, p in enumerate(ps)),
    "paragraphs 1、": lambda ps: "\n".join(f"{i + 1}、{p}。" for i, p in enumerate(ps)),
    "inline 一是": lambda ps: "；".join(f"{CN[i]}是{p}" for i, p in enumerate(ps)) + "。",
    "inline (1)": lambda ps: "".join(f"({i + 1}){p}；" for i, p in enumerate(ps)),
    "inline ①": lambda ps: "".join(f"{CIRCLED[i]}{p}；" for i, p in enumerate(ps)),
    "inline 其一": lambda ps: "".join(f"其{CN[i]}，{p}。" for i, p in enumerate(ps)),
    "plain paragraphs": lambda ps: "\n".join(f"{p}。" for p in ps),
    # Short numbered lines without a full stop read as headings of the section's own level.
    "headings 1、": lambda ps: "\n".join(f"{i + 1}、{p}" for i, p in enumerate(ps)),
    "headings （一）": lambda ps: "\n".join(f"（{CN[i]}）{p}" for i, p in enumerate(ps)),
    "one paragraph ；": lambda ps: "；".join(ps) + "。",
}


def _order(ps: list[str]) -> str:
    return "".join(f"{ORDER[i]}{p}。" for i, p in enumerate(ps))


def _band(
    problems: str, problem_heading: str, suggestions: str | None, heading: str
) -> tuple[str, str | None]:
    """(problems band, suggestions band) of a report holding these sections."""
    sections = [
        CorpusSection(
            id="p1",
            clause="problems.quality",
            band="-",
            score=Decimal(0),
            reason="-",
            title=problem_heading,
            text=problems,
        )
    ]
    if suggestions is not None:
        sections.append(
            CorpusSection(
                id="s1",
                clause="suggestions.quality",
                band="-",
                score=Decimal(0),
                reason="-",
                title=heading,
                text=suggestions,
                problems="p1",
            )
        )
    corpus = Corpus(held_out_every=3, sections=sections)
    out: dict[str, set[str]] = {"problems.quality": set(), "suggestions.quality": set()}
    for backend in BACKENDS.values():
        package = corpus_package(corpus, sections[-1], 2023)
        report = Evaluator(backend).evaluate(
            package, RUBRIC, mode="bureau", as_of=dt.date(2024, 6, 28)
        )
        for item in report["items"]:
            for band in item["assessment"].get("bands", []):
                if band["clause"] in out:
                    out[band["clause"]].add(str(band["band"]))
    assert all(len(v) <= 1 for v in out.values()), out  # both backends agree
    got = {k: next(iter(v)) if v else None for k, v in out.items()}
    return str(got["problems.quality"]), got["suggestions.quality"]


def _renderings(points: list[str], headings: list[str], lead_in: str) -> list[tuple[str, str, str]]:
    """(name, heading, text) for every layout, lead-in, heading synonym and script."""
    layouts = {
        k: v
        for k, v in LAYOUTS.items()
        if len(points) >= 2 or not k.startswith(("one paragraph", "plain"))
    }
    out = [(name, headings[0], layout(points)) for name, layout in layouts.items()]
    if len(points) <= len(ORDER):
        out.append(("首先……最后", headings[0], _order(points)))
    out.append(("lead-in line", headings[0], lead_in + "\n" + LAYOUTS["paragraphs 一是"](points)))
    out += [(f"heading {h}", h, LAYOUTS["paragraphs (1)"](points)) for h in headings[1:]]
    out.append(
        ("traditional", _S2T.convert(headings[0]), _S2T.convert(LAYOUTS["inline 一是"](points)))
    )
    out.append(
        (
            "page number inside",
            headings[0],
            LAYOUTS["paragraphs 一是"](points[:1])
            + "\n- 12 -\n"
            + LAYOUTS["paragraphs 一是"](points[1:]).replace("一是", "二是", 1)
            if len(points) >= 2
            else LAYOUTS["paragraphs 一是"](points),
        )
    )
    return out


points_of = st.lists(st.integers(0, len(PROBLEMS) - 1), min_size=1, max_size=6, unique=True)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chosen=points_of)
def test_problem_band_does_not_depend_on_layout(chosen: list[int]) -> None:
    points = [PROBLEMS[i] for i in chosen]
    seen = {
        name: _band(text, heading, None, "")[0]
        for name, heading, text in _renderings(
            points, PROBLEM_HEADINGS, "存在的问题主要体现在以下几个方面："
        )
    }
    assert len(set(seen.values())) == 1, seen


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    problems=points_of,
    chosen=st.lists(st.integers(0, len(SUGGESTIONS) - 1), min_size=1, max_size=6, unique=True),
)
def test_suggestion_band_does_not_depend_on_layout(problems: list[int], chosen: list[int]) -> None:
    problem_text = LAYOUTS["paragraphs 一是"]([PROBLEMS[i] for i in problems])
    points = [SUGGESTIONS[i] for i in chosen]
    seen = {
        name: _band(problem_text, PROBLEM_HEADINGS[0], text, heading)[1]
        for name, heading, text in _renderings(
            points, SUGGESTION_HEADINGS, "针对上述问题，下一步我们将采取以下措施："
        )
    }
    assert len(set(seen.values())) == 1, seen


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("暂无。", "problems.none-stated"),
        ("无。", "problems.none-stated"),
        ("经费保障不足。", "problems.funding-only"),
        ("资金缺口较大，项目推进受限。", "problems.funding-only"),
        ("财政拨款不能满足工作需要。", "problems.funding-only"),
        ("一是经费保障不足；二是预算编制不够科学，由于测算依据不足。", "problems.partial"),
    ],
)
def test_examples_from_the_issue(text: str, band: str) -> None:
    assert _band(text, PROBLEM_HEADINGS[0], None, "")[0] == band


def test_backends_are_both_used() -> None:
    assert isinstance(BACKENDS["durable"], DurableBackend)
