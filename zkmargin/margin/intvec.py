"""Exact integer vectors: int64 when a bound proves no overflow, Python ints otherwise.

numpy's int64 arithmetic wraps silently. Before each product or sum these helpers bound the
result in float64 (|a|·|b| or |a| + |b|, with a wide margin below 2^63) and, where the bound
could overflow, compute that operation on object arrays of Python ints instead. Results are
exact either way; :func:`narrow` returns to int64 when every value fits again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[Any]  # int64 or object (Python ints)
Scalarish = int | IntArray

_LIMIT = float(2**62)


def _is_obj(x: Scalarish) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


def _bound(x: Scalarish) -> float:
    if isinstance(x, np.ndarray):
        if x.size == 0:
            return 0.0
        if x.dtype == object:
            return float(max(abs(int(v)) for v in x.flat))
        return float(np.abs(x.astype(np.float64)).max())
    return float(abs(x))


def obj(x: Scalarish) -> Any:
    """The same values as Python ints (object array, or int)."""
    if isinstance(x, np.ndarray):
        return x if x.dtype == object else x.astype(object)
    return int(x)


def narrow(x: IntArray) -> IntArray:
    """Back to int64 when every value fits (with the same margin)."""
    if x.dtype == object and (x.size == 0 or _bound(x) < _LIMIT):
        return x.astype(np.int64)
    return x


def mul(a: Scalarish, b: Scalarish) -> IntArray:
    """a·b, exact."""
    if _is_obj(a) or _is_obj(b) or _bound(a) * _bound(b) >= _LIMIT:
        return np.asarray(obj(a) * obj(b))
    return np.asarray(np.multiply(a, b, dtype=np.int64))


def add(a: Scalarish, b: Scalarish) -> IntArray:
    """a + b, exact."""
    if _is_obj(a) or _is_obj(b) or _bound(a) + _bound(b) >= _LIMIT:
        return np.asarray(obj(a) + obj(b))
    return np.asarray(np.add(a, b, dtype=np.int64))


def sub(a: Scalarish, b: Scalarish) -> IntArray:
    """a − b, exact."""
    if _is_obj(a) or _is_obj(b) or _bound(a) + _bound(b) >= _LIMIT:
        return np.asarray(obj(a) - obj(b))
    return np.asarray(np.subtract(a, b, dtype=np.int64))


def floordiv(a: IntArray, d: Scalarish) -> IntArray:
    """⌊a/d⌋ for d > 0."""
    if _is_obj(a) or _is_obj(d):
        return narrow(np.asarray(obj(a) // obj(d)))
    return np.asarray(np.floor_divide(a, d))


def ceildiv(a: IntArray, d: Scalarish) -> IntArray:
    """⌈a/d⌉ for d > 0."""
    if _is_obj(a) or _is_obj(d):
        return narrow(np.asarray(-((-obj(a)) // obj(d))))
    return np.asarray(-np.floor_divide(-a, d))


def scale10(a: IntArray, exp: int, *, up: bool) -> IntArray:
    """a·10^exp rounded up or down when exp < 0."""
    if exp >= 0:
        return mul(a, 10**exp)
    return ceildiv(a, 10**-exp) if up else floordiv(a, 10**-exp)


def muldiv(a: IntArray, num: Scalarish, den: int, exp: int, *, up: bool) -> IntArray:
    """a·num·10^exp/den, rounded up or down (den > 0): one rounding, like the scalar engine."""
    if exp >= 0:
        n = mul(mul(a, num), 10**exp)
        d = den
    else:
        n = mul(a, num)
        d = den * 10**-exp
    return ceildiv(n, d) if up else floordiv(n, d)


def segment_sum(values: IntArray, starts: npt.NDArray[np.int64], length: int) -> IntArray:
    """Sums of consecutive segments beginning at ``starts`` (sorted rows), exactly."""
    out: IntArray
    if len(values) == 0:
        return np.zeros(length, dtype=np.int64)
    if values.dtype != object and float(np.abs(values.astype(np.float64)).sum()) < _LIMIT:
        out = np.add.reduceat(values, starts)
        return out
    vals = obj(values)
    bounds = [*starts.tolist(), len(vals)]
    return narrow(
        np.array(
            [sum(vals[bounds[i] : bounds[i + 1]], 0) for i in range(len(starts))], dtype=object
        )
    )
