"""Read a dossier: the manifest TOML plus the documents it lists, into one `Package`."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from engine import labels
from engine.diagnostics import PackageError, PackageProblem
from engine.importers._layout import TextLayout
from engine.model import Dossier, Package
from engine.model.package import MISSING_PART, ImportWarning, Location

_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知字段",
    "bool_type": "应为 true 或 false",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间",
    "int_type": "应为整数",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "model_type": "应为表（table）",
    "dict_type": "应为表（table）",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "literal_error": "取值不在允许范围内",
    "decimal_type": "应为数字",
}


def problems_from(
    exc: ValidationError, prefix: str = "", model: type[BaseModel] = Dossier
) -> list[PackageProblem]:
    """Pydantic errors as field paths with Chinese and English messages; an unknown key gets
    the closest known key of its table ("did you mean")."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        zh, en = _ZH.get(err["type"], "取值无效"), err["msg"]
        if err["type"] == "extra_forbidden" and err["loc"]:
            close = difflib.get_close_matches(
                str(err["loc"][-1]), _fields_at(model, err["loc"][:-1]), n=1, cutoff=0.6
            )
            if close:
                zh, en = f"{zh}（是否应为 {close[0]}？）", f"{en} (did you mean {close[0]!r}?)"
        out.append(PackageProblem(path or "(root)", zh, en))
    return out


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the (nested) model at `loc`, or [] where that is not a model."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of the same model
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The model inside an annotation such as `Notice | None` or `list[Unit]`."""
    if _is_model(annotation):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_error_zh(exc: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error in Chinese, with its line and column (tomllib says them in English)."""
    found = _AT.search(str(exc))
    if found is None:
        return "TOML 格式错误"
    return f"TOML 格式错误（第 {found.group(1)} 行第 {found.group(2)} 列）"


def parse_manifest(data: dict[str, Any], *, file: str) -> Dossier:
    """Validate manifest data into a Dossier, or raise PackageError with every problem."""
    try:
        return Dossier.model_validate(data)
    except ValidationError as exc:
        raise PackageError(file, problems_from(exc)) from None


def read_manifest(path: Path) -> Dossier:
    """Read and validate a dossier manifest TOML."""
    shown = str(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PackageError(
            shown, [PackageProblem("(file)", "找不到文件", "file not found")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackageError(
            shown, [PackageProblem("(file)", "无法读取文件", f"cannot read file: {exc}")]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackageError(shown, [PackageProblem("(toml)", toml_error_zh(exc), str(exc))]) from None
    return parse_manifest(data, file=shown)


def load_package(path: Path, layout: TextLayout | None = None) -> Package:
    """The manifest at `path` and its documents (relative to it), parsed into a Package.

    `layout` is the rubric bundle's; without one, the default layout of the checkout.
    """
    dossier = read_manifest(path)
    return assemble(
        dossier,
        [(name, _read_document(path.parent / name)) for name in dossier.documents],
        layout=layout,
    )


def _read_document(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PackageError(
            str(path), [PackageProblem("documents", "找不到文档", "document not found")]
        ) from None
    except OSError as exc:
        raise PackageError(
            str(path), [PackageProblem("documents", "无法读取文档", f"cannot read document: {exc}")]
        ) from None


def assemble(
    dossier: Dossier,
    documents: list[tuple[str, bytes | str]],
    *,
    layout: TextLayout | None = None,
) -> Package:
    """Parse each document and merge them into one package, in the manifest's order.

    A document is given as bytes (any supported type) or, for text documents, as str.
    `layout` is the rubric bundle's (`Rubric.layout`).
    """
    from engine.importers.dispatch import import_document

    basic = department = report = None
    projects = []
    warnings = []
    for name, data in documents:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        imported = import_document(name, raw, layout=layout)
        basic = basic or imported.basic_data
        department = department or imported.department_table
        report = report or imported.report
        projects.extend(imported.project_tables)
        warnings.extend(imported.warnings)
    parts = {
        "basic_data": basic,
        "department": department,
        "project": projects,
        "report": report,
    }
    where = Location(document=documents[0][0] if documents else "package")
    warnings.extend(
        ImportWarning(
            code=MISSING_PART,
            message=f"the package has no {kind} part: scored as not provided",
            location=where,
            text=labels.PARTS[kind],
        )
        for kind, found in parts.items()
        if not found
    )
    try:
        return Package(
            dossier=dossier,
            basic_data=basic,
            department_table=department,
            project_tables=projects,
            report=report,
            warnings=warnings,
        )
    except ValidationError as exc:
        raise PackageError(
            documents[0][0] if documents else "package",
            [PackageProblem("documents", "表格中有负数金额或数值", str(exc.errors()[0]["msg"]))],
        ) from None
