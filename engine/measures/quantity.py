"""Parse indicator targets (年度指标值) and actuals (实际完成值); compute the expected score.

Every word the parser recognises (comparators, units, "none" markers, label noise, separators)
comes from a versioned vocabulary file (rules/vocabulary/<version>.toml); this module holds only
the generic scanning and arithmetic. Numbers are ``Decimal`` throughout and rounding is
ROUND_HALF_UP, as 四舍五入 requires.
"""

from __future__ import annotations

import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cached_property
from pathlib import Path
from typing import Literal

# cn2an ships neither type hints nor a py.typed marker; "unused-ignore" keeps this line valid
# both with and without the project's ignore_missing_imports override.
import cn2an  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ConfigDict, model_validator

Comparator = Literal[">=", ">", "<=", "<", "="]

_CENT = Decimal("0.01")
_RATIO_DP = Decimal("0.0001")
_ONE = Decimal(1)
_ZERO = Decimal(0)

_REASON_EMPTY = "无数值、单位或比较符"
_REASON_DATES = "数字仅为日期、年限或序号，无可计量数值"
_REASON_BARE = "数值无单位或比较符"
_REASON_ECHO = "与指标名称相同"

_ARABIC = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?(?![0-9])|[0-9]+(?:\.[0-9]+)?")
_IDENTIFIER = re.compile(r"[A-Za-z0-9.]+")
_WHITESPACE = re.compile(r"\s+")
# Characters str.strip() misses but that pad cells pasted from Word/Excel.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


class QuantityVocabulary(BaseModel):
    """The parsing vocabulary of one version (see the header of the TOML file for each key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    none_markers: tuple[str, ...]
    comparator_words: dict[str, Comparator]
    comparator_suffixes: dict[str, Comparator]
    units: tuple[str, ...]
    unit_aliases: dict[str, str]
    ignore_units: tuple[str, ...]
    ordinal_prefixes: tuple[str, ...]
    percent_prefixes: tuple[str, ...]
    magnitude_prefixes: dict[str, Decimal]
    unit_scale: dict[str, dict[str, Decimal]]
    inverse_units_or_labels: tuple[str, ...]
    label_noise_words: tuple[str, ...]
    compound_separators: tuple[str, ...]
    label_separators: tuple[str, ...]
    range_separators: tuple[str, ...]
    cn_numeral_chars: str
    cn_decimal_point: str
    cn_numeral_exclusions: tuple[str, ...]

    @model_validator(mode="after")
    def _consistent(self) -> QuantityVocabulary:
        self._check_words()
        self._check_units()
        if len(self.cn_decimal_point) != 1:
            raise ValueError("cn_decimal_point must be one character")
        return self

    def _check_words(self) -> None:
        # Input is NFKC-normalised before matching, so a non-normalised entry could never match.
        for word in self._all_words():
            if not word and word not in self.none_markers:
                raise ValueError("empty word in vocabulary")
            if unicodedata.normalize("NFKC", word) != word:
                raise ValueError(f"vocabulary entry {word!r} is not NFKC-normalised")

    def _check_units(self) -> None:
        units = set(self.units)
        if clash := units & set(self.ignore_units):
            raise ValueError(f"words both units and ignore_units: {sorted(clash)}")
        for alias, canonical in self.unit_aliases.items():
            if alias not in units or canonical not in units:
                raise ValueError(f"unit alias {alias!r} -> {canonical!r} must use listed units")
        seen: dict[str, str] = {}
        for base, members in self.unit_scale.items():
            for unit, factor in members.items():
                if unit not in units or factor <= 0:
                    raise ValueError(f"unit_scale.{base}.{unit}: unlisted unit or factor <= 0")
                if unit in seen:
                    raise ValueError(f"unit {unit!r} in unit_scale.{seen[unit]} and .{base}")
                seen[unit] = base
        for prefix, factor in self.magnitude_prefixes.items():
            if len(prefix) != 1 or factor <= 0:
                raise ValueError(f"magnitude prefix {prefix!r} must be one char, factor > 0")

    def _all_words(self) -> Iterable[str]:
        yield from self.none_markers
        yield from self.comparator_words
        yield from self.comparator_suffixes
        yield from self.units
        yield from self.unit_aliases
        yield from self.unit_aliases.values()
        yield from self.ignore_units
        yield from self.ordinal_prefixes
        yield from self.percent_prefixes
        yield from self.magnitude_prefixes
        yield from self.inverse_units_or_labels
        yield from self.label_noise_words
        yield from self.compound_separators
        yield from self.label_separators
        yield from self.range_separators
        yield from self.cn_numeral_exclusions

    # Derived lookup tables, computed once per (immutable) vocabulary.

    @cached_property
    def _unit_words(self) -> tuple[tuple[str, bool], ...]:
        """Units and ignored units, longest first; the flag marks an ignored unit."""
        words = [(u, False) for u in self.units] + [(u, True) for u in self.ignore_units]
        return tuple(sorted(words, key=lambda w: -len(w[0])))

    @cached_property
    def _comparators_longest_first(self) -> tuple[str, ...]:
        return _longest_first(self.comparator_words)

    @cached_property
    def _suffixes_longest_first(self) -> tuple[str, ...]:
        return _longest_first(self.comparator_suffixes)

    @cached_property
    def _noise_longest_first(self) -> tuple[str, ...]:
        return _longest_first(self.label_noise_words)

    @cached_property
    def _range_longest_first(self) -> tuple[str, ...]:
        return _longest_first(self.range_separators)

    @cached_property
    def _cn_run(self) -> re.Pattern[str]:
        chars = re.escape(self.cn_numeral_chars)
        digits = re.escape("".join(c for c in self.cn_numeral_chars if c not in "十百千万亿"))
        point = re.escape(self.cn_decimal_point)
        return re.compile(f"[{chars}]+(?:{point}[{digits}]+)?")

    @cached_property
    def _unit_family(self) -> dict[str, tuple[str, Decimal]]:
        return {
            unit: (base, factor)
            for base, members in self.unit_scale.items()
            for unit, factor in members.items()
        }

    @cached_property
    def _unit_last_chars(self) -> frozenset[str]:
        return frozenset(u[-1] for u in (*self.units, *self.ignore_units))

    def unit_base(self, unit: str) -> tuple[str, Decimal]:
        """The unit's family base and its size in that base ("万元" -> ("元", 10000))."""
        if unit in self._unit_family:
            return self._unit_family[unit]
        if unit and unit[0] in self.magnitude_prefixes:
            base, factor = self.unit_base(unit[1:])
            return base, factor * self.magnitude_prefixes[unit[0]]
        return unit, _ONE


def _longest_first(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(words, key=lambda w: -len(w)))


def load_vocabulary(path: Path) -> QuantityVocabulary:
    """Load and validate a vocabulary TOML file."""
    with path.open("rb") as fh:
        return QuantityVocabulary.model_validate(tomllib.load(fh))


@dataclass(frozen=True)
class Quantity:
    """One measurable statement: comparator, value (in the stated unit), unit, label."""

    comparator: Comparator
    value: Decimal
    unit: str
    upper: Decimal | None
    label: str
    text: str


@dataclass(frozen=True)
class ParsedValue:
    """A parsed target or actual cell.

    ``vocab`` and ``indicator_name`` record what the text was parsed with, so that
    ``expected_score`` can convert units and recognise lower-is-better targets without the
    caller passing the vocabulary again. They take no part in equality.
    """

    kind: Literal["quantitative", "qualitative", "none"]
    parts: tuple[Quantity, ...]
    text: str
    reason: str
    vocab: QuantityVocabulary | None = field(default=None, compare=False, repr=False)
    indicator_name: str = field(default="", compare=False)


@dataclass(frozen=True)
class ExpectedScore:
    """The score a quantitative indicator should get, with the arithmetic written out."""

    status: Literal["met", "missed", "not_measurable", "not_applicable"]
    ratio: Decimal | None
    max_ratio: Decimal | None
    score: Decimal | None
    explanation: str


# Full-width ASCII forms (，；：（）…) and U+3000: what keeps Chinese prose from being NFKC
# already. Each maps to one ASCII character, its whole compatibility decomposition (ccc 0 like
# the original), so replacing them first leaves the NFKD, hence the NFKC, of the text unchanged:
# unicodedata.normalize then runs only for rarer characters. It costs ≈ 120 ns per character of
# CJK text; the substitution costs per full-width character only (a report's sections: ≈ 0.3 →
# 0.1 ms per evaluation).
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_ASCII_OF = {
    chr(c): unicodedata.normalize("NFKC", chr(c)) for c in [*range(0xFF01, 0xFF5F), 0x3000]
}


def _ascii_of(match: re.Match[str]) -> str:
    return _ASCII_OF[match.group()]


def normalize_text(s: str) -> str:
    """NFKC-normalise, collapse inner whitespace to one space, strip the ends (incl. U+3000)."""
    if not unicodedata.is_normalized("NFKC", s):  # imported text mostly is: a cheap check
        s = _FULL_WIDTH.sub(_ascii_of, s)
        if not unicodedata.is_normalized("NFKC", s):
            s = unicodedata.normalize("NFKC", s)
    for ch in _INVISIBLE:
        s = s.replace(ch, "")
    return _WHITESPACE.sub(" ", s).strip()


# --------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class _Hit:
    start: int  # where the comparator word (or the number) begins
    end: int  # after unit, range and suffix
    comparator: Comparator
    value: Decimal
    upper: Decimal | None
    unit: str


@dataclass
class _Seen:
    dates: int = 0  # numbers that were dates, terms or ordinals
    bare: int = 0  # numbers with neither unit nor comparator


@dataclass(frozen=True)
class _Number:
    value: Decimal
    start: int  # includes a minus sign or percent prefix
    end: int
    percent: bool
    cn_run: str  # the Chinese numeral run, "" for Arabic digits


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] == " ":
        i += 1
    return i


def _cn_value(run: str) -> Decimal | None:
    try:
        result = cn2an.cn2an(run, "smart")
    # cn2an is untyped and raises ValueError (and, on odd input, other errors) for anything
    # it cannot read; every failure just means "not a numeral here".
    except Exception:
        return None
    if isinstance(result, bool) or not isinstance(result, int | float):
        return None
    return Decimal(str(result))


def _excluded_positions(text: str, vocab: QuantityVocabulary) -> frozenset[int]:
    excluded: set[int] = set()
    for phrase in vocab.cn_numeral_exclusions:
        start = text.find(phrase)
        while start != -1:
            # "十分满意" is a word, but in "三十分钟" / "九十分" the 十 continues a numeral.
            if start == 0 or text[start - 1] not in vocab.cn_numeral_chars:
                excluded.update(range(start, start + len(phrase)))
            start = text.find(phrase, start + 1)
    return frozenset(excluded)


def _read_cn(
    text: str, i: int, vocab: QuantityVocabulary, excluded: frozenset[int]
) -> _Number | None:
    m = vocab._cn_run.match(text, i)
    if m is None:
        return None
    end = m.end()
    # An exclusion phrase may begin inside the run ("三十分" has "十分"): cut the run there.
    end = next((k for k in range(i, end) if k in excluded), end)
    run = text[i:end]
    value = _cn_value(run) if run else None
    return _Number(value, i, end, False, run) if value is not None else None


def _read_plain_number(
    text: str, i: int, vocab: QuantityVocabulary, excluded: frozenset[int]
) -> _Number | None:
    if i >= len(text):
        return None
    if text[i].isascii() and text[i].isdigit():
        m = _ARABIC.match(text, i)
        if m is not None:
            return _Number(Decimal(m.group().replace(",", "")), i, m.end(), False, "")
    if text[i] in vocab.cn_numeral_chars and i not in excluded:
        return _read_cn(text, i, vocab, excluded)
    return None


def _read_number(
    text: str, i: int, vocab: QuantityVocabulary, excluded: frozenset[int]
) -> _Number | None:
    for prefix in vocab.percent_prefixes:
        if text.startswith(prefix, i):
            inner = _read_plain_number(text, i + len(prefix), vocab, excluded)
            if inner is not None:
                return _Number(inner.value, i, inner.end, True, inner.cn_run)
    return _read_plain_number(text, i, vocab, excluded)


def _read_unit(text: str, j: int, vocab: QuantityVocabulary) -> tuple[str, int, bool]:
    """Unit at j: (canonical unit, end, is_ignored). ("", j, False) when there is none."""
    for word, ignored in vocab._unit_words:
        if text.startswith(word, j):
            after = j + len(word)
            # "5m" is a unit, "5mg" / "5G" are not: ASCII units must end at a word boundary.
            if (
                word[-1].isascii()
                and after < len(text)
                and text[after].isascii()
                and (text[after].isalpha())
            ):
                continue
            return vocab.unit_aliases.get(word, word), after, ignored
    if j < len(text) and text[j] in vocab.magnitude_prefixes:
        inner, end, ignored = _read_unit(text, j + 1, vocab)
        if ignored:
            return "", j, False
        # "3万件" -> unit "万件"; a bare "1.5万" -> unit "万" (converts against a unitless figure).
        return text[j] + inner, end if inner else j + 1, False
    return "", j, False


def _prefix_comparator(text: str, start: int, vocab: QuantityVocabulary) -> tuple[str, int]:
    """The comparator word ending just before ``start`` (spaces allowed): (word, its start)."""
    p = start
    while p > 0 and text[p - 1] == " ":
        p -= 1
    for word in vocab._comparators_longest_first:
        if text.endswith(word, 0, p):
            return word, p - len(word)
    return "", start


def _is_ordinal(text: str, start: int, vocab: QuantityVocabulary) -> bool:
    p = start
    while p > 0 and text[p - 1] == " ":
        p -= 1
    return any(text.endswith(w, 0, p) for w in vocab.ordinal_prefixes)


def _with_sign(text: str, num: _Number, vocab: QuantityVocabulary) -> _Number:
    """Apply a leading "-" when it is a minus sign, not a range dash ("5个-8个", "2023-2025")."""
    s = num.start
    if s == 0 or text[s - 1] != "-" or num.percent:
        return num
    if s >= 2:
        prev = text[s - 2]
        if (prev.isalnum() and prev.isascii()) or prev in vocab._unit_last_chars:
            return num
    return _Number(-num.value, s - 1, num.end, num.percent, num.cn_run)


def _unit_after_number(
    text: str, num: _Number, vocab: QuantityVocabulary
) -> tuple[_Number, str, int, bool]:
    """The unit after a number: (number, unit, end, is_ignored_unit).

    A Chinese numeral run swallows a trailing 万/亿 that belongs to the unit ("三万元" is
    3 万元, like "3万元"); give it back when a longer unit starts there.
    """
    run = num.cn_run
    if len(run) > 1 and run[-1] in vocab.magnitude_prefixes:
        unit, end, ignored = _read_unit(text, num.end - 1, vocab)
        shorter = _cn_value(run[:-1])
        if len(unit) > 1 and not ignored and shorter is not None:
            sign = -1 if num.value < 0 else 1
            fixed = _Number(shorter * sign, num.start, num.end - 1, num.percent, run[:-1])
            return fixed, unit, end, False
    unit, end, ignored = _read_unit(text, _skip_spaces(text, num.end), vocab)
    return num, unit, (end if unit or ignored else num.end), ignored


def _range_after(
    text: str, end: int, unit: str, vocab: QuantityVocabulary, excluded: frozenset[int]
) -> tuple[str, Decimal | None, int, bool]:
    """A range's upper end after ``end`` ("90%-95%", "3至5个"): (unit, upper, end, is_date)."""
    k = _skip_spaces(text, end)
    sep = next((w for w in vocab._range_longest_first if text.startswith(w, k)), "")
    second = _read_number(text, _skip_spaces(text, k + len(sep)), vocab, excluded) if sep else None
    if second is None:
        return unit, None, end, False
    second, unit2, end2, ignored2 = _unit_after_number(text, second, vocab)
    if ignored2:  # "2023-2025年" is a span of years, not a quantity
        return "", None, end2, True
    if second.percent:
        unit2, end2 = "%", second.end
    if unit and unit2 and unit != unit2:
        return unit, None, end, False
    return unit or unit2, second.value, end2, False


def _suffix_after(text: str, end: int, vocab: QuantityVocabulary) -> tuple[str, int]:
    s = _skip_spaces(text, end)
    for word in vocab._suffixes_longest_first:
        if text.startswith(word, s):
            return word, s + len(word)
    return "", end


def _quantity_at(
    text: str, i: int, vocab: QuantityVocabulary, excluded: frozenset[int]
) -> tuple[_Hit | Literal["date", "bare"] | None, int]:
    """Read a quantity whose number starts at i: (hit or why not, where to continue)."""
    num = _read_number(text, i, vocab, excluded)
    if num is None:
        return None, i + 1
    num = _with_sign(text, num, vocab)
    if _is_ordinal(text, num.start, vocab):
        return "date", num.end
    num, unit, end, ignored = _unit_after_number(text, num, vocab)
    if ignored:
        return "date", end
    if num.percent:
        unit, end = "%", num.end
    unit, upper, end, is_date = _range_after(text, end, unit, vocab, excluded)
    if is_date:
        return "date", end
    suffix, end = _suffix_after(text, end, vocab)
    prefix, start = _prefix_comparator(text, num.start, vocab)
    # A cell holding nothing but a figure ("100") is a quantity even without unit or comparator.
    whole = start == 0 and not text[end:].strip("".join(vocab.compound_separators) + " ")
    if not (unit or prefix or suffix or whole):
        # Only Arabic figures count as "a number without unit": a lone Chinese numeral is
        # usually part of a word ("发展六仗").
        return ("bare" if not num.cn_run else None), num.end
    comparator: Comparator = "="  # ranges and plain figures
    if upper is None and prefix:
        comparator = vocab.comparator_words[prefix]
    elif upper is None and suffix:
        comparator = vocab.comparator_suffixes[suffix]
    lower = num.value
    if upper is not None and upper < lower:
        lower, upper = upper, lower
    return _Hit(start, end, comparator, lower, upper, unit), end


def _scan(text: str, vocab: QuantityVocabulary) -> tuple[list[_Hit], _Seen]:
    """Find every quantity in ``text`` (already normalised)."""
    hits: list[_Hit] = []
    seen = _Seen()
    excluded = _excluded_positions(text, vocab)
    i = 0
    while i < len(text):
        if (
            i > 0
            and text[i].isascii()
            and text[i].isdigit()
            and (text[i - 1].isascii() and (text[i - 1].isalpha() or text[i - 1] == "."))
        ):
            # Digits glued to Latin letters are identifiers ("5G", "ISO9001", "H7N9").
            m = _IDENTIFIER.match(text, i)
            i = m.end() if m else i + 1
            continue
        found, i = _quantity_at(text, i, vocab, excluded)
        if isinstance(found, _Hit):
            hits.append(found)
        elif found == "date":
            seen.dates += 1
        elif found == "bare":
            seen.bare += 1
    return hits, seen


def _strip_punct(s: str) -> str:
    """Strip punctuation and spaces (Unicode categories P*, Z*) from both ends."""
    a, b = 0, len(s)
    while a < b and unicodedata.category(s[a])[0] in "PZ":
        a += 1
    while b > a and unicodedata.category(s[b - 1])[0] in "PZ":
        b -= 1
    return s[a:b]


def _clean_label(raw: str, vocab: QuantityVocabulary) -> str:
    label = _strip_punct(raw)
    changed = True
    while changed and label:
        changed = False
        for word in vocab._noise_longest_first:
            if label.startswith(word):
                label, changed = _strip_punct(label[len(word) :]), True
                break
            if label.endswith(word):
                label, changed = _strip_punct(label[: -len(word)]), True
                break
    return label


def _last_separator_end(text: str, lo: int, hi: int, separators: Sequence[str]) -> int:
    """End index of the last separator within text[lo:hi], or -1."""
    best = -1
    for sep in separators:
        k = text.rfind(sep, lo, hi)
        if k != -1:
            best = max(best, k + len(sep))
    return best


def _parts(text: str, hits: list[_Hit], vocab: QuantityVocabulary) -> tuple[Quantity, ...]:
    # Cut between two quantities at the last separator in the gap, so that each piece keeps
    # its own number and the words leading up to it ("；市级创新平台8个").
    bounds = [0]
    for a, b in itertools.pairwise(hits):
        cut = _last_separator_end(text, a.end, b.start, vocab.compound_separators)
        bounds.append(cut if cut != -1 else a.end)
    bounds.append(len(text))
    edge = "".join(vocab.compound_separators) + "".join(vocab.label_separators) + " "
    parts: list[Quantity] = []
    for k, hit in enumerate(hits):
        seg_start = bounds[k]
        clause = _last_separator_end(text, seg_start, hit.start, vocab.label_separators)
        label_start = clause if clause != -1 else seg_start
        parts.append(
            Quantity(
                comparator=hit.comparator,
                value=hit.value,
                unit=hit.unit,
                upper=hit.upper,
                label=_clean_label(text[label_start : hit.start], vocab),
                text=text[seg_start : bounds[k + 1]].strip(edge),
            )
        )
    return tuple(parts)


# Parsed values are immutable and depend only on (text, vocabulary, indicator name): a package is
# scored many times (re-scoring, what-if), so each cell is parsed once per process.
_PARSED: dict[tuple[int, str, str], ParsedValue] = {}
_PARSED_MAX = 65536


def parse_value(text: str, vocab: QuantityVocabulary, *, indicator_name: str = "") -> ParsedValue:
    """Parse a target or actual cell into quantities, a qualitative statement, or none."""
    key = (id(vocab), text, indicator_name)
    hit = _PARSED.get(key)
    if hit is not None and hit.vocab is vocab:  # the identity check guards against a reused id()
        return hit
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    parsed = _parse_value(text, vocab, indicator_name=indicator_name)
    _PARSED[key] = parsed
    return parsed


def _parse_value(text: str, vocab: QuantityVocabulary, *, indicator_name: str = "") -> ParsedValue:
    norm = normalize_text(text)

    def result(
        kind: Literal["quantitative", "qualitative", "none"],
        parts: tuple[Quantity, ...] = (),
        reason: str = "",
    ) -> ParsedValue:
        return ParsedValue(kind, parts, norm, reason, vocab, indicator_name)

    if norm in vocab.none_markers:
        return result("none")
    name = _strip_punct(normalize_text(indicator_name))
    if name and _strip_punct(norm) == name:
        return result("qualitative", reason=_REASON_ECHO)
    hits, seen = _scan(norm, vocab)
    if hits:
        return result("quantitative", _parts(norm, hits, vocab))
    if seen.bare:
        return result("qualitative", reason=_REASON_BARE)
    if seen.dates:
        return result("qualitative", reason=_REASON_DATES)
    return result("qualitative", reason=_REASON_EMPTY)


# --------------------------------------------------------------------------- scoring


def _quantize(d: Decimal, exp: Decimal) -> Decimal:
    with localcontext() as ctx:
        # quantize fails when the result needs more digits than the context precision.
        ctx.prec = max(28, d.adjusted() + 10)
        return d.quantize(exp, rounding=ROUND_HALF_UP)


def _fmt(d: Decimal) -> str:
    """A plain figure without exponent or trailing zeros ("150", "7.8")."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def _pct(ratio: Decimal) -> str:
    return f"{format(_quantize(ratio * 100, _CENT), 'f')}%"


def _label_key(label: str) -> str:
    return "".join(c for c in label if unicodedata.category(c)[0] not in "PZ")


def _match(
    targets: tuple[Quantity, ...], actuals: tuple[Quantity, ...]
) -> tuple[list[tuple[Quantity, Quantity]], list[Quantity]]:
    """Pair target parts with actual parts: exact label, unique containment, then position."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    keys_t = [_label_key(t.label) for t in targets]
    keys_a = [_label_key(a.label) for a in actuals]
    for i, kt in enumerate(keys_t):
        for j, ka in enumerate(keys_a):
            if kt and j not in used and kt == ka:
                pairs[i] = j
                used.add(j)
                break
    for i, kt in enumerate(keys_t):
        if i in pairs or not kt:
            continue
        found = [
            j for j, ka in enumerate(keys_a) if j not in used and ka and (kt in ka or ka in kt)
        ]
        if len(found) == 1:  # an ambiguous containment ("创新平台" in three labels) is no match
            pairs[i] = found[0]
            used.add(found[0])
    if len(targets) == len(actuals):
        rest_a = [j for j in range(len(actuals)) if j not in used]
        rest_t = [i for i in range(len(targets)) if i not in pairs]
        for i, j in zip(rest_t, rest_a, strict=True):
            pairs[i] = j
    matched = [(targets[i], actuals[pairs[i]]) for i in sorted(pairs)]
    unmatched = [t for i, t in enumerate(targets) if i not in pairs]
    return matched, unmatched


def _higher_ratio(actual: Decimal, target: Decimal) -> Decimal:
    """Achievement when higher is better: actual / target; a 0 target is met by any a >= 0."""
    if target > 0:
        return actual / target
    if target == 0:
        return _ONE if actual >= 0 else _ZERO
    # Negative target ("增速≥-5%"): 1 + (a − t)/|t|, which equals a/t for positive targets.
    return 1 + (actual - target) / -target


def _lower_ratio(actual: Decimal, target: Decimal) -> Decimal:
    """Achievement when lower is better: target / actual; actual 0 counts as fully met."""
    if target > 0:
        return target / actual if actual > 0 else _ONE
    if target == 0:
        return _ONE if actual <= 0 else _ZERO
    return 1 + (target - actual) / -target


def _is_inverse(target: Quantity, vocab: QuantityVocabulary | None, indicator_name: str) -> bool:
    if vocab is None:
        return False
    # The part's text contains its label, so this covers unit, label, fragment and name.
    return any(
        target.unit == word or word in target.text or word in indicator_name
        for word in vocab.inverse_units_or_labels
    )


@dataclass(frozen=True)
class _PartResult:
    met: bool
    ratio: Decimal
    line: str


def _show(value: Decimal, upper: Decimal | None, unit: str) -> str:
    if upper is not None:
        return f"{_fmt(value)}{unit}–{_fmt(upper)}{unit}"
    return f"{_fmt(value)}{unit}"


def _evaluate_range(
    target: Quantity, t_high: Decimal, *, a_low: Decimal, a_high: Decimal | None, shown_actual: str
) -> _PartResult:
    """A range target is met when the actual lies inside it; outside, the ratio is to the
    nearer bound (actual/lower below it, upper/actual above it)."""
    t_low = target.value
    shown_target = f"目标区间 {_show(t_low, t_high, target.unit)}"
    # An actual range must lie wholly inside the target range.
    lo, hi = a_low, a_high if a_high is not None else a_low
    if lo < t_low:
        ratio, where = _higher_ratio(lo, t_low), "低于"
    elif hi > t_high:
        ratio, where = _lower_ratio(hi, t_high), "高于"
    else:
        ratio, where = _higher_ratio(lo, t_low), "在"
    line = f"{shown_actual} {where}{shown_target}{'内' if where == '在' else ''}"
    return _PartResult(where == "在", ratio, f"{line}，完成率 {_pct(ratio)}")


def _evaluate(
    target: Quantity, actual: Quantity, vocab: QuantityVocabulary | None, indicator_name: str
) -> _PartResult | str:
    """Compare one matched pair; a string is the reason the pair cannot be compared."""
    a_low, a_high = actual.value, actual.upper
    a_note = ""
    if actual.unit != target.unit:
        t_base, t_fac = vocab.unit_base(target.unit) if vocab else (target.unit, _ONE)
        a_base, a_fac = vocab.unit_base(actual.unit) if vocab else (actual.unit, _ONE)
        if t_base == a_base:
            a_low = a_low * a_fac / t_fac
            a_high = a_high * a_fac / t_fac if a_high is not None else None
            converted = _show(a_low, a_high, target.unit)
            a_note = f"（= {converted}）"
        elif target.unit and actual.unit:
            return f"单位不一致：目标「{target.unit}」与实际「{actual.unit}」无法换算"
        else:
            # One side states no unit ("表扬数>1" vs "3次"): the figures are taken as stated.
            a_note = "（一方未注明单位，按数值比较）"
    unit = target.unit
    shown_actual = f"实际 {_show(actual.value, actual.upper, actual.unit)}{a_note}"
    t_low, t_high = target.value, target.upper
    if t_high is not None:
        return _evaluate_range(
            target, t_high, a_low=a_low, a_high=a_high, shown_actual=shown_actual
        )
    comparator = target.comparator
    note = ""
    if comparator == "=":
        # A plain figure as a target means "at least", unless the vocabulary marks it as a
        # lower-is-better measure (cost, complaint rate, accidents, ...).
        comparator = "<=" if _is_inverse(target, vocab, indicator_name) else ">="
        note = "（越低越好）" if comparator == "<=" else ""
    symbol = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[comparator]
    if t_low == 0:
        note += "（目标为0：达到即计100%，否则计0）"
    elif t_low < 0:
        note += "（目标为负：完成率按 1+差额/|目标| 计）"
    shown_target = f"目标 {symbol}{_fmt(t_low)}{unit}{note}"
    if comparator in (">=", ">"):
        # Conservative reading of an actual range: its lower bound must reach the target.
        value = a_low
        met = value >= t_low if comparator == ">=" else value > t_low
        ratio = _higher_ratio(value, t_low)
        line = f"{shown_actual} / {shown_target} = {_pct(ratio)}"
    else:
        value = a_high if a_high is not None else a_low
        met = value <= t_low if comparator == "<=" else value < t_low
        ratio = _lower_ratio(value, t_low)
        line = f"{shown_target} / {shown_actual} = {_pct(ratio)}"
    return _PartResult(met, ratio, line)


def _not_measurable(explanation: str) -> ExpectedScore:
    return ExpectedScore("not_measurable", None, None, None, explanation)


def expected_score(
    target: ParsedValue,
    actual: ParsedValue,
    points: Decimal,
    *,
    vocab: QuantityVocabulary | None = None,
    indicator_name: str = "",
) -> ExpectedScore:
    """The expected score of a quantitative indicator (财预〔2020〕10号 proportional rule).

    Met → full points; missed → points × the mean of the part ratios, each capped to [0, 1]
    (over-achievement on one part does not make up for another). ``vocab`` and
    ``indicator_name`` default to those recorded on the parsed target.
    """
    vocab = vocab or target.vocab or actual.vocab
    name = indicator_name or target.indicator_name
    if target.kind == "none" and actual.kind == "none":
        return ExpectedScore("not_applicable", None, None, None, "目标与实际均为不适用，不计分")
    if target.kind != "quantitative":
        why = target.reason if target.kind == "qualitative" else "未填写"
        return _not_measurable(f"年度指标值不可计量（{why}）：「{target.text}」")
    if actual.kind != "quantitative":
        why = actual.reason if actual.kind == "qualitative" else "未填写"
        return _not_measurable(f"实际完成值不可计量（{why}）：「{actual.text}」")
    pairs, unmatched = _match(target.parts, actual.parts)
    if unmatched:
        missing = "、".join(f"「{t.label or t.text}」" for t in unmatched)
        return _not_measurable(f"目标分项{missing}在实际完成值中找不到对应项")
    with localcontext() as ctx:
        ctx.prec = 28  # the default, pinned so a caller's context cannot change results
        results: list[_PartResult] = []
        for t, a in pairs:
            r = _evaluate(t, a, vocab, name)
            if isinstance(r, str):
                return _not_measurable(r)
            results.append(r)
        ratios = [r.ratio for r in results]
        ratio = sum(ratios, _ZERO) / len(ratios)
        max_ratio = max(ratios)
        met = all(r.met for r in results)
        capped = sum((min(_ONE, max(_ZERO, r)) for r in ratios), _ZERO) / len(ratios)
        pts = max(points, _ZERO)
        score = _quantize(pts if met else pts * capped, _CENT)
    if len(results) == 1:
        body = results[0].line
    else:
        body = "；".join(
            f"{t.label or f'第{k}项'}：{r.line}，{'达标' if r.met else '未达标'}"
            for k, ((t, _a), r) in enumerate(zip(pairs, results, strict=True), start=1)
        )
    if met:
        verdict = f"{'全部' if len(results) > 1 else ''}达标，得满分 {_fmt(pts)}"
    elif len(results) == 1:
        verdict = f"未达标，得分 {_fmt(pts)} × {_pct(capped)} = {format(score, 'f')}"
    else:
        verdict = (
            f"未全部达标，得分 {_fmt(pts)} × 各项完成率（每项封顶100%）平均 {_pct(capped)}"
            f" = {format(score, 'f')}"
        )
    sep = "；" if len(results) > 1 else "，"
    return ExpectedScore(
        "met" if met else "missed",
        _quantize(ratio, _RATIO_DP),
        _quantize(max_ratio, _RATIO_DP),
        score,
        f"{body}{sep}{verdict}",
    )
