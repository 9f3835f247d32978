"""Text helpers shared by measures: normalisation and keyword matching."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=1 << 16)  # pure, and called for every cell and keyword on every evaluation
def norm(text: str) -> str:
    """NFKC, without whitespace (U+3000 included): Chinese text compares without spaces."""
    if not unicodedata.is_normalized("NFKC", text):  # imported text mostly is: a cheap check
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split())


def contains_any(text: str, keywords: list[str]) -> list[str]:
    """The keywords found in `text`, in keyword order (both normalised)."""
    haystack = norm(text)
    return [k for k in keywords if norm(k) and norm(k) in haystack]


def same_name(a: str, b: str) -> bool:
    """Two names denote the same thing: equal, or one contains the other, after normalising."""
    x, y = norm(a), norm(b)
    return bool(x and y) and (x == y or x in y or y in x)
