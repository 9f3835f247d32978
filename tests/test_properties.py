"""Properties over many generated packages: scores stay in range, add up, and both backends agree."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import assemble, parse_manifest
from engine.evaluate import Evaluator, render_json
from engine.rubric.model import Rubric
from tests.conftest import EXAMPLE

BASE = tomllib.loads(EXAMPLE.read_text("utf-8"))
TEXT = (EXAMPLE.parent / "package.txt").read_text("utf-8")
ELEMENTS = BASE["notice"]["elements"]
KINDS = ["本级", "所属单位", "转移支付项目单位", "县区主管部门"]
# Report headings that a generated package may lose (each is a whole line of the example).
HEADINGS = [
    line
    for line in TEXT.splitlines()
    if line.startswith(("3、", "4、", "5、", "七、", "8、", "（2）"))
]

_units = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["甲单位", "乙单位", "丙县财政", "丁中心"]),
            "kind": st.sampled_from(KINDS),
        },
        optional={
            "self_checked": st.booleans(),
            "evidence": st.lists(st.just("清单.pdf"), max_size=1),
        },
    ),
    max_size=14,
)

_manifest = st.fixed_dictionaries(
    {},
    optional={
        "notice": st.fixed_dictionaries(
            {},
            optional={
                "issued": st.booleans(),
                "elements": st.lists(st.sampled_from(ELEMENTS), unique=True),
                "evidence": st.lists(st.just("通知.pdf"), max_size=1),
            },
        ),
        "working_group": st.fixed_dictionaries(
            {},
            optional={
                "established": st.booleans(),
                "evidence": st.lists(st.just("文件.pdf"), max_size=1),
            },
        ),
        "units": _units,
        "received_on": st.dates(dt.date(2024, 6, 1), dt.date(2024, 9, 30)),
        "deadline": st.dates(dt.date(2024, 6, 1), dt.date(2024, 7, 31)),
    },
)


def _package(changes: dict[str, Any], dropped: list[str]) -> Any:
    manifest = {
        k: v
        for k, v in BASE.items()
        if k not in ("notice", "working_group", "units", "received_on", "deadline")
    }
    manifest.update(changes)
    text = TEXT
    for heading in dropped:
        text = text.replace(heading + "\n", "", 1)
    return assemble(parse_manifest(manifest, file="generated"), [("package.txt", text)])


_DURABLE = DurableBackend()
_PYTHON = PythonBackend()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    _manifest,
    st.lists(st.sampled_from(HEADINGS), unique=True, max_size=4),
    st.sampled_from(["bureau", "precheck"]),
)
def test_scores_are_consistent_and_backends_agree(
    rubric: Rubric, changes: dict[str, Any], dropped: list[str], mode: str
) -> None:
    package = _package(changes, dropped)
    as_of = dt.date(2024, 7, 15)
    report = Evaluator(_DURABLE).evaluate(package, rubric, mode=mode, as_of=as_of)  # type: ignore[arg-type]
    twin = Evaluator(_PYTHON).evaluate(package, rubric, mode=mode, as_of=as_of)  # type: ignore[arg-type]
    assert render_json(report) == render_json(twin)
    total = Decimal(0)
    for item in report["items"]:
        assert Decimal(0) <= item["score"] <= item["max"]
        assert (
            item["max"] - sum((d["points"] for d in item["deductions"]), Decimal(0))
            == item["score"]
        )
        total += item["score"]
    assert report["total"]["score"] == total
    assert report["total"]["max"] == sum((i["max"] for i in report["items"]), Decimal(0)) == 100
    if mode == "precheck":
        # Nothing is deducted for evidence the package lacks: those facts become needs_input.
        for item in report["items"]:
            for d in item["deductions"]:
                assert "未提供佐证" not in d["reason"]
