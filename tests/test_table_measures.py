"""Tests for engine.measures.tables (weights, refinement, quality, scoring) and for the rule sets
rules/indicator-tables/*.toml and rules/exec-rate-caps/2024.1.toml as the engine compiles them.

Cases change one figure of the example package's text and re-import it; parameters come from
the shipped rule sets.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import engine.measures.arithmetic  # registers the measure kinds
import engine.measures.tables
from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import read_manifest
from engine.evaluate.run import evaluate
from engine.importers.text import default_layout, import_text
from engine.measures.base import REGISTRY, Fact, MeasureContext, Params, WorkCalendar
from engine.model import Cell, IndicatorRow, Package, SelfEvalTable
from engine.rubric.load import load_rubric

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
EXAMPLE = ROOT / "examples" / "yueyang-kjj-2023"
TABLES = RULES / "indicator-tables" / "2024.1.toml"
NO_SATISFACTION = RULES / "indicator-tables" / "no-satisfaction-2024.1.toml"
CAPS = RULES / "exec-rate-caps" / "2024.1.toml"
TEXT = (EXAMPLE / "package.txt").read_text("utf-8")
DOSSIER = read_manifest(EXAMPLE / "dossier.toml")
# The data files (vocabulary) as the bundled rubric loads them: measures never read a path.
DATA = load_rubric(ROOT / "rubrics" / "yueyang-fujian5" / "2024.1.toml", [RULES]).data
CTX = MeasureContext(
    mode="bureau", as_of=dt.date(2024, 6, 28), calendar=WorkCalendar(), data=DATA
)
DEPT = "2023年度部门整体支出绩效自评表"
PROJ = "项目支出绩效自评表[业务工作经费]"
D = Decimal


def load_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)


def rule_params(path: Path, rule_id: str, **override: Any) -> tuple[str, Params]:
    """The measure kind and validated parameters of a rule, "$name" looked up, then overridden."""
    data = load_toml(path)
    rule = next(r for r in data["rules"] if r["id"] == rule_id)
    resolved: dict[str, Any] = {
        k: data["parameters"][v[1:]] if isinstance(v, str) and v.startswith("$") else v
        for k, v in rule["params"].items()
    }
    resolved.update(override)
    return rule["measure"], REGISTRY[rule["measure"]].params.model_validate(resolved)


def run(rule_id: str, package: Package, path: Path = TABLES, **override: Any) -> list[Fact]:
    kind, params = rule_params(path, rule_id, **override)
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
    """The package text with one cell replaced (each cell keeps its own line)."""
    assert cell.location.line is not None
    lines = text.split("\n")
    i = cell.location.line - 1
    old = cell.text if cell.text and cell.text in lines[i] else cell.raw.strip()
    if old:
        head, _, tail = lines[i].rpartition(old)
        lines[i] = head + value + tail
    else:
        body = lines[i].lstrip("\t")
        lines[i] = lines[i][: len(lines[i]) - len(body)] + value
    return "\n".join(lines)


def dept() -> SelfEvalTable:
    assert SEED.department_table is not None
    return SEED.department_table


def project() -> SelfEvalTable:
    return SEED.project_tables[0]


def row(table: SelfEvalTable, level3: str) -> IndicatorRow:
    return next(r for r in table.indicators if r.level3 == level3)


def by_key(facts: list[Fact]) -> dict[str, Fact]:
    keys = [f.key for f in facts]
    assert len(keys) == len(set(keys)), "fact keys must be unique within a measure"
    return {f.key: f for f in facts}


# --- weight_compliance ---------------------------------------------------------------------------


def test_weights_on_the_seed() -> None:
    facts = run("weights.component", SEED)
    assert [f.key for f in facts] == [
        f"{table}/{part}"
        for table in (DEPT, PROJ)
        for part in ("预算执行率", "产出指标", "效益指标", "满意度指标")
    ]
    wrong = [f for f in facts if f.fields["compliant"] is False]
    assert [f.key for f in wrong] == [f"{PROJ}/效益指标"]
    (fact,) = wrong
    assert fact.fields == {"compliant": False, "share": D("0.125"), "expected": 30, "found": 40}
    assert fact.detail["expression"] == "5 + 5 + 10 + 10 + 10 = 40 ≠ 30"
    assert (fact.detail["table"], fact.detail["row"], fact.detail["column"]) == (
        PROJ,
        "效益指标",
        "分值",
    )
    assert len(fact.evidence) == 5  # the 分值 cell of every 三级 row (不适用 left out)
    assert by_key(facts)[f"{DEPT}/预算执行率"].detail["expression"] == "年度资金总额 分值 10 = 10"


WEIGHT_CASES = [
    # (id, cell to change, new text, fact key, compliant after)
    ("项目效益改为30", lambda: row(project(), "获得国家、省市的表扬数").points, "0",
     f"{PROJ}/效益指标", True),
    ("部门产出改为55", lambda: row(dept(), "组建科技创新平台").points, "20",
     f"{DEPT}/产出指标", False),
    ("执行率分值改为20", lambda: dept().funding[0].cells["分值"], "20",
     f"{DEPT}/预算执行率", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "value", "key", "after"), [pytest.param(*c[1:], id=c[0]) for c in WEIGHT_CASES]
)
def test_weights_after_one_change(cell: Any, value: str, key: str, after: bool) -> None:
    before = by_key(run("weights.component", SEED))[key].fields["compliant"]
    assert before is not after
    changed = by_key(run("weights.component", package_from(edit_cell(cell(), value))))
    assert changed[key].fields["compliant"] is after


def test_a_stated_level1_weight_must_agree_with_the_scheme() -> None:
    rows = [
        r.model_copy(update={"level1_points": D(40)}) if r.level1 == "产出指标" else r
        for r in dept().indicators
    ]
    package = SEED.model_copy(
        update={"department_table": dept().model_copy(update={"indicators": rows})}
    )
    fact = by_key(run("weights.component", package))[f"{DEPT}/产出指标"]
    assert fact.fields["compliant"] is False
    assert fact.detail["expression"] == "15 + 15 + 10 + 10 = 50 = 50；一级指标注明 40分 ≠ 50"


def test_weights_per_table() -> None:
    facts = run("weights.component", SEED, basis="table")
    assert [(f.key, f.fields["compliant"], f.fields["share"]) for f in facts] == [
        (DEPT, True, D("0.5")),
        (PROJ, False, D("0.5")),
    ]
    assert (facts[1].fields["expected"], facts[1].fields["found"]) == (100, 110)
    assert "效益指标：5 + 5 + 10 + 10 + 10 = 40 ≠ 30" in facts[1].detail["expression"]


def test_weights_of_one_kind_of_table() -> None:
    facts = run("weights.component", SEED, tables="department")
    assert len(facts) == 4
    assert {f.fields["share"] for f in facts} == {D("0.25")}


def test_the_no_satisfaction_scheme() -> None:
    # 效益 40 without 满意度: every 满意度 row is an extra 一级 indicator the scheme does not
    # expect; the project's 效益 rows now add up, but its 一级 cell still says (30分).
    facts = by_key(run("weights.component", SEED, NO_SATISFACTION))
    wrong = {k for k, f in facts.items() if f.fields["compliant"] is False}
    assert wrong == {
        f"{DEPT}/效益指标",
        f"{DEPT}/满意度指标",
        f"{PROJ}/效益指标",
        f"{PROJ}/满意度指标",
    }
    assert facts[f"{DEPT}/满意度指标"].detail["expression"] == "10 = 10 ≠ 0"
    assert facts[f"{PROJ}/效益指标"].detail["expression"] == (
        "5 + 5 + 10 + 10 + 10 = 40 = 40；一级指标注明 30分 ≠ 40"
    )


# --- indicator_refinement --------------------------------------------------------------------------


def test_refinement() -> None:
    (fact,) = run("indicator.refinement", SEED)
    # 8 二级 per table once 生态效益 (不适用) is left out.
    assert fact.fields == {"refined_share": 1, "level2_count": 16, "refined_count": 16}
    text = edit_cell(row(project(), "群众满意率").target, "")
    (fact,) = run("indicator.refinement", package_from(text))
    assert fact.fields == {"refined_share": D("0.9375"), "level2_count": 16, "refined_count": 15}
    assert "服务对象满意度指标" in fact.evidence[0].value


# --- indicator_quality --------------------------------------------------------------------------------


def test_quality_on_the_seed() -> None:
    (fact,) = run("indicator.quality.unmeasurable", SEED)
    assert fact.fields == {
        "measurable_share": D("0.5789"),  # 11 of 19 targets
        "unmeasurable_count": 8,
        "duplicate_count": 0,
        "count_out_of_range": 0,
        # The 30万元 project repeats two city-wide 效益 indicators of the department table.
        "copied_count": 2,
        "category_share": D("0.5"),  # 8 of 16 (table, category) pairs, 生态 left out
    }
    values = [e.value for e in fact.evidence]
    assert "控制在预算内（与指标名称相同）" in values
    copied = [v for v in values if "与部门整体支出绩效自评表相同" in v]
    assert [v.split("：")[0] for v in copied] == ["「技术合同成交额", "「获得国家、省市的表扬数"]


def test_quality_signals_after_one_change() -> None:
    # The 三级 name is on the line above the target: rename the project's 加快科技体制改革.
    target = row(project(), "加快科技体制改革").target
    assert target.location.line is not None
    lines = TEXT.split("\n")
    assert lines[target.location.line - 2] == "\t加快科技体制改革"
    lines[target.location.line - 2] = "\t技术合同成交额"
    text = "\n".join(lines)
    assert text != TEXT
    (fact,) = run("indicator.quality.duplicates", package_from(text))
    assert fact.fields["duplicate_count"] == 1
    (fact,) = run("indicator.quality.count", SEED, min_indicators=10)
    assert fact.fields["count_out_of_range"] == 1  # the department table has 9
    (fact,) = run("indicator.quality.copied", SEED, small_project_share="0.01")
    assert fact.fields["copied_count"] == 0  # 30 is not below 1% of 1157.5


# --- indicator_scoring -------------------------------------------------------------------------------


def scoring(package: Package = SEED, **override: Any) -> dict[str, Fact]:
    return {f.subject: f for f in run("indicator.exceeded-unexplained", package, **override)}


def test_scoring_on_the_seed() -> None:
    facts = scoring()
    assert len(facts) == 19  # 9 + 10 rows: the 不适用 生态效益 rows are skipped
    exceeded = {s for s, f in facts.items() if f.fields["exceeded"] is True}
    assert exceeded == {
        f"{DEPT}「组建科技创新平台」",  # 22 省级 platforms for a target of 5
        f"{DEPT}「研发投入」",
        f"{DEPT}「技术合同成交额」",
        f"{PROJ}「组建科技创新平台」",
        f"{PROJ}「全社会研发投入增速」",
        f"{PROJ}「技术合同成交额」",
    }
    contract = facts[f"{PROJ}「技术合同成交额」"]
    assert contract.fields["max_ratio"] == D("2.2327")  # 334.91亿元 / 150亿元
    assert contract.fields["deviation_filled"] is False
    growth = facts[f"{PROJ}「全社会研发投入增速」"]
    assert growth.fields["max_ratio"] == D("1.3")  # 7.8% / 6%: exactly the threshold
    assert growth.fields["deviation_filled"] is False
    for fact in facts.values():
        assert fact.fields["over_score"] is False
        assert fact.fields["short_of_points"] is False
        assert fact.fields["score_above_points"] is False
    assert facts[f"{DEPT}「控制在预算内」"].fields["measurable"] is False
    assert facts[f"{DEPT}「控制在预算内」"].fields["expected_score"] == 0


SCORING_CASES = [
    # (id, row, column, new text, field, value after)
    ("未达标却给满分", "全社会研发投入增速", "actual", "3%", "over_score", True),
    ("得分低于分值", "技术合同成交额", "score", "8", "short_of_points", True),
    ("得分超过分值", "技术合同成交额", "score", "12", "score_above_points", True),
    (
        "填写偏差原因",
        "技术合同成交额",
        "deviation",
        "目标设定偏低，下年调整",
        "deviation_filled",
        True,
    ),
    ("未超过阈值", "全社会研发投入增速", "actual", "7.7%", "exceeded", False),
]


@pytest.mark.parametrize(
    ("level3", "column", "value", "field", "after"),
    [pytest.param(*c[1:], id=c[0]) for c in SCORING_CASES],
)
def test_scoring_after_one_change(
    level3: str, column: str, value: str, field: str, after: bool
) -> None:
    subject = f"{PROJ}「{level3}」"
    assert scoring()[subject].fields[field] is not after
    cell = getattr(row(project(), level3), column)
    assert scoring(package_from(edit_cell(cell, value)))[subject].fields[field] is after


def test_a_missed_target_scores_in_proportion() -> None:
    fact = scoring(package_from(edit_cell(row(project(), "全社会研发投入增速").actual, "3%")))[
        f"{PROJ}「全社会研发投入增速」"
    ]
    assert fact.fields["expected_score"] == D("2.50")  # 5 × 3 / 6
    assert fact.detail["expression"].endswith("未达标，得分 5 × 50.00% = 2.50")
    assert (fact.detail["expected"], fact.detail["found"]) == ("2.5", "5")


def test_a_lower_is_better_target_scores_inversely() -> None:
    cost = row(project(), "控制在预算内")
    text = edit_cell(cost.actual, "33万元", edit_cell(cost.target, "30万元"))
    fact = scoring(package_from(text))[f"{PROJ}「控制在预算内」"]
    assert fact.fields["measurable"] is True
    assert fact.fields["expected_score"] == D("9.09")  # 10 × 30 / 33: 成本 is lower-is-better
    assert fact.fields["over_score"] is True


def test_the_optional_over_achievement_penalty() -> None:
    facts = scoring(over_penalty="2")
    contract = facts[f"{PROJ}「技术合同成交额」"]
    assert contract.fields["expected_score"] == D(8)
    assert contract.fields["over_score"] is True
    assert "扣 2 分后应得 8" in contract.detail["expression"]
    explained = package_from(edit_cell(row(project(), "技术合同成交额").deviation, "目标偏低"))
    assert scoring(explained, over_penalty="2")[f"{PROJ}「技术合同成交额」"].fields[
        "expected_score"
    ] == D(10)


# --- the rule sets ---------------------------------------------------------------------------------


MINI_RUBRIC = """
id = "mini"
version = "1"
title = "rule set check"
total = 1
rule_sets = [{sets}]
[[sections]]
name = "s"
points = 1
[[items]]
id = "i"
name = "i"
section = "s"
points = 1
[[items.clauses]]
id = "i.c"
text = "t"
points = 1
"""


def compile_sets(tmp_path: Path, *sets: str) -> Any:
    path = tmp_path / "mini" / "1.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MINI_RUBRIC.format(sets=", ".join(f'"{s}"' for s in sets)), "utf-8")
    return load_rubric(path, [RULES])


def test_the_rule_sets_compile(tmp_path: Path) -> None:
    rubric = compile_sets(tmp_path, "indicator-tables@2024.1", "exec-rate-caps@2024.1")
    ids = [r.spec.id for r in rubric.rules]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(?:[.-][a-z0-9]+)*", i) for i in ids)
    # Rules over one measure share its parameters, so each measure runs once per package.
    assert sorted(i.spec.kind for i in rubric.measures.values()) == sorted(
        ["weight_compliance", "funds", "basic_data_relations", "cross_document",
         "indicator_scoring", "indicator_refinement", "indicator_quality", "exec_rate_cap"]
    )  # fmt: skip
    alternative = compile_sets(tmp_path, "indicator-tables@no-satisfaction-2024.1")
    assert [r.spec.id for r in alternative.rules] == ids[:-1]


def test_every_check_has_its_own_rule() -> None:
    rules = load_toml(TABLES)["rules"]
    checks: Counter[tuple[str, str]] = Counter()
    for rule in rules:
        for check in re.findall(r'check == "([a-z_]+)"', rule["when"]):
            checks[(rule["measure"], check)] += 1
    yielded = {
        (kind, str(f.fields["check"]))
        for kind, rule_id in (
            ("funds", "funds.rate"),
            ("basic_data_relations", "basic.sum"),
            ("cross_document", "cross.report-figure"),
        )
        for f in run(rule_id, SEED)
    } | {("cross_document", "project_listed")}
    assert set(checks) == yielded
    assert set(checks.values()) == {1}
    severities = {r["id"]: r["finding"]["severity"] for r in rules}
    assert severities["indicator.exceeded-unexplained"] == "warning"
    assert severities["basic.numbered"] == "error"
    assert severities["indicator.unmeasurable"] == "info"


def test_the_alternative_scheme_differs_only_in_its_scheme() -> None:
    main, alternative = load_toml(TABLES), load_toml(NO_SATISFACTION)
    assert main["rules"] == alternative["rules"]
    assert alternative["version"] == "no-satisfaction-2024.1"
    changed = {
        k for k in main["parameters"] if main["parameters"][k] != alternative["parameters"][k]
    }
    assert changed == {"weight_scheme", "indicator_categories"}
    scheme = alternative["parameters"]["weight_scheme"]
    assert "满意度指标" not in scheme
    assert sum(scheme.values()) == sum(main["parameters"]["weight_scheme"].values()) == 100


def test_rubric_clauses_share_the_rule_sets_measure_instances() -> None:
    # The 附件5 rubric's 绩效自评表 clauses and the rule set's findings read the same facts: the
    # parameters are spelled once in TOML, so each measure kind compiles to one instance.
    from engine.rubric.load import load_rubric
    from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES])
    kinds = [m.spec.kind for m in rubric.measures.values()]
    for kind in ("weight_compliance", "indicator_refinement", "indicator_quality"):
        assert kinds.count(kind) == 1, kind


def findings(backend: Any, tmp_path: Path) -> Counter[tuple[str, str]]:
    rubric = compile_sets(tmp_path, "indicator-tables@2024.1", "exec-rate-caps@2024.1")
    report = evaluate(SEED, rubric, backend=backend, mode="bureau", as_of=dt.date(2024, 6, 28))
    return Counter((f["rule"], f["severity"]) for f in report["findings"])


def test_findings_on_the_seed(tmp_path: Path, python_backend: PythonBackend) -> None:
    got = findings(python_backend, tmp_path)
    assert {k: v for k, v in got.items() if k[1] != "info"} == {
        ("weights.component", "error"): 1,
        ("funds.points-placement", "warning"): 1,
        ("funds.total", "error"): 2,
        ("funds.header", "warning"): 1,
        ("basic.sum", "error"): 1,
        ("basic.numbered", "error"): 3,
        ("basic.block", "error"): 1,
        ("cross.project-amounts", "error"): 2,
        ("cross.report-figure", "warning"): 2,
        ("indicator.exceeded-unexplained", "warning"): 6,
    }


def test_durable_rules_agrees(
    tmp_path: Path, python_backend: PythonBackend, durable: DurableBackend
) -> None:
    assert findings(durable, tmp_path) == findings(python_backend, tmp_path)


def test_module_is_registered() -> None:
    for kind in (
        "weight_compliance",
        "indicator_refinement",
        "indicator_quality",
        "indicator_scoring",
    ):
        assert REGISTRY[kind].fn.__module__ == engine.measures.tables.__name__
