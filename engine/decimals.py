"""Decimal helpers: every score and amount is a Decimal, rounded 四舍五入 (half-up), never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def q2(value: Decimal, step: Decimal = CENT) -> Decimal:
    """Round half-up to `step` (default 2 places). Python's round() is banker's rounding."""
    return value.quantize(step, rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal:
    """Coerce an int, str or Decimal (never a float) to Decimal."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    raise TypeError(f"not a decimal-compatible value: {type(value).__name__}")


def plain(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros: 5.00 -> "5", 0.50 -> "0.5"."""
    text = format(value.normalize(), "f")
    return text


def json_number(value: Decimal) -> int | float:
    """A JSON number with at most 2 decimals, for the report.

    The value is rounded half-up first; the float only carries those 2 decimals to the JSON
    writer, whose repr of a 2-place value is exact text (e.g. 0.63, 99.67).
    """
    rounded = q2(value)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)
