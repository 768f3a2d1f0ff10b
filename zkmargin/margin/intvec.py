"""Exact integer vectors: int64 when a bound proves no overflow, Python ints otherwise.

numpy's int64 arithmetic wraps silently. Before each product or sum these helpers bound the
result in float64 (|a|·|b| or |a| + |b|, with a wide margin below 2^63) and, where the bound
could overflow, compute that operation on object arrays of Python ints instead. Results are
exact either way; :func:`narrow` returns to int64 when every value fits again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[Any]  # int64 or object (Python ints)
Scalarish = int | IntArray

_LIMIT = float(2**62)


def _is_obj(x: Scalarish) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


def max_abs(x: Scalarish) -> float:
    """max |x| as a float (an upper bound is all the callers need)."""
    if isinstance(x, np.ndarray):
        if x.size == 0:
            return 0.0
        if x.dtype == object:
            return float(max(abs(int(v)) for v in x.flat))
        return float(max(-int(x.min()), int(x.max())))
    return float(abs(x))


def obj(x: Scalarish) -> Any:
    """The same values as Python ints (object array, or int)."""
    if isinstance(x, np.ndarray):
        return x if x.dtype == object else x.astype(object)
    return int(x)


def narrow(x: IntArray) -> IntArray:
    """Back to int64 when every value fits (with the same margin)."""
    if x.dtype == object and (x.size == 0 or max_abs(x) < _LIMIT):
        return x.astype(np.int64)
    return x


def mul(a: Scalarish, b: Scalarish) -> IntArray:
    """a·b, exact."""
    if _is_obj(a) or _is_obj(b) or max_abs(a) * max_abs(b) >= _LIMIT:
        return np.asarray(obj(a) * obj(b))
    return np.asarray(np.multiply(a, b, dtype=np.int64))


def add(a: Scalarish, b: Scalarish) -> IntArray:
    """a + b, exact."""
    if _is_obj(a) or _is_obj(b) or max_abs(a) + max_abs(b) >= _LIMIT:
        return np.asarray(obj(a) + obj(b))
    return np.asarray(np.add(a, b, dtype=np.int64))


def sub(a: Scalarish, b: Scalarish) -> IntArray:
    """a − b, exact."""
    if _is_obj(a) or _is_obj(b) or max_abs(a) + max_abs(b) >= _LIMIT:
        return np.asarray(obj(a) - obj(b))
    return np.asarray(np.subtract(a, b, dtype=np.int64))


def floordiv(a: IntArray, d: Scalarish) -> IntArray:
    """⌊a/d⌋ for d > 0."""
    if _is_obj(a) or _is_obj(d):
        return narrow(np.asarray(obj(a) // obj(d)))
    return np.asarray(np.floor_divide(a, d))


def segment_sum(
    values: IntArray, starts: npt.NDArray[np.int64], length: int, longest: int | None = None
) -> IntArray:
    """Sums of consecutive segments beginning at ``starts`` (sorted rows), exactly.

    ``longest`` (the longest segment) bounds a sum by max|v|·longest without another pass.
    """
    out: IntArray
    if len(values) == 0:
        return np.zeros(length, dtype=np.int64)
    span = longest if longest is not None else len(values)
    if values.dtype != object and max_abs(values) * span < _LIMIT:
        out = np.add.reduceat(values, starts)
        return out
    vals = obj(values)
    bounds = [*starts.tolist(), len(vals)]
    return narrow(
        np.array(
            [sum(vals[bounds[i] : bounds[i + 1]], 0) for i in range(len(starts))], dtype=object
        )
    )


# ----- exact division of products that overflow int64, when the quotient does not ------------

_MAX_DIVISOR = 2**49


def affine_div(
    a: IntArray, m: int, k: int, d: int, *, up: bool, bound: float | None = None
) -> IntArray:
    """⌊(a·m + k)/d⌋ or ⌈…⌉ exactly, for d > 0.

    The quotient is estimated in float64 and corrected with the remainder a·m + k − q·d computed
    in wrapping int64 arithmetic: that remainder is small (|q_err| + 1)·d < 2^63, so its value
    mod 2^64 is its true value, and q + ⌊r/d⌋ is the exact floor. Used whenever the quotient fits
    in int64 and m, k, d are moderate; otherwise the exact Python-int path. ``bound``, if
    given, is a known upper bound of max|a| (saves a pass over ``a``).
    """
    g = math.gcd(m, k, d)
    m, k, d = m // g, k // g, d // g
    a_bound = max_abs(a) if bound is None or a.dtype == object else bound
    if a.dtype != object and a_bound * abs(m) + abs(k) + d < _LIMIT:
        # ⌈x/d⌉ = ⌊(x + d − 1)/d⌋
        return np.asarray(np.floor_divide(a * np.int64(m) + np.int64(k + (d - 1 if up else 0)), d))
    if up:  # ⌈x/d⌉ = −⌊−x/d⌋
        return _neg(affine_div(_neg(a), m, -k, d, up=False))
    small = abs(m) < 2**62 and abs(k) < 2**62 and 0 < d < _MAX_DIVISOR
    if a.dtype == object or not small:
        return narrow(np.asarray((obj(a) * m + k) // d))
    est = np.floor((a.astype(np.float64) * float(m) + float(k)) / float(d))
    if a.size and np.abs(est).max() >= 2.0**62:
        return narrow(np.asarray((obj(a) * m + k) // d))
    q = est.astype(np.int64)
    with np.errstate(over="ignore"):
        r = a * np.int64(m) + np.int64(k) - q * np.int64(d)
    return np.asarray(q + np.floor_divide(r, d))


def _neg(a: IntArray) -> IntArray:
    return np.asarray(-a)


def product_div(factors: list[IntArray | int], d: IntArray | int, *, up: bool) -> IntArray:
    """⌊Π factors / d⌋ (or ⌈…⌉) exactly for integer arrays and a positive divisor (per row)."""
    n_est: Any = np.float64(1.0)
    wrapped: Any = np.int64(1)
    for f in factors:
        n_est = n_est * (f.astype(np.float64) if isinstance(f, np.ndarray) else float(f))
    arrays = [f for f in factors if isinstance(f, np.ndarray)]
    d_arr = d if isinstance(d, np.ndarray) else None
    exact_ok = (
        all(f.dtype != object for f in arrays)
        and all(abs(f) < 2**62 for f in factors if not isinstance(f, np.ndarray))
        and (d_arr is None or d_arr.dtype != object)
        and float(np.max(d)) < _MAX_DIVISOR
        and float(np.min(d)) > 0
    )
    if exact_ok:
        if up:
            n_est = -n_est
        est = np.floor(n_est / (d_arr.astype(np.float64) if d_arr is not None else float(d)))
        if not est.size or np.abs(est).max() < 2.0**62:
            with np.errstate(over="ignore"):
                for f in factors:
                    wrapped = wrapped * (f if isinstance(f, np.ndarray) else np.int64(f))
                if up:
                    wrapped = -wrapped
                q = est.astype(np.int64)
                dd = d if d_arr is not None else np.int64(d)
                r = wrapped - q * dd
            out = q + np.floor_divide(r, dd)
            return np.asarray(-out if up else out)
    n: Any = 1
    for f in factors:
        n = n * obj(f)
    dv = obj(d)
    res = -((-n) // dv) if up else n // dv
    return narrow(np.asarray(res, dtype=object))
