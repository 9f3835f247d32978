"""`jixiao rubric lint`: every rubric, rule set and data file under a folder, all problems at once.

Also the committed JSON Schemas of the formats (generated from the pydantic models, so editors
validate the TOML through its `#:schema` header) and publishing a version into the lock file.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engine.diagnostics import Code, Diagnostic, RubricError
from engine.rubric.datafiles import DATA_KINDS, load_data
from engine.rubric.load import (
    LOCK_FILE,
    check_published,
    lint_rule_set,
    load_rubric,
    read_lock,
    shown_name,
)
from engine.rubric.registry import REPO_ROOT
from engine.rubric.schema import RubricSpec, RuleSetSpec

SCHEMA_DIR = REPO_ROOT / "schema"


def lint_file(path: Path, rules_dirs: list[Path]) -> list[Diagnostic]:
    """The problems of one TOML file, whatever it holds."""
    shown = shown_name(path)
    kind = DATA_KINDS.get(path.parent.name)
    if kind is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return [Diagnostic(shown, 1, 1, Code.JX015, f"cannot read file: {exc}")]
        _loaded, diags = load_data(kind, raw, shown)
        return diags + check_published(path, shown, path.parent.name, path.stem, raw)
    try:
        data = tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}  # load_rubric / lint_rule_set report it with its position
    if "items" in data or "sections" in data:
        try:
            load_rubric(path, rules_dirs, shown=shown)
        except RubricError as exc:
            return exc.diagnostics
        return []
    return lint_rule_set(path, shown=shown)


def lint_tree(dirs: list[Path], rules_dirs: list[Path]) -> tuple[list[Diagnostic], int]:
    """(every diagnostic, number of files checked) for `<dir>/*/*.toml` in each folder."""
    diags: list[Diagnostic] = []
    files = sorted(p for d in dirs for p in d.glob("*/*.toml"))
    for path in files:
        diags.extend(lint_file(path, rules_dirs))
    return sorted(set(diags)), len(files)


# -- JSON Schema ------------------------------------------------------------------------------


def _models() -> dict[str, type[BaseModel]]:
    from engine.lifecycle.casesuite import Suite
    from engine.model import Dossier

    return {"rubric": RubricSpec, "rule-set": RuleSetSpec, "dossier": Dossier, "case-suite": Suite}


def schemas() -> dict[str, str]:
    """File name -> JSON Schema text, generated from the pydantic models."""
    out = {}
    for name, model in _models().items():
        schema: dict[str, Any] = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://jixiao.local/schema/{name}.schema.json"
        out[f"{name}.schema.json"] = (
            json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        )
    return out


def write_schemas(target: Path = SCHEMA_DIR) -> list[Path]:
    """Regenerate the committed schemas."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schemas().items():
        (target / name).write_text(text, "utf-8")
        written.append(target / name)
    return written


# -- publishing -------------------------------------------------------------------------------


def publish(path: Path) -> str:
    """Record a version's sha256 in its tree's lock file; refuse to change an existing entry."""
    raw = path.read_bytes()
    if path.parent.name in DATA_KINDS:  # a data file has no id: it is its folder and version
        ident, version = path.parent.name, path.stem
    else:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
        ident, version = str(data["id"]), str(data["version"])
    lock = path.parent.parent / LOCK_FILE
    digest = hashlib.sha256(raw).hexdigest()
    existing = read_lock(lock)
    if (ident, version) in existing:
        if existing[(ident, version)] != digest:
            raise RubricError(
                [
                    Diagnostic(
                        shown_name(path),
                        1,
                        1,
                        Code.JX016,
                        f"{ident}@{version} is already published with another sha256",
                    )
                ]
            )
        return digest
    header = (
        ""
        if lock.is_file()
        else (
            "# Published versions: (id, version) -> sha256 of the file. An entry is never edited or\n"
            "# removed; the loader refuses a file that no longer matches (JX016).\n"
        )
    )
    with lock.open("a", encoding="utf-8") as out:
        out.write(
            f'{header}\n[[published]]\nid = "{ident}"\nversion = "{version}"\nsha256 = "{digest}"\n'
        )
    return digest
