"""Hostile or broken files: a PackageError with a Chinese and an English message, never a crash."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from documents_support import EXAMPLE, FIXTURES

from engine.diagnostics import PackageError
from engine.importers import default_layout
from engine.importers._container import biff_has_filepass
from engine.importers.dispatch import import_document

SEED_XLSX = (EXAMPLE / "package.xlsx").read_bytes()
SEED_DOCX = (EXAMPLE / "package.docx").read_bytes()


def refused(name: str, data: bytes) -> str:
    with pytest.raises(PackageError) as caught:
        import_document(name, data)
    error = caught.value
    assert error.file == name
    assert error.problems
    assert all(p.zh and p.en for p in error.problems)
    return str(error)


@pytest.mark.parametrize("name", ["package.docx", "package.xlsx"])
def test_not_a_zip(name: str) -> None:
    message = refused(name, b"%PDF-1.7 this is not an office file")
    assert "不是 zip 压缩包" in message
    assert "not a zip archive" in message


def test_truncated_zip() -> None:
    refused("package.xlsx", SEED_XLSX[: len(SEED_XLSX) // 2])


def test_zip_without_the_main_part() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    assert "word/document.xml" in refused("package.docx", buffer.getvalue())


def _bomb(main: str) -> bytes:
    """A small zip whose one entry inflates 50 MB of zeros (about 50 KB compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main, b"\0" * 50_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "main"), [("bomb.docx", "word/document.xml"), ("bomb.xlsx", "xl/workbook.xml")]
)
def test_zip_bomb(name: str, main: str) -> None:
    data = _bomb(main)
    assert len(data) < 200_000
    message = refused(name, data)
    assert "压缩炸弹" in message
    assert "zip bomb" in message


def test_zip_bomb_by_total_size() -> None:
    """Many entries, each under the ratio check, adding up past the uncompressed cap."""
    limits = default_layout().limits.model_copy(update={"max_uncompressed_bytes": 1_000_000})
    layout = default_layout().model_copy(update={"limits": limits})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for index in range(30):
            archive.writestr(f"word/media/blob{index}.bin", bytes(range(256)) * 200)
    with pytest.raises(PackageError, match="uncompressed"):
        import_document("bomb.docx", buffer.getvalue(), layout=layout)


def test_doctype_is_refused() -> None:
    """Office XML has no DTD: a billion-laughs or XXE attempt is refused before parsing."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SEED_DOCX)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(
                    b"?>", b'?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1
                )
            target.writestr(info, data)
    assert "DTD" in refused("evil.docx", buffer.getvalue())


def _sheet_with_cell_at(ref: str) -> bytes:
    """The seed workbook with one more cell far away on its first sheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SEED_XLSX)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                data = data.replace(
                    b"</sheetData>",
                    f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'.encode(),
                )
            target.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize("ref", ["A1048576", "XFD1", "A6000"])
def test_huge_sheet(ref: str) -> None:
    message = refused("huge.xlsx", _sheet_with_cell_at(ref))
    assert "过大" in message
    assert "too large" in message


def test_a_far_cell_inside_the_caps_is_read() -> None:
    from engine.importers.dispatch import import_document as read

    docs = read("far.xlsx", _sheet_with_cell_at("A4000"))
    assert docs.basic_data is not None
    assert any(w.text == "x" for w in docs.warnings)


def test_huge_merged_range() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SEED_XLSX)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<mergeCell ref="', b'<mergeCell ref="A1:XFD1048576"/><mergeCell ref="', 1
                )
            target.writestr(info, data)
    refused("merged.xlsx", buffer.getvalue())


@pytest.mark.parametrize("name", ["encrypted.docx", "encrypted.xlsx", "encrypted.xls"])
def test_password_protected(name: str) -> None:
    message = refused(name, (FIXTURES / name).read_bytes())
    assert "密码保护" in message
    assert "password-protected" in message


def test_biff_filepass_detection() -> None:
    bof = struct.pack("<HH", 0x0809, 4) + b"\0" * 4
    filepass = struct.pack("<HH", 0x002F, 6) + b"\0" * 6
    eof = struct.pack("<HH", 0x000A, 0)
    assert biff_has_filepass(bof + filepass + eof)
    assert not biff_has_filepass(bof + eof + filepass)


def test_legacy_doc_named_docx() -> None:
    # An unencrypted OLE file under a .docx name: a Word 97-2003 .doc, say so.
    message = refused("old.docx", (FIXTURES / "package.xls").read_bytes())
    assert "旧版二进制格式" in message


def test_xlsx_named_xls() -> None:
    assert "rename it to .xlsx" in refused("package.xls", SEED_XLSX)


def test_garbage_xls() -> None:
    refused("package.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)


def test_broken_xml_inside_a_valid_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SEED_DOCX)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data[: len(data) // 2]
            target.writestr(info, data)
    refused("broken.docx", buffer.getvalue())


def test_document_too_large() -> None:
    layout = default_layout()
    data = b"x" * (layout.limits.max_document_bytes + 1)
    for name in ("big.txt", "big.docx", "big.xlsx", "big.xls"):
        assert "过大" in refused(name, data)


def test_unsupported_type() -> None:
    message = refused("package.odt", b"PK\x03\x04")
    assert ".docx" in message
    assert ".xlsx" in message


def test_limits_are_layout_parameters(tmp_path: Path) -> None:
    """The caps live in rules/layout/2024.1.toml [limits]; a stricter layout refuses the seed."""
    from engine.importers import load_layout

    text = (Path(__file__).resolve().parents[2] / "rules/layout/2024.1.toml").read_text("utf-8")
    assert "[limits]" in text
    strict = text.replace("max_rows = 5_000", "max_rows = 20")
    (tmp_path / "layout.toml").write_text(strict, "utf-8")
    layout = load_layout(tmp_path / "layout.toml")
    assert layout.limits.max_rows == 20
    with pytest.raises(PackageError):
        import_document("package.xlsx", SEED_XLSX, layout=layout)
    with pytest.raises(PackageError):
        import_document("package.docx", SEED_DOCX, layout=layout)


# --- PDF ---------------------------------------------------------------------------------------

SEED_PDF = (EXAMPLE / "package.pdf").read_bytes()


def minimal_pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (1 is the catalog), with a correct xref table."""
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def _flate_bomb(size: int) -> bytes:
    """One page whose content stream inflates `size` bytes of spaces (a PDF zip bomb)."""
    import zlib

    stream = zlib.compress(b" " * size, 9)
    return minimal_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            + stream
            + b"\nendstream",
        ]
    )


def _layout_with(**limits: object):  # type: ignore[no-untyped-def]
    layout = default_layout()
    return layout.model_copy(update={"limits": layout.limits.model_copy(update=limits)})


def refused_with(name: str, data: bytes, layout) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PackageError) as caught:
        import_document(name, data, layout=layout)
    assert caught.value.file == name
    assert all(p.zh and p.en for p in caught.value.problems)
    return str(caught.value)


def test_encrypted_pdf() -> None:
    message = refused("encrypted.pdf", (FIXTURES / "encrypted.pdf").read_bytes())
    assert "密码保护" in message
    assert "password-protected" in message


@pytest.mark.parametrize(
    "data",
    [
        SEED_PDF[: len(SEED_PDF) // 3],
        (FIXTURES / "broken.pdf").read_bytes(),
        b"%PDF-1.7\n" + b"\0" * 600,
    ],
    ids=["truncated", "broken-fixture", "header-only"],
)
def test_broken_pdf(data: bytes) -> None:
    assert "PDF" in refused("broken.pdf", data)


def test_not_a_pdf() -> None:
    message = refused("package.pdf", b"PK\x03\x04 a zip under a .pdf name")
    assert "%PDF" in message


def test_pdf_flate_bomb() -> None:
    message = refused_with(
        "bomb.pdf", _flate_bomb(3_000_000), _layout_with(max_uncompressed_bytes=1_000_000)
    )
    assert "压缩炸弹" in message
    assert "decompression bomb" in message


def test_pdf_flate_bomb_under_the_default_limits() -> None:
    """110 MB of spaces in 110 KB: refused before pdfminer inflates it."""
    assert "压缩炸弹" in refused("bomb.pdf", _flate_bomb(110_000_000))


def test_a_pdf_stream_within_the_budget_is_read() -> None:
    # Read to the end, not refused as a bomb: it holds nothing, so it is refused as empty.
    message = refused("small.pdf", _flate_bomb(10_000))
    assert "文档为空" in message
    assert "bomb" not in message


def test_pdf_page_tree_loop_does_not_hang() -> None:
    loop = minimal_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
    )
    # It ends (an empty document, refused as such) instead of walking the loop forever.
    assert "文档为空" in refused("loop.pdf", loop)


def test_pdf_page_count_is_capped() -> None:
    message = refused_with("package.pdf", SEED_PDF, _layout_with(max_pdf_pages=3))
    assert "页数过多" in message
    assert "too many pages" in message


def test_pdf_time_per_page_is_capped() -> None:
    """A cap of 0 seconds refuses any page: the check runs after every page."""
    message = refused_with("package.pdf", SEED_PDF, _layout_with(max_seconds_per_page=0))
    assert "超时" in message
    assert "took too long" in message


def test_pdf_too_large() -> None:
    data = b"%PDF-1.7\n" + b"x" * default_layout().limits.max_document_bytes
    assert "过大" in refused("big.pdf", data)
