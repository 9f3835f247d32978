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


# keywords -> (keyword, its normalised form) for each keyword that normalises to something.
# Keywords are rubric parameters: the same few lists on every evaluation, normalised once here
# instead of twice per keyword per call (≈ 200 calls per evaluation).
_KEYWORDS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def _normalised(keywords: list[str]) -> tuple[tuple[str, str], ...]:
    key = tuple(keywords)
    hit = _KEYWORDS.get(key)
    if hit is None:
        if len(_KEYWORDS) > 1024:
            _KEYWORDS.clear()
        hit = _KEYWORDS[key] = tuple((k, n) for k in keywords if (n := norm(k)))
    return hit


def contains_any(text: str, keywords: list[str]) -> list[str]:
    """The keywords found in `text`, in keyword order (both normalised)."""
    haystack = norm(text)
    return [k for k, n in _normalised(keywords) if n in haystack]


def same_name(a: str, b: str) -> bool:
    """Two names denote the same thing: equal, or one contains the other, after normalising."""
    x, y = norm(a), norm(b)
    return bool(x and y) and (x == y or x in y or y in x)
