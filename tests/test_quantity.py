"""Tests for engine.measures.quantity: parsing targets/actuals and the expected score."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.measures.quantity import (
    ParsedValue,
    Quantity,
    QuantityVocabulary,
    expected_score,
    load_vocabulary,
    normalize_text,
    parse_value,
)

VOCAB_PATH = Path(__file__).resolve().parents[1] / "rules" / "vocabulary" / "2024.1.toml"
VOCAB = load_vocabulary(VOCAB_PATH)

D = Decimal

# (text, kind, [(comparator, value, unit, label), ...]); ranges are checked separately.
PARSE_CASES: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    # full-width forms
    ("≥９９％", "quantitative", [(">=", "99", "%", "")]),
    ("＞１", "quantitative", [(">", "1", "", "")]),
    ("１５０亿元", "quantitative", [("=", "150", "亿元", "")]),
    ("　群众满意率＞９０％　", "quantitative", [(">", "90", "%", "群众满意率")]),
    # plain figures and comparators
    ("≥99%", "quantitative", [(">=", "99", "%", "")]),
    (">1", "quantitative", [(">", "1", "", "")]),
    ("150亿元", "quantitative", [("=", "150", "亿元", "")]),
    ("群众满意率>90%", "quantitative", [(">", "90", "%", "群众满意率")]),
    ("群众满意率≥99%", "quantitative", [(">=", "99", "%", "群众满意率")]),
    ("获得国家、省市的表扬数>1", "quantitative", [(">", "1", "", "国家、省市的表扬数")]),
    ("不低于95%", "quantitative", [(">=", "95", "%", "")]),
    ("不少于10场", "quantitative", [(">=", "10", "场", "")]),
    ("≤100万元", "quantitative", [("<=", "100", "万元", "")]),
    ("不超过100万元", "quantitative", [("<=", "100", "万元", "")]),
    ("控制在100万元以内", "quantitative", [("<=", "100", "万元", "")]),
    ("95%以上", "quantitative", [(">=", "95", "%", "")]),
    ("投诉率<1%", "quantitative", [("<", "1", "%", "投诉率")]),
    ("成本≤50万元", "quantitative", [("<=", "50", "万元", "成本")]),
    ("6%", "quantitative", [("=", "6", "%", "")]),
    ("1.8%", "quantitative", [("=", "1.8", "%", "")]),
    ("334.91亿元", "quantitative", [("=", "334.91", "亿元", "")]),
    ("成交额334.91亿元。", "quantitative", [("=", "334.91", "亿元", "成交额")]),
    ("实现技术合同成交额达150亿元。", "quantitative", [("=", "150", "亿元", "技术合同成交额")]),
    ("1,000万元", "quantitative", [("=", "1000", "万元", "")]),
    ("100", "quantitative", [("=", "100", "", "")]),
    ("增速-2.3%", "quantitative", [("=", "-2.3", "%", "增速")]),
    ("10个工作日内", "quantitative", [("<=", "10", "个工作日", "")]),
    ("3万人次", "quantitative", [("=", "3", "万人次", "")]),
    ("5G基站100个", "quantitative", [("=", "100", "个", "5G基站")]),
    # ranges (value = lower; the upper bound is checked in test_ranges)
    ("90%-95%", "quantitative", [("=", "90", "%", "")]),
    ("90~95%", "quantitative", [("=", "90", "%", "")]),
    ("3至5个", "quantitative", [("=", "3", "个", "")]),
    # Chinese numerals
    ("五个", "quantitative", [("=", "5", "个", "")]),
    ("两项", "quantitative", [("=", "2", "项", "")]),
    ("十二家", "quantitative", [("=", "12", "家", "")]),
    ("三万元", "quantitative", [("=", "3", "万元", "")]),
    ("百分之九十五", "quantitative", [("=", "95", "%", "")]),
    ("三十分钟", "quantitative", [("=", "30", "分钟", "")]),
    ("三点五个百分点", "quantitative", [("=", "3.5", "个百分点", "")]),
    # compound texts
    (
        "新增省级创新平台5个；市级创新平台8个",
        "quantitative",
        [("=", "5", "个", "省级创新平台"), ("=", "8", "个", "市级创新平台")],
    ),
    (
        "新增国家级创新平台1个、省级创新平台22个、市级创新平台34个。",
        "quantitative",
        [
            ("=", "1", "个", "国家级创新平台"),
            ("=", "22", "个", "省级创新平台"),
            ("=", "34", "个", "市级创新平台"),
        ],
    ),
    (
        "争取实现全社会研发投入增速6%目标，全社会研发投入占GDP比重争取达到1.8%。",
        "quantitative",
        [("=", "6", "%", "全社会研发投入增速"), ("=", "1.8", "%", "全社会研发投入占GDP比重")],
    ),
    (
        "全社会研发投入增速7.8%、全社会研发投入占GDP比重达到2.3%。",
        "quantitative",
        [("=", "7.8", "%", "全社会研发投入增速"), ("=", "2.3", "%", "全社会研发投入占GDP比重")],
    ),
    (
        "举办以“热爱科学、崇尚科学”为主题的2023年岳阳市科技活动周启动仪式，"
        "牵头举办丰富多彩的科普讲座、志愿服务等系列活动13场。",
        "quantitative",
        [("=", "13", "场", "牵头举办丰富多彩的科普讲座、志愿服务等系列活动")],
    ),
    # qualitative
    ("及时完成", "qualitative", []),
    ("及时完成目标", "qualitative", []),
    ("控制在预算内", "qualitative", []),
    ("控制在预算内　", "qualitative", []),
    ("加快科技体制改革", "qualitative", []),
    ("2023年完成", "qualitative", []),
    ("2023年12月31日前完成", "qualitative", []),
    ("2023-2025年", "qualitative", []),
    ("推进国家、省科技体制改革三年行动计划", "qualitative", []),
    (
        "高质量承办第44届湖南省青少年科技创新大赛，成功举办2023年岳阳市创新创业大赛。",
        "qualitative",
        [],
    ),
    ("获全省打好“发展六仗”先进单位。", "qualitative", []),
    ("十分满意", "qualitative", []),
    ("高效办成一件事", "qualitative", []),
    ("完成5", "qualitative", []),
    # none
    ("不适用", "none", []),
    ("—", "none", []),
    ("——", "none", []),
    ("-", "none", []),
    ("/", "none", []),
    ("无", "none", []),
    ("", "none", []),
    ("　", "none", []),
    (" 　\t", "none", []),
]


@pytest.mark.parametrize(("text", "kind", "parts"), PARSE_CASES)
def test_parse_table(text: str, kind: str, parts: list[tuple[str, str, str, str]]) -> None:
    parsed = parse_value(text, VOCAB)
    assert parsed.kind == kind, parsed
    got = [(q.comparator, q.value, q.unit, q.label) for q in parsed.parts]
    assert got == [(c, D(v), u, lbl) for c, v, u, lbl in parts]
    assert parsed.text == normalize_text(text)
    assert bool(parsed.reason) == (kind == "qualitative")


def test_parse_table_is_large_enough() -> None:
    assert len(PARSE_CASES) >= 45


@pytest.mark.parametrize(
    ("text", "lower", "upper", "unit"),
    [
        ("90%-95%", "90", "95", "%"),
        ("90~95%", "90", "95", "%"),
        ("3至5个", "3", "5", "个"),
        ("９０％－９５％", "90", "95", "%"),
        ("95%-90%", "90", "95", "%"),
    ],
)
def test_ranges(text: str, lower: str, upper: str, unit: str) -> None:
    (q,) = parse_value(text, VOCAB).parts
    assert (q.comparator, q.value, q.upper, q.unit) == ("=", D(lower), D(upper), unit)


def test_indicator_name_echo_is_qualitative() -> None:
    name = "提升全市科技创新能力"
    parsed = parse_value("　提升全市科技创新能力", VOCAB, indicator_name=name)
    assert parsed.kind == "qualitative"
    assert parsed.reason == "与指标名称相同"
    # A target that adds a figure to the name is measurable.
    name = "获得国家、省市的表扬数"
    assert parse_value(f"{name}>1", VOCAB, indicator_name=name).kind == "quantitative"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("及时完成", "无数值、单位或比较符"),
        ("2023年完成", "数字仅为日期、年限或序号，无可计量数值"),
        ("完成5", "数值无单位或比较符"),
    ],
)
def test_qualitative_reasons(text: str, reason: str) -> None:
    assert parse_value(text, VOCAB).reason == reason


def test_quantity_text_is_the_normalised_fragment() -> None:
    parts = parse_value("新增省级创新平台５个；市级创新平台８个。", VOCAB).parts
    assert [q.text for q in parts] == ["新增省级创新平台5个", "市级创新平台8个"]
    assert isinstance(parts[0], Quantity)


def test_normalize_text() -> None:
    assert normalize_text("\u3000≥９９％\u3000") == "≥99%"
    assert normalize_text("a \n\t b") == "a b"


# ------------------------------------------------------------------ expected_score


class ScoreCase(NamedTuple):
    """One expected_score row; ratio, max_ratio and score are None when not computed."""

    target: str
    actual: str
    points: str
    name: str
    status: str
    ratio: str | None
    max_ratio: str | None
    score: str | None


SCORE_CASES: list[ScoreCase] = [
    ScoreCase(*row)
    for row in [
        # met / exceeded-but-met
        ("6%", "7.8%", "5", "", "met", "1.3000", "1.3000", "5.00"),
        ("群众满意率>90%", "群众满意率≥99%", "10", "", "met", "1.1000", "1.1000", "10.00"),
        (
            "实现技术合同成交额达150亿元。",
            "成交额334.91亿元。",
            "5",
            "",
            "met",
            "2.2327",
            "2.2327",
            "5.00",
        ),
        # missed, proportional
        ("6%", "3%", "5", "", "missed", "0.5000", "0.5000", "2.50"),
        ("150亿元", "120亿元", "10", "", "missed", "0.8000", "0.8000", "8.00"),
        # rounding half-up: 5 × 1/8 = 0.625 -> 0.63
        ("8个", "1个", "5", "", "missed", "0.1250", "0.1250", "0.63"),
        # 15 × 2/3 = 10.00; 10 × 2/3 = 6.666.. -> 6.67
        ("3项", "2项", "10", "", "missed", "0.6667", "0.6667", "6.67"),
        # inverse: explicit ≤ target
        ("≤100万元", "120万元", "10", "", "missed", "0.8333", "0.8333", "8.33"),
        ("≤100万元", "80万元", "10", "", "met", "1.2500", "1.2500", "10.00"),
        ("≤100万元", "0万元", "10", "", "met", "1.0000", "1.0000", "10.00"),
        # inverse from the vocabulary: a plain figure for a complaint rate means "at most"
        ("5%", "6%", "10", "投诉率", "missed", "0.8333", "0.8333", "8.33"),
        ("投诉率5%", "投诉率4%", "10", "", "met", "1.2500", "1.2500", "10.00"),
        # ranges
        ("90%-95%", "93%", "10", "", "met", "1.0333", "1.0333", "10.00"),
        ("90%-95%", "80%", "10", "", "missed", "0.8889", "0.8889", "8.89"),
        ("90%-95%", "98%", "10", "", "missed", "0.9694", "0.9694", "9.69"),
        # compound matched by label (actual has an extra part)
        (
            "新增省级创新平台5个；市级创新平台8个",
            "新增国家级创新平台1个、省级创新平台22个、市级创新平台34个。",
            "15",
            "",
            "met",
            "4.3250",
            "4.4000",
            "15.00",
        ),
        (
            "争取实现全社会研发投入增速6%目标，全社会研发投入占GDP比重争取达到1.8%。",
            "全社会研发投入增速7.8%、全社会研发投入占GDP比重达到2.3%。",
            "5",
            "",
            "met",
            "1.2889",
            "1.3000",
            "5.00",
        ),
        # compound missed: each part capped at 100% before averaging, (40% + 100%) / 2 = 70%
        (
            "省级平台5个;市级平台8个",
            "省级平台2个;市级平台16个",
            "10",
            "",
            "missed",
            "1.2000",
            "2.0000",
            "7.00",
        ),
        # compound matched by position (labels differ, same count)
        ("甲类5个、乙类8个", "丙类5个、丁类4个", "10", "", "missed", "0.7500", "1.0000", "7.50"),
        # unit conversion 亿元 / 万元
        ("1亿元", "5000万元", "10", "", "missed", "0.5000", "0.5000", "5.00"),
        ("≥500万元", "0.1亿元", "4", "", "met", "2.0000", "2.0000", "4.00"),
        # one side without a unit
        ("获得国家、省市的表扬数>1", "表扬数3次", "10", "", "met", "3.0000", "3.0000", "10.00"),
        # zero target
        ("0个", "0个", "3", "", "met", "1.0000", "1.0000", "3.00"),
        # negative actual: score floors at 0
        ("6%", "-2%", "5", "", "missed", "-0.3333", "-0.3333", "0.00"),
        # not measurable
        ("5个", "3亿元", "10", "", "not_measurable", None, None, None),
        ("及时完成", "及时完成", "10", "", "not_measurable", None, None, None),
        ("6%", "及时完成", "10", "", "not_measurable", None, None, None),
        ("控制在预算内", "95万元", "10", "", "not_measurable", None, None, None),
        ("省级平台5个;市级平台8个", "省级平台6个", "10", "", "not_measurable", None, None, None),
        (
            "创新平台5个",
            "国家级创新平台1个、省级创新平台2个",
            "10",
            "",
            "not_measurable",
            None,
            None,
            None,
        ),
        (
            "提升全市科技创新能力",
            "13场",
            "10",
            "提升全市科技创新能力",
            "not_measurable",
            None,
            None,
            None,
        ),
        ("不适用", "5个", "10", "", "not_measurable", None, None, None),
        # not applicable
        ("不适用", "—", "10", "", "not_applicable", None, None, None),
        ("　不适用", "　不适用", "10", "", "not_applicable", None, None, None),
    ]
]


def _dec(s: str | None) -> Decimal | None:
    return D(s) if s is not None else None


@pytest.mark.parametrize("case", SCORE_CASES, ids=lambda c: f"{c.target}|{c.actual}")
def test_expected_score_table(case: ScoreCase) -> None:
    t = parse_value(case.target, VOCAB, indicator_name=case.name)
    a = parse_value(case.actual, VOCAB, indicator_name=case.name)
    result = expected_score(t, a, D(case.points))
    assert result.status == case.status, result.explanation
    assert result.ratio == _dec(case.ratio)
    assert result.max_ratio == _dec(case.max_ratio)
    assert result.score == _dec(case.score)
    assert result.explanation
    if result.score is not None:
        assert result.score.as_tuple().exponent == -2


def test_score_table_is_large_enough() -> None:
    assert len(SCORE_CASES) >= 15


def test_explanation_writes_the_arithmetic() -> None:
    result = expected_score(parse_value("6%", VOCAB), parse_value("7.8%", VOCAB), D(5))
    assert result.explanation == "实际 7.8% / 目标 ≥6% = 130.00%，达标，得满分 5"
    missed = expected_score(parse_value("8个", VOCAB), parse_value("1个", VOCAB), D(5))
    assert missed.explanation == "实际 1个 / 目标 ≥8个 = 12.50%，未达标，得分 5 × 12.50% = 0.63"
    mismatch = expected_score(parse_value("5个", VOCAB), parse_value("3亿元", VOCAB), D(5))
    assert "单位不一致" in mismatch.explanation


def test_vocab_argument_overrides_the_recorded_one() -> None:
    # A ParsedValue built by hand carries no vocabulary: no conversion, so 亿元/万元 differ.
    bare_t = ParsedValue("quantitative", (Quantity("=", D(1), "亿元", None, "", "1亿元"),), "", "")
    bare_a = ParsedValue("quantitative", (Quantity("=", D(5000), "万元", None, "", ""),), "", "")
    assert expected_score(bare_t, bare_a, D(10)).status == "not_measurable"
    assert expected_score(bare_t, bare_a, D(10), vocab=VOCAB).score == D("5.00")


def test_parsed_value_equality_ignores_vocab() -> None:
    assert parse_value("6%", VOCAB) == parse_value("６％", VOCAB)


# ------------------------------------------------------------------ vocabulary


def test_vocabulary_is_frozen_and_versioned() -> None:
    assert VOCAB.version == "2024.1"
    with pytest.raises(ValidationError):
        VOCAB.version = "x"


def test_vocabulary_rejects_unknown_keys_and_bad_entries() -> None:
    data = tomllib.loads(VOCAB_PATH.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError):
        QuantityVocabulary.model_validate({**data, "surprise": 1})
    with pytest.raises(ValidationError):  # full-width entries could never match NFKC text
        QuantityVocabulary.model_validate({**data, "compound_separators": ["；"]})
    with pytest.raises(ValidationError):
        QuantityVocabulary.model_validate({**data, "comparator_words": {"不低于": "gte"}})
    with pytest.raises(ValidationError):
        QuantityVocabulary.model_validate({**data, "ignore_units": ["个"]})


def test_unit_base() -> None:
    assert VOCAB.unit_base("万元") == ("元", D(10000))
    assert VOCAB.unit_base("万件") == ("件", D(10000))
    assert VOCAB.unit_base("个") == ("个", D(1))


# ------------------------------------------------------------------ properties

_pieces = st.sampled_from(
    ["≥", "＞", "<", "不低于", "以上", "以内", "%", "％", "个", "亿元", "万元", "万", "年", "第",
     "至", "-", "~", "、", "；", ",", "。", "五", "十", "两", "点", "百分之", "十分", "GDP",
     "新增", "率", "0", "1", "９", ".", " ", "　", "—", "不适用"]
)  # fmt: skip
_texts = st.one_of(st.text(), st.lists(st.one_of(_pieces, st.text(max_size=3))).map("".join))


@settings(max_examples=300, deadline=None)
@given(target=_texts, actual=_texts, points=st.integers(min_value=0, max_value=100))
def test_never_raises_and_score_in_bounds(target: str, actual: str, points: int) -> None:
    t = parse_value(target, VOCAB)
    a = parse_value(actual, VOCAB)
    assert t.kind in {"quantitative", "qualitative", "none"}
    assert (t.kind == "quantitative") == bool(t.parts)
    result = expected_score(t, a, D(points))
    if result.score is not None:
        assert D(0) <= result.score <= D(points)
    else:
        assert result.status in {"not_measurable", "not_applicable"}
