"""Generated variations of the example package, for benchmarks (deterministic: seeded)."""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from typing import Any

from engine.dossier import assemble, parse_manifest
from engine.model import Package
from engine.rubric.registry import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"


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
        manifest["notice"] = {"issued": rng.random() > 0.1, "elements": rng.sample(elements, rng.randrange(len(elements) + 1)), "evidence": ["通知.pdf"]}
        manifest["units"] = [
            {"name": f"单位{i}", "kind": rng.choice(["本级", "所属单位", "转移支付项目单位"]), "self_checked": rng.random() > 0.2, "evidence": ["清单.pdf"]}
            for i in range(rng.randrange(1, 6))
        ]
        dropped = tuple(sorted(rng.sample(headings, rng.randrange(3))))
        if dropped not in texts:
            changed = text
            for heading in dropped:
                changed = changed.replace(heading + "\n", "", 1)
            texts[dropped] = changed
        out.append(assemble(parse_manifest(manifest, file="bench"), [("package.txt", texts[dropped])]))
    return out
