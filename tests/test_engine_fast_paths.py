"""The engine's fast paths (issue 13, round 2) give what the plain code they replace gives.

Each fast path is checked against the straightforward version it replaced: header matching,
text normalisation, cells and locations built without validation, evidence entries, lazily
explained facts, and the package digest.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.evaluate.report import EvidenceEntry, evidence_entries
from engine.evaluate.run import package_digest
from engine.importers import normalize_text
from engine.importers._cells import parse_number
from engine.importers._scan import RawCell
from engine.importers._selfeval import match_columns
from engine.measures.base import Evidence, Explanation, Fact, explain_later
from engine.model import Package
from engine.model.package import (
    Cell,
    Location,
    ReportSection,
    trusted_cell,
    trusted_location,
    trusted_model,
)


def _match_columns_reference(
    texts: Sequence[str],
    keywords: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """match_columns as it was before its word lists were built once (the specification)."""
    found: dict[str, int] = {}
    taken: set[int] = set()
    for exact in (True, False):
        for keyword in keywords:
            if keyword in found or not keyword:
                continue
            words = [keyword, *(synonyms or {}).get(keyword, ())]
            for index, text in enumerate(texts):
                if index in taken:
                    continue
                if any((text == w) if exact else (w in text) for w in words if w):
                    found[keyword] = index
                    taken.add(index)
                    break
    return found


_WORDS = st.sampled_from(["", "分值", "得分", "年初预算数", "预算", "执行率", "数", "(万元)", "A"])


@settings(max_examples=400, deadline=None)
@given(
    texts=st.lists(st.builds(lambda a, b: a + b, _WORDS, _WORDS), max_size=8),
    keywords=st.lists(_WORDS, max_size=6),
    synonyms=st.dictionaries(_WORDS, st.lists(_WORDS, max_size=3), max_size=3),
)
def test_match_columns_matches_the_reference(
    texts: list[str], keywords: list[str], synonyms: dict[str, list[str]]
) -> None:
    assert match_columns(texts, keywords, synonyms) == _match_columns_reference(
        texts, keywords, synonyms
    )
    assert match_columns(texts, keywords) == _match_columns_reference(texts, keywords)


def _normalize_reference(s: str) -> str:
    text = unicodedata.normalize("NFKC", s)
    return "".join(part.strip() for part in text.replace("\r", "").split("\n")).strip()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("年预算 \u3000\n\r（）ＡＢ１２,.%\u00a0ﬁ①a")))
def test_normalize_text_matches_the_reference(s: str) -> None:
    assert normalize_text(s) == _normalize_reference(s)


def test_raw_cell_text_follows_appended_lines() -> None:
    cell = RawCell(["年度预"], 3)
    assert cell.text == "年度预"
    cell.lines.append("算申请")  # the scanner appends continuation lines after reading some
    assert (cell.raw, cell.text) == ("年度预\n算申请", "年度预算申请")


def test_trusted_location_and_cell_equal_validated_ones() -> None:
    args = ("package.txt", "表", None, "列", None, 12)
    fast = trusted_location(*args)
    slow = Location(
        document="package.txt", table="表", row=None, column="列", section=None, line=12
    )
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.render() == slow.render() == "package.txt:12 表 / 列"
    assert fast.model_fields_set == slow.model_fields_set
    cell = trusted_cell("1,157.5", "1,157.5", Decimal("1157.5"), False, fast)
    validated = Cell(
        text="1,157.5", raw="1,157.5", number=Decimal("1157.5"), percent=False, location=slow
    )
    assert cell == validated
    assert cell.model_dump_json() == validated.model_dump_json()
    assert cell.model_fields_set == validated.model_fields_set


def test_trusted_model_equals_the_validated_one_and_validates_an_incomplete_one() -> None:
    where = Location(document="package.txt", line=3)
    values = {"numbering": "一、", "title": "概况", "level": 1, "text": "正文", "location": where}
    fast, slow = trusted_model(ReportSection, dict(values)), ReportSection(**values)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    # A field left out (or given out of order) is not trusted: the model validates it.
    with pytest.raises(ValueError, match="text"):
        trusted_model(ReportSection, {k: v for k, v in values.items() if k != "text"})
    reordered = {"level": "1", **{k: v for k, v in values.items() if k != "level"}}
    with pytest.raises(ValueError, match="level"):
        trusted_model(ReportSection, reordered)  # strict: "1" is not an int


def _parse_number_reference(text: str) -> tuple[Decimal | None, bool]:
    """parse_number before its first-character check (the regex alone decides)."""
    import re

    value = normalize_text(text).replace(" ", "")
    pattern = r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?%?"
    if not re.fullmatch(pattern, value):
        return None, False
    try:
        number = Decimal(value.rstrip("%").replace(",", ""))
    except InvalidOperation:  # pragma: no cover
        return None, False
    return (number, value.endswith("%")) if abs(number) < Decimal("1e15") else (None, False)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789+-,.% 　１万元—/")))
def test_parse_number_matches_the_reference(text: str) -> None:
    assert parse_number(text) == _parse_number_reference(text)


def test_evidence_entries_equal_validated_ones() -> None:
    entries = evidence_entries([Evidence("package.txt:3 表", "12")])
    assert entries == [EvidenceEntry(location="package.txt:3 表", value="12")]
    assert entries[0].to_json() == {"location": "package.txt:3 表", "value": "12"}


def test_a_lazy_explanation_is_built_once_and_only_when_read() -> None:
    calls: list[int] = []

    def build() -> Explanation:
        calls.append(1)
        return (Evidence("a", "1"), Evidence("b", "2")), {"expression": "1 + 1 = 2"}

    evidence, detail = explain_later(build)
    fact = Fact(key="k", fields={"holds": True}, evidence=evidence, detail=detail)
    assert calls == []  # nothing read yet: nothing written out
    assert fact.detail["expression"] == "1 + 1 = 2"
    assert list(fact.evidence) == [Evidence("a", "1"), Evidence("b", "2")]
    assert fact.evidence[0].location == "a"
    assert len(fact.evidence) == 2
    assert calls == [1]
    assert fact.evidence == (Evidence("a", "1"), Evidence("b", "2"))
    assert fact.detail == {"expression": "1 + 1 = 2"}
    eager = Fact(key="k", fields={"holds": True}, evidence=tuple(evidence), detail=dict(detail))
    assert fact == eager
    assert calls == [1]


def test_package_digest_is_the_hash_of_the_package_json(example: Package) -> None:
    expected = hashlib.sha256(example.model_dump_json().encode()).hexdigest()
    assert package_digest(example) == expected


def test_a_fact_is_encoded_for_durable_rules_as_the_json_module_does() -> None:
    from engine.backends.durable_adapter import _encode, _encode_fact

    fact = {"sid": "e1", "id": "3", "_tag": "funds_1", "holds": 1, "ratio": 0.9286, "name": '中"文'}
    assert _encode_fact(fact) == _encode(fact)
