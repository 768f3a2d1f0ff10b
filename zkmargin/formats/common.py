"""Exact numbers in files, and errors that name the file, the record and the field.

Amounts, prices and rates are written as decimal strings (``"0.015"``) or JSON integers, in
whole units of what they measure; binary floats are refused, so no float ever reaches a
commitment. :func:`to_units` turns a decimal into an integer count of 10^−d units and refuses a
value with more decimals than d allows.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, ValidationError

from ..errors import ZkMarginError

#: Parts per million: rates and weights are integers of 10^−6.
PPM = 1_000_000


class FormatError(ZkMarginError):
    """A file is not what its format says; the message names file, record and field."""

    def __init__(self, problem: str, *, file: str = "", record: str = "", field: str = "") -> None:
        where = ": ".join(p for p in (file, record, field) if p)
        super().__init__(f"{where}: {problem}" if where else problem)
        self.file, self.record, self.field, self.problem = file, record, field, problem


#: How a decimal number is spelt in a file: no '_' separators, exponents, '+' signs or spaces.
DECIMAL_PATTERN = r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_DECIMAL = re.compile(DECIMAL_PATTERN)


def validation_error(exc: ValidationError, *, file: str = "", record: str = "") -> FormatError:
    """A pydantic validation error as one :class:`FormatError`: its first problem, with the
    field's dotted location, the file and the record."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    return FormatError(err["msg"], file=file, record=record, field=field)


def _no_float(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a decimal string or an integer, got a boolean")
    if isinstance(value, float):
        raise ValueError(
            f"binary floats are not accepted (got {value!r}); write the number as a string"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if not d.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        if not _DECIMAL.fullmatch(value.strip()):
            raise ValueError(f"not a decimal number: {value!r} (digits, one '.', a leading '-')")
        return value.strip()
    raise ValueError(f"expected a decimal string or an integer, got {type(value).__name__}")


def check_account_id(text: str) -> str:
    """An account id holds only printable characters: a newline in an id could forge report
    lines."""
    if not text.isprintable():
        raise ValueError(f"control characters are not allowed in an account id: {text!r}")
    return text


#: A decimal number as written in a file (validated: finite, never a binary float).
DecimalText = Annotated[str, BeforeValidator(_no_float)]

STRICT = ConfigDict(extra="forbid", frozen=True)


#: A decimal context wide enough for every value below the limit and its scaling: no rounding.
EXACT = Context(prec=100)

#: The one limit on every amount, price, quote and bound a file may state, in every format:
#: fewer than 10^36 units of what it measures (36 digits; an 18-decimal token up to 10^18 whole).
MAX_UNITS = 10**36


def to_units(text: str, decimals: int, *, allow_negative: bool = True) -> int:
    """The integer n with text = n·10^−decimals exactly; ValueError if it has more decimals or
    |n| ≥ 10^36 (:data:`MAX_UNITS`)."""
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    if not _DECIMAL.fullmatch(text.strip()):  # "1_000", "1e3", "+1": Python's spellings only
        raise ValueError(f"not a decimal number: {text!r} (digits, one '.', a leading '-')")
    if d.adjusted() + decimals >= 40:
        raise ValueError(f"{text} is too large: the limit is 10^36 units")
    with localcontext(EXACT):  # the default context keeps 28 digits and would round
        scaled = d.scaleb(decimals)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text} has more than {decimals} decimal places")
        n = int(scaled)
    if abs(n) >= MAX_UNITS:
        raise ValueError(f"{text} is too large: the limit is 10^36 units of 10^-{decimals}")
    if n < 0 and not allow_negative:
        raise ValueError(f"{text} must not be negative")
    return n


def to_ppm(text: str) -> int:
    """A rate or weight as an integer number of parts per million (at most 6 decimals)."""
    return to_units(text, 6)


#: θ above this many times the requirement is refused as absurd.
MAX_THRESHOLD_PPM = 1000 * PPM


def parse_threshold(text: str) -> int:
    """θ as parts per million: a decimal in [1, 1000] with at most 6 decimals."""
    try:
        ppm = to_ppm(str(text).strip())
    except (ValueError, ArithmeticError):
        raise FormatError(f"threshold {text!r} is not a decimal with at most 6 decimals") from None
    if not PPM <= ppm <= MAX_THRESHOLD_PPM:
        raise FormatError(f"threshold {text} must lie between 1 and {MAX_THRESHOLD_PPM // PPM}")
    return ppm


def format_decimal(units: int, decimals: int) -> str:
    """units·10^−decimals as a decimal string with exactly ``decimals`` decimals (the inverse of
    :func:`to_units`)."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    if decimals == 0:
        return f"{sign}{units}"
    return f"{sign}{units // 10**decimals}.{units % 10**decimals:0{decimals}d}"
