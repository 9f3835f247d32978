"""The upload page's forms: a manifest file plus documents, or the manifest's fields typed in.

Both become the service's own `Submission` (TOML, or the JSON form of the manifest), which
`EvaluationService.create` validates and scores exactly as for the API. Problems come back with
field paths (`notice.issued`, `units.0.kind`, `documents.0`); here each path is mapped to the
form field that caused it, so the message can stand next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.diagnostics import PackageProblem
from service.errors import ApiError
from service.submission import Submission, from_multipart

UNIT_ROWS = 6
FORM_LEVEL = "_form"
# The fields' names as the page labels them, for the summary above the forms.
LABELS = {
    "manifest": "清单文件",
    "documents": "文档",
    "as_of": "评价日期",
    "rubric": "评分表",
    "department": "被评部门",
    "fiscal_year": "评价年度",
    "received_on": "财政局收到日期",
    "deadline": "报送截止日期",
    "notice_issued": "是否印发通知",
    "notice_elements": "通知包含的内容",
    "notice_evidence": "通知佐证文件",
    "wg_established": "是否成立工作小组",
    "wg_evidence": "工作小组佐证文件",
    "units": "开展自查的单位",
    "attachments": "部门另列的附件",
} | {
    f"units-{i}-{part}": f"第 {i + 1} 个单位{label}"
    for i in range(UNIT_ROWS)
    for part, label in (
        ("name", "名称"),
        ("kind", "类型"),
        ("self_checked", "是否自查"),
        ("evidence", "佐证文件"),
    )
}
_SPLIT = re.compile(r"[\n,，、;；]+")


@dataclass
class FormErrors:
    """Messages by form field name (FORM_LEVEL: the form as a whole)."""

    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def get(self, name: str) -> list[str]:
        return self.by_field.get(name, [])


def split_list(text: str) -> list[str]:
    """A list typed in one box: one per line, or separated by commas / 、 / semicolons."""
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


def _tri(value: str) -> bool | None:
    """A 是 / 否 / 未填写 select: True, False or None (None = not provided)."""
    return {"true": True, "false": False}.get(value)


def manifest_from_fields(form: dict[str, Any], unit_rows: int = UNIT_ROWS) -> dict[str, Any]:
    """The manifest as the JSON body's fields; absent answers stay absent (= not provided)."""
    manifest: dict[str, Any] = {"department": form.get("department", "").strip()}
    year = form.get("fiscal_year", "").strip()
    manifest["fiscal_year"] = int(year) if year.isdigit() else year
    for key in ("received_on", "deadline", "as_of"):
        value = form.get(key, "").strip()
        if value:
            manifest[key] = value
    issued = _tri(form.get("notice_issued", ""))
    elements = [
        *form.get("notice_elements", []),
        *split_list(form.get("notice_elements_other", "")),
    ]
    notice_evidence = split_list(form.get("notice_evidence", ""))
    if issued is not None or elements or notice_evidence:
        manifest["notice"] = {"issued": issued, "elements": elements, "evidence": notice_evidence}
    established = _tri(form.get("wg_established", ""))
    wg_evidence = split_list(form.get("wg_evidence", ""))
    if established is not None or wg_evidence:
        manifest["working_group"] = {"established": established, "evidence": wg_evidence}
    units = []
    for i in range(unit_rows):
        name = form.get(f"units-{i}-name", "").strip()
        kind = form.get(f"units-{i}-kind", "").strip()
        if not name and not kind:
            continue
        units.append(
            {
                "name": name,
                "kind": kind,
                "self_checked": _tri(form.get(f"units-{i}-self_checked", "")),
                "evidence": split_list(form.get(f"units-{i}-evidence", "")),
            }
        )
    if units:
        manifest["units"] = units
    attachments = split_list(form.get("attachments", ""))
    if attachments:
        manifest["attachments"] = attachments
    return manifest


def fields_submission(
    form: dict[str, Any], documents: Sequence[tuple[str, bytes]], unit_rows: int = UNIT_ROWS
) -> Submission:
    """The typed-in manifest and the uploaded documents, as the service's JSON submission."""
    return Submission("json", manifest_from_fields(form, unit_rows), tuple(documents))


def file_submission(manifest: bytes | None, documents: Sequence[tuple[str, bytes]]) -> Submission:
    """A manifest file and documents, as the service's multipart submission."""
    text = None
    if manifest:
        try:
            text = manifest.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(
                422,
                "invalid_package",
                "清单不是 UTF-8 文本",
                "the manifest is not UTF-8 text",
                problems=[PackageProblem("manifest", "清单不是 UTF-8 文本", "not UTF-8")],
            ) from None
    return from_multipart(text, list(documents))


_FIELD_PATHS = {
    "notice.issued": "notice_issued",
    "notice.elements": "notice_elements",
    "notice.evidence": "notice_evidence",
    "notice": "notice_issued",
    "working_group.established": "wg_established",
    "working_group.evidence": "wg_evidence",
    "working_group": "wg_established",
}
_TOP = {"department", "fiscal_year", "received_on", "deadline", "as_of", "attachments", "units"}
_UNIT = re.compile(r"^units\.(\d+)\.(name|kind|self_checked|evidence)")
_RUBRIC_CODES = {"rubric_not_found", "rubric_required", "rubric_invalid", "rubric_changed"}


def field_for(path: str, kind: str) -> str:
    """The form field a problem's path belongs to (`kind`: "fields" or "file")."""
    if path == "documents" or path.startswith("documents."):
        return "documents"
    if kind == "file":
        # Every manifest field is inside the uploaded file: its box carries the message.
        return "as_of" if path == "as_of" else "manifest"
    unit = _UNIT.match(path)
    if unit:
        return f"units-{unit.group(1)}-{unit.group(2)}"
    for prefix, name in _FIELD_PATHS.items():
        if path == prefix or path.startswith(prefix + "."):
            return name
    head = path.split(".", maxsplit=1)[0]
    return head if head in _TOP else FORM_LEVEL


def errors_from(exc: ApiError, kind: str) -> FormErrors:
    """An error of `EvaluationService.create`, as messages next to the fields, in Chinese."""
    errors = FormErrors()
    if exc.code in _RUBRIC_CODES:
        errors.add("rubric", exc.zh)
        return errors
    if exc.code == "forbidden":
        errors.add("department" if kind == "fields" else "manifest", exc.zh)
        return errors
    if not exc.problems:
        errors.add(FORM_LEVEL, exc.zh)
        return errors
    for problem in exc.problems:
        name = field_for(problem.path, kind)
        shown = problem.zh
        if name in ("manifest", FORM_LEVEL) and problem.path not in ("manifest", "(body)"):
            shown = f"{problem.path}：{problem.zh}"  # the box holds many fields: name this one
        elif problem.path == "documents" and exc.extra.get("file"):
            shown = f"{exc.extra['file']}：{problem.zh}"  # which of the uploaded files
        errors.add(name, shown)
    return errors


def documents_from(uploads: Iterable[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Uploaded files with a name (an empty file input sends one nameless, empty part)."""
    return [(name, data) for name, data in uploads if name]
