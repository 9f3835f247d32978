"""Generated variations of the example package, for benchmarks (deterministic: seeded).

Two generators:

- `variants(count)`: from the example's manifest and text, re-imported for each distinct text
  (slow: the text importer runs; kept for the memory benchmark's small corpus);
- `variant(base, index)`: the i-th variation made on the parsed package itself (dossier dates,
  notice elements, units, dropped report sections, a changed indicator figure). Cheap and
  unbounded, so a batch can score 10,000 distinct packages, each once.
"""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from decimal import Decimal
from typing import Any

from engine.dossier import assemble, load_package, parse_manifest
from engine.model import Cell, Dossier, Notice, Package, SelfEvalTable, Unit
from engine.rubric.registry import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
UNIT_KINDS = ("本级", "所属单位", "转移支付项目单位")


def example() -> Package:
    """The example package, parsed from its text rendition."""
    return load_package(EXAMPLE / "dossier.toml")


def variants(count: int, seed: int = 2023) -> list[Package]:
    """`count` packages: the example with its dates, notice, units and report sections varied."""
    rng = random.Random(seed)
    base: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    headings = [line for line in text.splitlines() if line.startswith(("3、", "4、", "5、", "（2）"))]
    elements = base["notice"]["elements"]
    texts = {}
    out = []
    for _ in range(count):
        manifest = dict(base)
        manifest["received_on"] = dt.date(2024, 6, 20) + dt.timedelta(days=rng.randrange(40))
        manifest["notice"] = {
            "issued": rng.random() > 0.1,
            "elements": rng.sample(elements, rng.randrange(len(elements) + 1)),
            "evidence": ["通知.pdf"],
        }
        manifest["units"] = [
            {
                "name": f"单位{i}",
                "kind": rng.choice(UNIT_KINDS),
                "self_checked": rng.random() > 0.2,
                "evidence": ["清单.pdf"],
            }
            for i in range(rng.randrange(1, 6))
        ]
        dropped = tuple(sorted(rng.sample(headings, rng.randrange(3))))
        if dropped not in texts:
            changed = text
            for heading in dropped:
                changed = changed.replace(heading + "\n", "", 1)
            texts[dropped] = changed
        out.append(
            assemble(parse_manifest(manifest, file="bench"), [("package.txt", texts[dropped])])
        )
    return out


def _dossier(base: Dossier, rng: random.Random, index: int) -> Dossier:
    elements = list(base.notice.elements or []) if base.notice else []
    notice = Notice(
        issued=rng.random() > 0.1,
        elements=rng.sample(elements, rng.randrange(len(elements) + 1)),
        evidence=["通知.pdf"],
    )
    units = [
        Unit(
            name=f"单位{index}-{i}",
            kind=rng.choice(UNIT_KINDS),
            self_checked=rng.random() > 0.2,
            evidence=["清单.pdf"],
        )
        for i in range(rng.randrange(1, 6))
    ]
    received = dt.date(2024, 6, 20) + dt.timedelta(days=rng.randrange(40))
    return base.model_copy(update={"received_on": received, "notice": notice, "units": units})


def _figure(table: SelfEvalTable, rng: random.Random) -> SelfEvalTable:
    """One indicator's stated score changed: the arithmetic and scoring facts change with it."""
    if not table.indicators:
        return table
    k = rng.randrange(len(table.indicators))
    row = table.indicators[k]
    value = rng.randrange(0, 11)
    score = Cell(text=str(value), raw=str(value), number=Decimal(value), location=row.score.location)
    rows = list(table.indicators)
    rows[k] = row.model_copy(update={"score": score})
    return table.model_copy(update={"indicators": rows})


def variant(base: Package, index: int) -> Package:
    """The `index`-th variation of `base`, made on the parsed model (deterministic)."""
    rng = random.Random(index)
    update: dict[str, Any] = {"dossier": _dossier(base.dossier, rng, index)}
    if base.report is not None and base.report.sections:
        sections = list(base.report.sections)
        for _ in range(rng.randrange(3)):
            sections.pop(rng.randrange(len(sections)))
        update["report"] = base.report.model_copy(update={"sections": sections})
    if base.department_table is not None and rng.random() < 0.5:
        update["department_table"] = _figure(base.department_table, rng)
    return base.model_copy(update=update)


def variant_json(base: Package, index: int) -> str:
    """`variant` as the engine's Package JSON (what a store keeps and a re-score reads)."""
    return variant(base, index).model_dump_json()
