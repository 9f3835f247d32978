"""A folder of generated dossiers (manifest + document) for batch scoring, some of them broken.

Run: .venv/bin/python -m bench.dossiers OUT [--count 200] [--broken 5] [--seed 2023]

Each `OUT/dNNN/` holds a `dossier.toml` and its `package.txt`: the example's manifest with its
department, dates, notice elements and units varied, and its text with up to two report
section headings dropped. `--broken` of them cannot be scored, each in its own way (a TOML
syntax error, a missing document, a wrong type, a field the schema refuses, a fiscal year no
rubric covers), spread over the folder. Deterministic: the same arguments give the same files.
Used by the batch tests (a few dossiers) and the batch benchmark (docs/performance.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from engine.rubric.registry import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
UNIT_KINDS = ("本级", "所属单位", "转移支付项目单位")
# How the broken dossiers are broken, in turn.
BREAKAGES = (
    "toml-syntax",
    "missing-document",
    "wrong-type",
    "unknown-key",
    "uncovered-year",
)


def _toml(value: Any) -> str:
    """A TOML value (strings, bools, ints, dates, lists of these); json quoting is TOML-valid."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | dt.date):
        return str(value) if not isinstance(value, dt.date) else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _manifest(fields: dict[str, Any]) -> str:
    lines = []
    tables = []
    for key, value in fields.items():
        if isinstance(value, dict):
            tables.append(f"\n[{key}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in value.items()))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for entry in value:
                tables.append(
                    f"\n[[{key}]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in entry.items())
                )
        else:
            lines.append(f"{key} = {_toml(value)}\n")
    return "".join(lines) + "".join(tables)


def _variant(base: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    elements = list(base["notice"]["elements"])
    received = dt.date(2024, 6, 20) + dt.timedelta(days=rng.randrange(30))
    return {
        "department": f"生成部门{index:03d}",
        "fiscal_year": base["fiscal_year"],
        "received_on": received,
        "deadline": base["deadline"],
        "documents": ["package.txt"],
        "notice": {
            "issued": rng.random() > 0.1,
            "elements": rng.sample(elements, len(elements) - rng.randrange(3)),
            "evidence": ["通知.pdf"],
        },
        "working_group": {"established": rng.random() > 0.1, "evidence": ["领导小组文件.pdf"]},
        "units": [
            {
                "name": f"生成部门{index:03d}单位{u}",
                "kind": "本级" if u == 0 else rng.choice(UNIT_KINDS[1:]),
                "self_checked": u == 0 or rng.random() > 0.2,
            }
            for u in range(rng.randrange(1, 5))
        ],
    }


def _break(manifest: str, how: str) -> tuple[str, bool]:
    """(broken manifest text, whether package.txt is written)."""
    if how == "toml-syntax":
        return manifest.replace('"\nfiscal_year', "\nfiscal_year", 1), True  # unclosed string
    if how == "missing-document":
        return manifest, False
    if how == "wrong-type":
        return manifest.replace("issued = true", 'issued = "是"', 1).replace(
            "issued = false", 'issued = "否"', 1
        ), True
    if how == "unknown-key":
        return manifest.replace("fiscal_year =", "fiscal_yaer =", 1), True
    return manifest.replace("fiscal_year = ", "fiscal_year = 1", 1), True  # e.g. 12023


def generate(out: Path, count: int, broken: int = 0, seed: int = 2023) -> list[Path]:
    """Write `count` dossiers under `out` (`broken` of them broken); their manifests, in order."""
    if broken > count:
        raise ValueError("more broken dossiers than dossiers")
    base: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    headings = [line for line in text.splitlines() if line.startswith(("3、", "4、", "5、"))]
    # Broken ones spread evenly over the folder, not bunched at its start.
    broken_at = {k * count // broken + count // (2 * broken): k for k in range(broken)} if broken else {}
    paths = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        folder = out / f"d{index:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = _manifest(_variant(base, rng, index))
        body = text
        for heading in sorted(rng.sample(headings, rng.randrange(3))):
            body = body.replace(heading + "\n", "", 1)
        write_text = True
        if index in broken_at:
            manifest, write_text = _break(manifest, BREAKAGES[broken_at[index] % len(BREAKAGES)])
        (folder / "dossier.toml").write_text(manifest, "utf-8")
        if write_text:
            (folder / "package.txt").write_text(body, "utf-8")
        paths.append(folder / "dossier.toml")
    return paths


def zip_folder(folder: Path) -> bytes:
    """Every file below `folder`, zipped with paths relative to it (what `POST /v1/batches` takes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def main() -> None:
    """Command line: write the folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--broken", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2023)
    args = parser.parse_args()
    paths = generate(args.out, args.count, args.broken, args.seed)
    print(f"{len(paths)} dossiers in {args.out} ({args.broken} broken)")


if __name__ == "__main__":
    main()
