"""Checks on a Word or Excel file before any parser sees it: size, zip structure, zip bombs,
encryption. Every refusal is a PackageError with a Chinese and an English message."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Literal

from engine.diagnostics import PackageError, PackageProblem
from engine.importers._layout import LimitsLayout

Kind = Literal["docx", "xlsx", "xls"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names of an encrypted OOXML file (MS-OFFCRYPTO): the zip is inside an OLE container.
_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
# The part every package of the kind must have.
_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
_LABEL = {"docx": ("Word", ".docx"), "xlsx": ("Excel", ".xlsx"), "xls": ("Excel 97-2003", ".xls")}


def refuse(name: str, zh: str, en: str) -> PackageError:
    """A PackageError about document `name`."""
    return PackageError(name, [PackageProblem("documents", zh, en)])


def check_size(name: str, data: bytes, limits: LimitsLayout) -> None:
    """Refuse a file larger than the cap."""
    if len(data) > limits.max_document_bytes:
        raise refuse(
            name,
            f"文档过大（{len(data)} 字节，上限 {limits.max_document_bytes} 字节）",
            f"document too large ({len(data)} bytes, limit {limits.max_document_bytes})",
        )


def _ole_stream_names(data: bytes) -> set[str]:
    """Stream names in an OLE compound file's directory, best effort (empty when unreadable)."""
    try:
        import olefile  # type: ignore[import-untyped]

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # an unreadable OLE file is refused by the caller anyway
        return set()


def open_zip(name: str, data: bytes, kind: Kind, limits: LimitsLayout) -> None:
    """Refuse a .docx/.xlsx that is not a sane Office zip. Returns when the parsers may read it."""
    label, suffix = _LABEL[kind]
    check_size(name, data, limits)
    if data.startswith(OLE_MAGIC):
        streams = _ole_stream_names(data)
        if any(stream in streams for stream in _ENCRYPTED_STREAMS):
            raise refuse(
                name,
                f"{label} 文件设有密码保护（已加密），请取消密码后重新提交",
                f"the {label} file is password-protected (encrypted); remove the password and resubmit",
            )
        raise refuse(
            name,
            f"这是旧版二进制格式（.doc/.xls），不是 {suffix}；请另存为 {suffix} 后重新提交",
            f"this is a legacy binary Office file (.doc/.xls), not {suffix}; save it as {suffix}",
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise refuse(
            name,
            f"不是有效的 {label} 文件（不是 zip 压缩包）",
            f"not a valid {label} file (not a zip archive)",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise refuse(
            name, f"{label} 文件已损坏（zip 结构错误）", f"corrupt {label} file: {exc}"
        ) from None
    if len(infos) > limits.max_zip_entries:
        raise refuse(
            name,
            f"文件内条目过多（{len(infos)} 个，上限 {limits.max_zip_entries}）",
            f"too many zip entries ({len(infos)}, limit {limits.max_zip_entries})",
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_checked_above_bytes and ratio > limits.max_entry_ratio:
            raise refuse(
                name,
                f"疑似压缩炸弹：条目 {info.filename} 压缩比 {ratio:.0f}:1 超过上限 "
                f"{limits.max_entry_ratio}:1",
                f"suspected zip bomb: entry {info.filename} expands {ratio:.0f}:1 "
                f"(limit {limits.max_entry_ratio}:1)",
            )
    if total > limits.max_uncompressed_bytes:
        raise refuse(
            name,
            f"疑似压缩炸弹：解压后共 {total} 字节，超过上限 {limits.max_uncompressed_bytes} 字节",
            f"suspected zip bomb: {total} bytes uncompressed "
            f"(limit {limits.max_uncompressed_bytes})",
        )
    _refuse_doctype(name, data, infos, label)
    names = {info.filename for info in infos}
    if _MAIN_PART[kind] not in names:
        raise refuse(
            name,
            f"不是有效的 {label} 文件（缺少 {_MAIN_PART[kind]}）",
            f"not a valid {label} file (no {_MAIN_PART[kind]} in the zip)",
        )


def _refuse_doctype(name: str, data: bytes, infos: list[zipfile.ZipInfo], label: str) -> None:
    """Office XML never declares a DTD; one that does is an entity-expansion or XXE attempt.

    A DOCTYPE can only stand in the prolog, so the first bytes of each XML part suffice.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in infos:
            if not info.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(info) as handle:
                    head = handle.read(4096)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise refuse(
                    name,
                    f"{label} 文件已损坏（无法解压 {info.filename}）",
                    f"corrupt entry {info.filename}: {exc}",
                ) from None
            if b"<!DOCTYPE" in head.upper() or b"<\x00!\x00D\x00O\x00C" in head.upper():
                raise refuse(
                    name,
                    f"{label} 文件含有不允许的 DTD 声明（{info.filename}）",
                    f"{label} file declares a DTD in {info.filename} (not allowed)",
                )


def check_xls(name: str, data: bytes, limits: LimitsLayout) -> None:
    """Refuse an .xls that is not an OLE workbook, or one protected by a password."""
    check_size(name, data, limits)
    if not data.startswith(OLE_MAGIC):
        if zipfile.is_zipfile(io.BytesIO(data)):
            raise refuse(
                name,
                "文件扩展名为 .xls，但内容是 .xlsx；请改用 .xlsx 扩展名",
                "the file is named .xls but is an .xlsx workbook; rename it to .xlsx",
            )
        raise refuse(
            name,
            "不是有效的 Excel 97-2003（.xls）文件",
            "not a valid Excel 97-2003 (.xls) file",
        )
    streams = _ole_stream_names(data)
    if any(stream in streams for stream in _ENCRYPTED_STREAMS) or xls_has_filepass(data):
        raise refuse(
            name,
            "Excel 文件设有密码保护（已加密），请取消密码后重新提交",
            "the Excel file is password-protected (encrypted); remove the password and resubmit",
        )


_FILEPASS = 0x002F
_EOF = 0x000A


def biff_has_filepass(stream: bytes) -> bool:
    """Whether a BIFF8 workbook stream's globals carry a FILEPASS record (the file is encrypted).

    FILEPASS, when present, follows the first BOF record and precedes the globals' EOF; records
    are (type: u16, length: u16, payload).
    """
    offset = 0
    while offset + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, offset)
        if record == _FILEPASS:
            return True
        if record == _EOF:
            return False
        offset += 4 + length
    return False


def xls_has_filepass(data: bytes) -> bool:
    """Whether an .xls file's Workbook stream is encrypted (best effort)."""
    try:
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for stream in ("Workbook", "Book"):
                if ole.exists(stream):
                    return biff_has_filepass(ole.openstream(stream).read())
    except Exception:  # unreadable: calamine reports it
        return False
    return False
