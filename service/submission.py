"""A package as submitted over HTTP, kept verbatim so that it can be replayed.

Three forms, all turned into the engine's `Package` by the engine's own functions:

- `toml`: multipart, a part `manifest` (the manifest TOML) and parts `documents` (the files
  it lists, matched by file name);
- `json`: the manifest's fields as JSON, with `documents` as `[{"name", "text"}]`;
- `package`: `{"package": …}`, a parsed `Package` as the engine's JSON (engine/model/package.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.diagnostics import PackageError, PackageProblem
from engine.dossier import assemble, parse_manifest, problems_from, toml_error_zh
from engine.importers.text import TextLayout
from engine.model import Dossier, Package
from service.audit import canonical

Form = Literal["toml", "json", "package"]


class DocumentIn(BaseModel):
    """One document: its file name as listed in the manifest, and its text (or bytes, base64)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255, description="as listed in the manifest")
    text: str | None = Field(
        default=None, description="the document's text, e.g. a .txt in the seed's text layout"
    )
    base64: str | None = Field(
        default=None, description="the document's bytes, base64-encoded (instead of text)"
    )

    def content(self) -> str | bytes:
        """The text, or the decoded bytes."""
        if (self.text is None) == (self.base64 is None):
            raise ValueError("give exactly one of text and base64")
        if self.text is not None:
            return self.text
        return binascii.a2b_base64(self.base64 or "", strict_mode=True)


_DOCUMENTS = TypeAdapter(list[DocumentIn])

Content = str | bytes


def _invalid(path: str, zh: str, en: str, file: str = "request") -> PackageError:
    return PackageError(file, [PackageProblem(path, zh, en)])


def _stored(name: str, content: Content) -> dict[str, str]:
    """A document as stored: text when it is UTF-8 (which round-trips byte for byte), else base64."""
    if isinstance(content, bytes):
        try:
            return {"name": name, "text": content.decode("utf-8")}
        except UnicodeDecodeError:
            return {"name": name, "base64": base64.b64encode(content).decode("ascii")}
    return {"name": name, "text": content}


@dataclass(frozen=True)
class Submission:
    """What the client sent: the manifest (TOML text or JSON object) and the documents."""

    form: Form
    manifest: Any  # TOML text (toml), a JSON object (json), a Package JSON object (package)
    documents: tuple[tuple[str, Content], ...] = ()

    def to_json(self) -> str:
        """Canonical JSON, as stored."""
        return canonical(
            {
                "form": self.form,
                "manifest": self.manifest,
                "documents": [_stored(n, c) for n, c in self.documents],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Submission:
        """A stored submission."""
        data = json.loads(text)
        docs: list[tuple[str, Content]] = []
        for d in data["documents"]:
            docs.append((d["name"], d["text"] if "text" in d else base64.b64decode(d["base64"])))
        return cls(data["form"], data["manifest"], tuple(docs))

    # -- parsing ----------------------------------------------------------------------------

    def dossier(self) -> Dossier:
        """The manifest, validated by the engine (PackageError with field paths otherwise)."""
        if self.form == "toml":
            try:
                data = tomllib.loads(self.manifest)
            except tomllib.TOMLDecodeError as exc:
                raise _invalid("manifest", toml_error_zh(exc), str(exc), "manifest") from None
            return parse_manifest(data, file="manifest")
        if self.form == "json":
            body = dict(self.manifest) | {"documents": [n for n, _ in self.documents]}
            try:
                # JSON mode: dates arrive as "YYYY-MM-DD" strings, which strict JSON accepts.
                return Dossier.model_validate_json(json.dumps(body))
            except ValidationError as exc:
                raise PackageError("request", problems_from(exc)) from None
        return self.package().dossier

    def package(self, dossier: Dossier | None = None, layout: TextLayout | None = None) -> Package:
        """The engine's Package: documents parsed by the engine's importers with `layout`
        (the rubric bundle's)."""
        if self.form == "package":
            return self._parsed_package
        dossier = dossier or self.dossier()
        return assemble(dossier, self._documents_for(dossier), layout=layout)

    @cached_property
    def _parsed_package(self) -> Package:
        """The `package` form validated once (`dossier()` and `package()` both need it)."""
        try:
            return Package.model_validate_json(json.dumps(self.manifest))
        except ValidationError as exc:
            raise PackageError(
                "request", problems_from(exc, prefix="package", model=Package)
            ) from None

    def _documents_for(self, dossier: Dossier) -> list[tuple[str, bytes | str]]:
        """The documents in the manifest's order; each listed one sent once, nothing extra."""
        sent: dict[str, Content] = {}
        problems: list[PackageProblem] = []
        for name, content in self.documents:
            key = PurePosixPath(name).name
            if key in sent:
                problems.append(
                    PackageProblem(
                        "documents", f"文档「{key}」重复提交", f"document {key!r} sent twice"
                    )
                )
            sent[key] = content
        out: list[tuple[str, bytes | str]] = []
        for i, name in enumerate(dossier.documents):
            key = PurePosixPath(name).name
            if key not in sent:
                problems.append(
                    PackageProblem(
                        f"documents.{i}",
                        f"未提交清单所列的文档「{key}」",
                        f"document {key!r} listed in the manifest was not sent",
                    )
                )
            else:
                out.append((name, sent.pop(key)))
        for extra in sent:
            problems.append(
                PackageProblem(
                    "documents",
                    f"文档「{extra}」不在清单的 documents 中",
                    f"document {extra!r} is not listed in the manifest's documents",
                )
            )
        if problems:
            raise PackageError("request", problems)
        return out


def from_json_body(raw: bytes) -> Submission:
    """A JSON request body: the manifest's fields plus `documents`, or `{"package": …}`."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _invalid("(body)", "JSON 格式错误", f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("(body)", "应为 JSON 对象", "the body must be a JSON object")
    if "package" in body:
        if len(body) != 1:
            extra = ", ".join(sorted(k for k in body if k != "package"))
            raise _invalid(
                "(body)",
                f"提交 package 时不能再有其他字段：{extra}",
                f"a body with `package` takes no other fields: {extra}",
            )
        if not isinstance(body["package"], dict):
            raise _invalid("package", "应为对象", "`package` must be an object")
        return Submission("package", body["package"])
    documents = body.pop("documents", None)
    if documents is None:
        raise _invalid(
            "documents",
            "缺少必填项（[{name, text}] 形式的文档列表）",
            "missing: a list of documents as [{name, text}]",
        )
    try:
        docs = _DOCUMENTS.validate_python(documents)
    except ValidationError as exc:
        raise PackageError(
            "request", problems_from(exc, prefix="documents", model=DocumentIn)
        ) from None
    contents: list[tuple[str, Content]] = []
    for i, doc in enumerate(docs):
        try:
            contents.append((doc.name, doc.content()))
        except (ValueError, binascii.Error) as exc:
            raise _invalid(
                f"documents.{i}", "须给出 text 或 base64 之一（且 base64 有效）", str(exc)
            ) from None
    return Submission("json", body, tuple(contents))


def from_multipart(manifest: str | None, documents: list[tuple[str, bytes]]) -> Submission:
    """A multipart body: the manifest TOML and the uploaded documents (file name, bytes)."""
    if manifest is None:
        raise _invalid(
            "manifest",
            "缺少 manifest 部分（清单 TOML）",
            "missing part `manifest` (the manifest TOML)",
        )
    return Submission("toml", manifest, tuple(documents))
