"""Replay check: one sha256 over thousands of reports and imported packages, to compare two trees.

Run (in each tree, with that tree as working directory):
    .venv/bin/python bench/replay_check.py [--variants 100] [--texts 40] [--renditions]

It prints one line per part and a final `all` digest; an optimisation of the engine must give
the same digests as main's code. Parts:

- `import`: the Package JSON of every package read from text (the example, `--texts`
  variations of its text with report headings dropped and lines added), and of the other
  renditions with `--renditions` (.docx, .xlsx, .pdf; slow);
- `reports`: `render_json` of every package × every bundled rubric version × both modes × two
  as_of dates × both backends; the packages are the ones above plus `--variants` variations made
  on the parsed example (bench.corpus.variant);
- `digests`: `package_digest` of every package (replay identity of stored evaluations).

It uses only functions that exist on main too (engine.dossier, engine.evaluate, engine.rubric),
so the same script runs on a base tree: `cd /tmp/jixiao-base && .venv/bin/python
/path/to/this/bench/replay_check.py`. Not a test: a check to run before and after a change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import assemble, load_package, parse_manifest
from engine.evaluate import Evaluator, render_json
from engine.evaluate.run import package_digest
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "yueyang-kjj-2023"
DATES = (dt.date(2024, 6, 28), dt.date(2024, 8, 15))


def _text_variants(count: int) -> list[Package]:
    """The example read from `count` variations of its text (seeded)."""
    manifest: dict[str, Any] = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    names = manifest.get("documents", [])
    dossier = parse_manifest(manifest, file="dossier.toml")
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    headings = [
        line for line in text.splitlines() if line.startswith(("3、", "4、", "5、", "（2）"))
    ]
    rng = random.Random(13)
    out = [assemble(dossier, [(n, text) for n in names])]
    for i in range(count):
        changed = text
        for heading in rng.sample(headings, rng.randrange(3)):
            changed = changed.replace(heading + "\n", "", 1)
        changed += f"\n附注：第{i}份。\n"
        out.append(assemble(dossier, [(n, changed) for n in names]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--renditions", action="store_true")
    args = parser.parse_args()
    from bench.corpus import variant

    packages = _text_variants(args.texts)
    if args.renditions:
        for name in ("dossier-docx.toml", "dossier-xlsx.toml", "dossier-pdf.toml"):
            packages.append(load_package(EXAMPLE / name))
    imported = hashlib.sha256()
    for package in packages:
        imported.update(package.model_dump_json().encode() + b"\0")
    print(f"import   {len(packages):5d} packages  {imported.hexdigest()}", flush=True)
    packages += [variant(packages[0], i) for i in range(args.variants)]
    digests = hashlib.sha256()
    for package in packages:
        digests.update(package_digest(package).encode() + b"\0")
    print(f"digests  {len(packages):5d} packages  {digests.hexdigest()}", flush=True)
    rubrics = [
        load_rubric(path, [BUNDLED_RULES]) for path in sorted(BUNDLED_RUBRICS.glob("*/*.toml"))
    ]
    reports = hashlib.sha256()
    count = 0
    for backend in (DurableBackend(), PythonBackend()):
        evaluator = Evaluator(backend)
        for package in packages:
            for rubric in rubrics:
                for mode in ("bureau", "precheck"):
                    for as_of in DATES:
                        text = render_json(
                            evaluator.evaluate(package, rubric, mode=mode, as_of=as_of)
                        )
                        # Rule sources may carry the tree's own path: compare trees, not paths.
                        text = text.replace(str(REPO_ROOT), "<root>")
                        reports.update(text.encode() + b"\0")
                        count += 1
    print(f"reports  {count:5d} reports   {reports.hexdigest()}", flush=True)
    total = hashlib.sha256(
        (imported.hexdigest() + digests.hexdigest() + reports.hexdigest()).encode()
    )
    print(f"all      {total.hexdigest()}")


if __name__ == "__main__":
    main()
