"""Tests for engine.measures.arithmetic: funds, basic data relations, cross-document, rate caps.

Every case changes one figure of the example package's text and re-imports it, so the measures
see exactly what the importer makes of a real package. Parameters come from the shipped rule
sets, never from the test.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.measures.arithmetic
import engine.measures.tables  # registers the measure kinds
from engine.dossier import read_manifest
from engine.importers.text import default_layout, import_text
from engine.measures.base import REGISTRY, Fact, MeasureContext, Params, WorkCalendar
from engine.model import Cell, Package, SelfEvalTable
from engine.rubric.load import load_rubric

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "yueyang-kjj-2023"
TABLES = ROOT / "rules" / "indicator-tables" / "2024.1.toml"
CAPS = ROOT / "rules" / "exec-rate-caps" / "2024.1.toml"
TEXT = (EXAMPLE / "package.txt").read_text("utf-8")
DOSSIER = read_manifest(EXAMPLE / "dossier.toml")
# The data files (vocabulary) as the bundled rubric loads them: measures never read a path.
DATA = load_rubric(ROOT / "rubrics" / "yueyang-fujian5" / "2024.1.toml", [ROOT / "rules"]).data
CTX = MeasureContext(
    mode="bureau", as_of=dt.date(2024, 6, 28), calendar=WorkCalendar(), data=DATA
)
D = Decimal


def rule_params(path: Path, rule_id: str) -> tuple[str, Params]:
    """The measure kind and validated parameters of a rule, with "$name" looked up."""
    data = tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)
    rule = next(r for r in data["rules"] if r["id"] == rule_id)
    resolved: dict[str, Any] = {
        k: data["parameters"][v[1:]] if isinstance(v, str) and v.startswith("$") else v
        for k, v in rule["params"].items()
    }
    return rule["measure"], REGISTRY[rule["measure"]].params.model_validate(resolved)


def run(rule_id: str, package: Package, path: Path = TABLES) -> list[Fact]:
    kind, params = rule_params(path, rule_id)
    return REGISTRY[kind].fn(package, params, CTX)


def package_from(text: str) -> Package:
    docs = import_text(text, document="package.txt", layout=default_layout())
    return Package(
        dossier=DOSSIER,
        basic_data=docs.basic_data,
        department_table=docs.department_table,
        project_tables=docs.project_tables,
        report=docs.report,
        warnings=docs.warnings,
    )


SEED = package_from(TEXT)


def edit_cell(cell: Cell, value: str, text: str = TEXT) -> str:
    """The package text with one cell's figure replaced (the cell keeps its own line)."""
    assert cell.location.line is not None
    lines = text.split("\n")
    i = cell.location.line - 1
    # A split line holds its label too ("项目支出：411.28"): replace only the figure, the last
    # occurrence of the cell's text on its line.
    old = cell.text if cell.text and cell.text in lines[i] else cell.raw.strip()
    if old:
        assert old in lines[i], (lines[i], old)
        head, _, tail = lines[i].rpartition(old)
        lines[i] = head + value + tail
    else:
        body = lines[i].lstrip("\t")
        lines[i] = lines[i][: len(lines[i]) - len(body)] + value
    return "\n".join(lines)


def replace_once(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


# --- cell finders on the seed ------------------------------------------------------------------


def basic(row: str, column: str) -> Cell:
    assert SEED.basic_data is not None
    for block in SEED.basic_data.blocks:
        for r in block.rows:
            if r.name == row and column in block.columns:
                return r.cells[block.columns.index(column)]
    raise KeyError((row, column))


def dept() -> SelfEvalTable:
    assert SEED.department_table is not None
    return SEED.department_table


def project() -> SelfEvalTable:
    return SEED.project_tables[0]


def funding(table: SelfEvalTable, label: str, column: str) -> Cell:
    return next(r for r in table.funding if label in r.label).cells[column]


def stated_total(table: SelfEvalTable, column: str) -> Cell:
    cell = table.total_points if column == "分值" else table.total_score
    assert cell is not None
    return cell


def split(table: SelfEvalTable, label: str) -> Cell:
    return next(s for s in table.splits if s.label == label).amount


def by_key(facts: list[Fact]) -> dict[str, Fact]:
    keys = [f.key for f in facts]
    assert len(keys) == len(set(keys)), "fact keys must be unique within a measure"
    return {f.key: f for f in facts}


def failing(facts: list[Fact]) -> set[str]:
    return {f.key for f in facts if f.fields["holds"] is False}


# --- the seed ------------------------------------------------------------------------------------

DEPT = "2023年度部门整体支出绩效自评表"
PROJ = "项目支出绩效自评表[业务工作经费]"
BASIC = "2023年度部门整体支出绩效评价基础数据表"
Y22, B23, Y23 = "2022年决算数", "2023年预算数", "2023年决算数"


def test_basic_data_relations_on_the_seed() -> None:
    facts = run("basic.sum", SEED)
    assert failing(facts) == {
        f"sum:公务用车购置和维护经费/{Y22}",
        f"numbered:项目支出/{Y22}",
        f"numbered:项目支出/{B23}",
        f"numbered:项目支出/{Y23}",
        f"block:市级专项资金(一个专项一行)/{Y22}",
    }
    got = by_key(facts)
    for column in (Y22, B23, Y23):
        assert got[f"sum:三公经费/{column}"].fields["holds"] is True
    assert got["ratio:财政供养人员情况(人)/1/控制率"].fields["holds"] is True
    assert {f.fields["check"] for f in facts} == {"ratio", "sum", "numbered", "block", "qizhong"}
    car = got[f"sum:公务用车购置和维护经费/{Y22}"].detail
    assert car["expression"] == "0 + （空） = 0 ≠ 2.69"
    assert (car["table"], car["row"], car["column"]) == (BASIC, "1、公务用车购置和维护经费", Y22)
    assert got[f"numbered:项目支出/{Y22}"].detail["expression"] == (
        "562.23 + 0 + 20 = 582.23 ≠ 562.23"
    )
    assert got[f"block:市级专项资金(一个专项一行)/{Y22}"].detail["expression"] == (
        "5 + 2 + 0 + 10 = 17 ≠ 20"
    )
    assert got["ratio:财政供养人员情况(人)/1/控制率"].detail["expression"] == (
        "26 / 28 × 100 = 92.86% = 92.86%"
    )
    # Evidence points at both places: the parent's cell and every term.
    locations = [e.location for e in got[f"sum:公务用车购置和维护经费/{Y22}"].evidence]
    assert locations[0].endswith(f"1、公务用车购置和维护经费 / {Y22}")
    assert len(locations) == 3


def test_funds_on_the_seed() -> None:
    facts = run("funds.rate", SEED)
    assert failing(facts) == {
        f"points_only_where_expected:{PROJ}/其中:当年财政拨款",
        # Real mistakes beyond the funding block: the project table's 效益指标 adds up to 40, so
        # its 分值 and 得分 columns total 110 under a stated 100; and 主管部门 is blank.
        f"total:{PROJ}/分值",
        f"total:{PROJ}/得分",
        f"header_fields:{PROJ}/主管部门",
    }
    got = by_key(facts)
    assert got[f"rate:{DEPT}"].detail["expression"] == (
        "全年执行数 / 全年预算数 = 1119.56 / 1157.5 = 96.72% = 96.72%"
    )
    assert got[f"rate_score:{DEPT}"].detail["expression"] == "96.72% × 10 = 9.67 = 9.67"
    assert got[f"total:{DEPT}/得分"].fields["holds"] is True
    placement = got[f"points_only_where_expected:{PROJ}/其中:当年财政拨款"]
    assert placement.detail["found"] == "分值 30"
    assert placement.evidence[0].location.endswith("其中:当年财政拨款 / 分值")
    assert {f.fields["check"] for f in facts} == {
        "rate",
        "rate_score",
        "subrows_sum",
        "points_only_where_expected",
        "income_split",
        "spending_split",
        "total",
        "header_fields",
    }


def test_cross_document_on_the_seed() -> None:
    facts = run("cross.project-amounts", SEED)
    assert failing(facts) == {
        f"project_amounts:{PROJ}/全年预算数",
        f"project_amounts:{PROJ}/全年执行数",
        f"report_figure:{DEPT}/6.技术合同成交额@年度整体工作开展情况:515",
        f"report_figure:{PROJ}/7.技术合同成交额@年度整体工作开展情况:515",
    }
    got = by_key(facts)
    assert got[f"spending_total:{DEPT}"].fields["holds"] is True
    assert got[f"project_spending:{DEPT}"].fields["holds"] is True
    amounts = got[f"project_amounts:{PROJ}/全年预算数"]
    assert amounts.detail["found"] == "30"
    assert amounts.detail["expected"].startswith("411.28")
    assert [e.value for e in amounts.evidence] == ["30", "411.28"]
    figure = got[f"report_figure:{PROJ}/7.技术合同成交额@年度整体工作开展情况:515"]
    assert figure.detail["found"] == "439.21亿元"
    assert figure.detail["expected"] == "334.91亿元"
    assert "合同成交额439.21亿元" in figure.detail["expression"]
    assert [e.value for e in figure.evidence] == ["334.91亿元", "合同成交额439.21亿元"]
    assert figure.evidence[1].location.endswith("§年度整体工作开展情况")


def test_exec_rate_cap_on_the_seed() -> None:
    (fact,) = run("exec-rate.cap", SEED, CAPS)
    assert fact.fields == {"rate": D("96.72"), "cap": D(100), "capped": False, "total": D("99.67")}


# --- one figure changed: each relation fails or passes ------------------------------------------

Case = tuple[str, str, Callable[[], str], str, bool, bool]

RELATION_CASES: list[Case] = [
    # (id, rule, edited text, fact key, holds on the seed, holds after the edit)
    (
        "控制率",
        "basic.ratio",
        lambda: edit_cell(basic("", "2023年实际在职人数"), "25"),
        "ratio:财政供养人员情况(人)/1/控制率",
        True,
        False,
    ),
    (
        "三公经费",
        "basic.sum",
        lambda: edit_cell(basic("公务接待", Y23), "1.97"),
        f"sum:三公经费/{Y23}",
        True,
        False,
    ),
    (
        "公务用车",
        "basic.sum",
        lambda: edit_cell(basic("公车运行维护", Y22), "2.69"),
        f"sum:公务用车购置和维护经费/{Y22}",
        False,
        True,
    ),
    (
        "项目支出",
        "basic.numbered",
        lambda: edit_cell(basic("项目支出", Y22), "582.23"),
        f"numbered:项目支出/{Y22}",
        False,
        True,
    ),
    (
        "专项",
        "basic.block",
        lambda: edit_cell(basic("市级专项资金(一个专项一行)", Y22), "17"),
        f"block:市级专项资金(一个专项一行)/{Y22}",
        False,
        True,
    ),
    (
        "其中",
        "basic.qizhong",
        lambda: edit_cell(basic("办公经费", Y23), "100"),
        f"qizhong:公用经费>办公经费/{Y23}",
        True,
        False,
    ),
    (
        "执行率",
        "funds.rate",
        lambda: edit_cell(funding(dept(), "年度资金总额", "执行率"), "95%"),
        f"rate:{DEPT}",
        True,
        False,
    ),
    (
        "执行率得分",
        "funds.rate-score",
        lambda: edit_cell(funding(dept(), "年度资金总额", "得分"), "10"),
        f"rate_score:{DEPT}",
        True,
        False,
    ),
    (
        "资金明细行",
        "funds.subrows",
        lambda: edit_cell(funding(project(), "上年结转资金", "全年预算数"), "5"),
        f"subrows_sum:{PROJ}/全年预算数",
        True,
        False,
    ),
    (
        "分值位置",
        "funds.points-placement",
        lambda: edit_cell(funding(project(), "当年财政拨款", "分值"), "0"),
        f"points_only_where_expected:{PROJ}/其中:当年财政拨款",
        False,
        True,
    ),
    (
        "收入性质",
        "funds.income-split",
        lambda: edit_cell(split(dept(), "其他资金"), "5.21"),
        f"income_split:{DEPT}",
        True,
        False,
    ),
    (
        "支出性质",
        "funds.spending-split",
        lambda: edit_cell(split(dept(), "基本支出"), "700"),
        f"spending_split:{DEPT}",
        True,
        False,
    ),
    (
        "总分得分",
        "funds.total",
        lambda: edit_cell(stated_total(dept(), "得分"), "99"),
        f"total:{DEPT}/得分",
        True,
        False,
    ),
    (
        "总分分值",
        "funds.total",
        lambda: edit_cell(stated_total(project(), "分值"), "110"),
        f"total:{PROJ}/分值",
        False,
        True,
    ),
    (
        "表头",
        "funds.header",
        lambda: edit_cell(project().header["主管部门"], "岳阳市科学技术局"),
        f"header_fields:{PROJ}/主管部门",
        False,
        True,
    ),
    (
        "项目金额",
        "cross.project-amounts",
        lambda: edit_cell(basic("业务工作经费", B23), "30"),
        f"project_amounts:{PROJ}/全年预算数",
        False,
        True,
    ),
    (
        "基本+项目",
        "cross.spending-total",
        lambda: edit_cell(funding(dept(), "年度资金总额", "全年执行数"), "1119.57"),
        f"spending_total:{DEPT}",
        True,
        False,
    ),
    (
        "项目支出一致",
        "cross.project-spending",
        lambda: edit_cell(split(dept(), "项目支出"), "400"),
        f"project_spending:{DEPT}",
        True,
        False,
    ),
    (
        "报告数字",
        "cross.report-figure",
        lambda: replace_once("成交额439.21亿元", "成交额334.91亿元"),
        f"report_figure:{PROJ}/7.技术合同成交额@年度整体工作开展情况:515",
        False,
        True,
    ),
]


@pytest.mark.parametrize(
    ("rule", "edited", "key", "before", "after"),
    [pytest.param(*c[1:], id=c[0]) for c in RELATION_CASES],
)
def test_one_changed_figure(
    rule: str, edited: Callable[[], str], key: str, before: bool, after: bool
) -> None:
    assert by_key(run(rule, SEED))[key].fields["holds"] is before
    changed = by_key(run(rule, package_from(edited())))
    assert changed[key].fields["holds"] is after
    # The expression says why: the mismatch sign appears exactly when the relation fails.
    marker = FAILURE_MARKERS.get(str(changed[key].fields["check"]), "≠")
    assert (marker in changed[key].detail["expression"]) is not after


FAILURE_MARKERS = {
    "qizhong": " > ",
    "header_fields": "未填写",
    "points_only_where_expected": "只应在",
}


def test_rate_score_is_capped_at_the_points() -> None:
    # 33 spent of 30: 执行率 110%, 110% × 10 = 11, capped at 10 = the stated 10.
    text = edit_cell(funding(project(), "年度资金总额", "全年执行数"), "33")
    got = by_key(run("funds.rate", package_from(text)))
    assert got[f"rate:{PROJ}"].fields["holds"] is False
    score = got[f"rate_score:{PROJ}"]
    assert score.fields["holds"] is True
    assert score.detail["expression"] == "110% × 10 = 11，封顶 10 = 10"


def test_a_project_missing_from_the_basic_data_table() -> None:
    text = edit_cell(project().header["项目支出名称"], "科技馆运营经费")
    got = by_key(run("cross.project-listed", package_from(text)))
    listed = [f for f in got.values() if f.fields["check"] == "project_listed"]
    assert [f.fields["holds"] for f in listed] == [False]


def test_a_zero_denominator_passes_only_with_an_empty_or_zero_ratio() -> None:
    key = "ratio:楼堂馆所控制情况(2023年完工项目)/1/规模控制率"
    assert by_key(run("basic.ratio", SEED))[key].fields["holds"] is True  # 0 / 0, stated 0
    assert SEED.basic_data is not None
    block = next(b for b in SEED.basic_data.blocks if "楼堂馆所" in b.title)
    stated = block.rows[0].cells[block.columns.index("规模控制率")]
    changed = by_key(run("basic.ratio", package_from(edit_cell(stated, "100%"))))
    assert changed[key].fields["holds"] is False


@pytest.mark.parametrize(
    ("rate", "cap", "capped"),
    [
        ("96.72%", 100, False),
        ("80%", 100, False),
        ("79.99%", 89, True),
        ("70%", 89, True),
        ("69%", 79, True),
        ("50%", 69, True),
        ("49.99%", 59, True),
    ],
)
def test_exec_rate_cap_bands(rate: str, cap: int, capped: bool) -> None:
    text = edit_cell(funding(dept(), "年度资金总额", "执行率"), rate)
    (fact,) = run("exec-rate.cap", package_from(text), CAPS)
    assert fact.fields["cap"] == D(cap)
    assert fact.fields["capped"] is capped  # the stated total is 99.67


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=120, places=2))
def test_the_cap_never_falls_as_the_rate_rises(rate: Decimal) -> None:
    kind, params = rule_params(CAPS, "exec-rate.cap")
    table = dept()
    index = next(i for i, r in enumerate(table.funding) if r.label == "年度资金总额")
    row = table.funding[index]

    def cap_at(value: Decimal) -> Decimal:
        cell = row.cells["执行率"].model_copy(update={"number": value})
        cells = {**row.cells, "执行率": cell}
        rows = [*table.funding]
        rows[index] = row.model_copy(update={"cells": cells})
        package = SEED.model_copy(
            update={"department_table": table.model_copy(update={"funding": rows})}
        )
        (fact,) = REGISTRY[kind].fn(package, params, CTX)
        value_ = fact.fields["cap"]
        assert isinstance(value_, Decimal)
        return value_

    assert cap_at(rate) <= cap_at(rate + D("0.01"))


def test_measures_are_deterministic() -> None:
    for rule in ("funds.rate", "basic.sum", "cross.report-figure"):
        first, second = run(rule, SEED), run(rule, package_from(TEXT))
        assert [(f.key, dict(f.fields), dict(f.detail)) for f in first] == [
            (f.key, dict(f.fields), dict(f.detail)) for f in second
        ]


def test_no_tables_no_facts() -> None:
    empty = Package(dossier=DOSSIER)
    for rule in ("funds.rate", "basic.sum", "cross.report-figure"):
        assert run(rule, empty) == []
    assert run("exec-rate.cap", empty, CAPS) == []


def test_module_is_registered() -> None:
    for kind in ("funds", "basic_data_relations", "cross_document", "exec_rate_cap"):
        assert REGISTRY[kind].fn.__module__ == engine.measures.arithmetic.__name__
