"""Errors as the API answers them: one envelope, field paths, messages in Chinese and English.

```
{"error": {"status": 422, "code": "invalid_package", "zh": "…", "en": "…",
           "problems": [{"path": "notice.issued", "zh": "应为 true 或 false", "en": "…"}],
           "request_id": "…"}}
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.diagnostics import PackageProblem

# Pydantic / FastAPI error types seen on request parameters and bodies, in Chinese. The engine
# has its own table for manifest fields (engine.dossier.problems_from); this one covers the rest.
_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知字段",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "greater_than_equal": "数值过小",
    "greater_than": "数值过小",
    "less_than_equal": "数值过大",
    "less_than": "数值过大",
    "string_type": "应为文本",
    "string_too_short": "不能为空",
    "string_too_long": "文本过长",
    "string_pattern_mismatch": "格式不正确",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "finite_number": "应为有限数字",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON",
    "too_short": "不能为空",
    "too_long": "项目过多",
    "value_error": "取值无效",
    "uuid_parsing": "应为 UUID",
}


def zh_for(error_type: str) -> str:
    """The Chinese message for a pydantic error type."""
    return _ZH.get(error_type, "取值无效")


@dataclass
class ApiError(Exception):
    """An error the API answers with its own status and envelope."""

    status: int
    code: str
    zh: str
    en: str
    problems: Sequence[PackageProblem] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        """The JSON envelope."""
        error: dict[str, Any] = {
            "status": self.status,
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
        }
        if self.problems:
            error["problems"] = [{"path": p.path, "zh": p.zh, "en": p.en} for p in self.problems]
        error.update(self.extra)
        if request_id:
            error["request_id"] = request_id
        return {"error": error}


def problems_from_errors(
    errors: Sequence[Any], *, skip_first: bool = False
) -> list[PackageProblem]:
    """FastAPI/pydantic error dicts as field paths with Chinese and English messages.

    `skip_first` drops the location kind FastAPI puts first ("query", "body", "path").
    """
    out: list[PackageProblem] = []
    for err in errors:
        loc = list(err.get("loc", ()))
        if skip_first and loc:
            loc = loc[1:] if loc[0] != "body" or len(loc) > 1 else loc
        path = ".".join(str(p) for p in loc) or "(body)"
        out.append(PackageProblem(path, zh_for(str(err.get("type", ""))), str(err.get("msg", ""))))
    return out


def unauthorized() -> ApiError:
    """401: no key, or a key that is not known."""
    return ApiError(
        401,
        "unauthorized",
        "需要有效的 API 密钥（Authorization: Bearer <key> 或 X-API-Key）",
        "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(
    zh: str = "当前角色无权执行此操作", en: str = "your role does not allow this"
) -> ApiError:
    """403: a known key whose role does not allow the request."""
    return ApiError(403, "forbidden", zh, en)


def not_found(what_zh: str, what_en: str) -> ApiError:
    """404 with what was not found."""
    return ApiError(404, "not_found", f"未找到{what_zh}", f"{what_en} not found")


def to_jsonable(value: Any) -> Any:
    """Decimals as JSON numbers (at most 2 places, as in reports), recursively."""
    from engine.decimals import json_number

    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


class ProblemOut(BaseModel):
    """One problem: a field path and the message in Chinese and English."""

    path: str
    zh: str
    en: str


class ErrorOut(BaseModel):
    """The error itself."""

    model_config = ConfigDict(extra="allow")

    status: int
    code: str
    zh: str
    en: str
    problems: list[ProblemOut] = []
    request_id: str | None = None


class ErrorBody(BaseModel):
    """Every error answer: `{"error": {...}}` (documented in the OpenAPI)."""

    error: ErrorOut
