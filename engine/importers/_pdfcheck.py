"""Checks on a PDF before any parser sees it: size, header, and the size of its inflated streams.

pdfminer inflates a Flate stream whole, so a few kilobytes of deflated zeros (a PDF "zip
bomb") would become gigabytes in memory. Every stream is inflated here first, incrementally
and with a budget: the sum of all inflated streams may not pass the layout's
max_uncompressed_bytes. Streams in another filter (DCT, JPX: images) count at their stored size;
their pixels are bounded when a page is rendered.
"""

from __future__ import annotations

import re
import zlib

from engine.importers._container import check_size, refuse
from engine.importers._layout import LimitsLayout

_STREAM = re.compile(rb"stream\r?\n")
_CHUNK = 1 << 16


def _inflated_size(data: bytes, budget: int) -> int:
    """Bytes one Flate stream inflates to, stopping once past `budget` (0 for a bad stream)."""
    inflater = zlib.decompressobj()
    size = 0
    view = memoryview(data)
    try:
        for start in range(0, len(view), _CHUNK):
            chunk = view[start : start + _CHUNK]
            while chunk:
                out = inflater.decompress(chunk, budget - size + 1)
                size += len(out)
                if size > budget:
                    return size
                chunk = memoryview(inflater.unconsumed_tail)
            if inflater.eof:
                break
    except zlib.error:
        return size  # a broken stream: pdfminer reports it (or skips it) itself
    return size


def check_pdf(name: str, data: bytes, limits: LimitsLayout) -> None:
    """Refuse a file that is too large, not a PDF, or whose streams inflate past the budget."""
    check_size(name, data, limits)
    if b"%PDF-" not in data[:1024]:
        raise refuse(
            name, "不是有效的 PDF 文件（缺少 %PDF 文件头）", "not a PDF file (no %PDF header)"
        )
    budget = limits.max_uncompressed_bytes
    total = 0
    for found in _STREAM.finditer(data):
        head = data[max(0, found.start() - 512) : found.start()]
        head = head[head.rfind(b"obj") + 1 :] if b"obj" in head else head
        end = data.find(b"endstream", found.end())
        body = data[found.end() : end if end >= 0 else len(data)]
        if b"/FlateDecode" in head or b"/Fl " in head or b"/Fl]" in head:
            total += _inflated_size(body, budget - total)
        else:
            total += len(body)
        if total > budget:
            raise refuse(
                name,
                f"疑似压缩炸弹：PDF 数据流解压后超过上限 {budget} 字节",
                f"suspected decompression bomb: the PDF's streams inflate past {budget} bytes",
            )
