"""Integer scaling by powers of ten with an explicit rounding direction.

Conservative rounding everywhere: what counts for an account (collateral, profits) rounds down,
what counts against it (requirements, liabilities) rounds up.
"""

from __future__ import annotations


def ceil_div(a: int, b: int) -> int:
    """⌈a/b⌉ for b > 0."""
    return -((-a) // b)


def muldiv(x: int, num: int, den: int, exp: int, *, up: bool) -> int:
    """x·num·10^exp / den, rounded up or down; den > 0."""
    if exp >= 0:
        n, d = x * num * 10**exp, den
    else:
        n, d = x * num, den * 10**-exp
    return ceil_div(n, d) if up else n // d
