"""Liquidation prices for every linear position at once, exact.

For a position of size s on a piece t of its requirement (rate r_t, cum C_t, both ×10^6), with
everything else in the account fixed, the mark P at which equity meets maintenance solves

    P·c·k·(s − |s|·r_t/10^6) = −rest − c·(k·q + iso) − c·C_t/10^6,

where c converts settle units to valuation units, k turns size·price into settle units, q is the
quote numerator, iso the isolated margin and rest the account's equity minus maintenance without
this position (zero for an isolated one). The root is kept on the piece whose tier holds the
notional k·|s|·P; longs round up and shorts down (:func:`.scalar.liquidation_prices`).

Each root is computed in float64 together with a rigorous bound on its error. Where the bound
decides everything — the sign, the tier, the rounded price — the float result is exact; the few
rows where the bound straddles a decision are solved again in exact rationals by the scalar
engine. The result therefore equals the scalar engine's on every row.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.common import PPM
from .market import Market
from .scalar import AccountResult, CompiledAccount, _liquidation_price
from .vector import MODES, AccountTable, MarginReport

#: Relative error allowance of the float evaluation (a few ulps per operation, generously).
_EPS = 1e-12


def liquidation_prices(
    market: Market,
    table: AccountTable,
    report: MarginReport,
    row_value: npt.NDArray[Any],
    row_mm: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.int64], list[int | None]]:
    """(position rows, price in price units or None) for the linear positions of cross and
    isolated accounts."""
    rows_out: list[npt.NDArray[np.int64]] = []
    prices_out: list[int | None] = []
    acct_mode = np.asarray(table.mode)[table.pos_account]
    eligible = (acct_mode != 2) & (np.asarray(table.pos_size) != 0)
    equity = np.asarray(report.equity)
    maintenance = np.asarray(report.maintenance)
    for inst in market.instruments:
        if inst.kind != "linear" or inst.schedule is None or market.accounting != "standard":
            continue
        rows = np.flatnonzero(eligible & (table.pos_instrument == inst.index))
        if not len(rows):
            continue
        sched = inst.schedule
        if sched.fraction_ppm is not None:
            assert sched.initial_rate_ppm is not None
            pieces = [(sched.initial_rate_ppm * sched.fraction_ppm // PPM, 0)]
        else:
            pieces = list(sched.pieces)
        settle = market.assets[inst.settle_index]
        c = settle.price * 10.0 ** (
            market.valuation_decimals - settle.decimals - settle.price_decimals
        )
        k = (
            inst.multiplier_ppm
            * 10.0 ** (settle.decimals - inst.size_decimals - inst.price_decimals)
            / PPM
        )
        s = np.asarray(table.pos_size[rows], dtype=np.float64)
        q = np.asarray(table.pos_quote[rows], dtype=np.float64)
        iso = np.asarray(table.pos_isolated[rows], dtype=np.float64)
        accts = table.pos_account[rows]
        is_iso = np.asarray(table.mode)[accts] == 1
        rest_exact = np.where(
            is_iso,
            0,
            (equity[accts].astype(object) - np.asarray(row_value[rows], dtype=object))
            - (maintenance[accts].astype(object) - np.asarray(row_mm[rows], dtype=object)),
        )
        rest = rest_exact.astype(np.float64)
        iso = np.where(is_iso, iso, 0.0)
        # tier boundaries of the convex maximum, in settle units (notional)
        bounds = [-math.inf]
        for (r0, c0), (r1, c1) in pairwise(pieces):
            bounds.append((c1 - c0) / (r1 - r0) if r1 != r0 else math.inf)
        bounds.append(math.inf)
        best = np.full(len(rows), np.nan)
        best_err = np.zeros(len(rows))
        ambiguous = np.zeros(len(rows), dtype=bool)
        long = s > 0
        scale_terms = np.abs(rest) + c * (k * np.abs(q) + iso)
        for t, (rate, cum) in enumerate(pieces):
            den = c * k * (s - np.abs(s) * rate / PPM)
            num = -rest - c * (k * q + iso) - c * cum / PPM
            with np.errstate(divide="ignore", invalid="ignore"):
                p = num / den
                err = _EPS * (scale_terms + c * abs(cum) / PPM) / np.abs(den) + _EPS * np.abs(p)
            finite = np.isfinite(p) & (den != 0)
            notional = k * np.abs(s) * p
            n_err = k * np.abs(s) * err
            lo, hi = bounds[t], bounds[t + 1]
            valid = finite & (p > err) & (notional >= lo + n_err) & (notional <= hi - n_err)
            near = finite & (
                (np.abs(p) <= err)
                | (np.abs(notional - lo) <= n_err + _EPS * abs(lo) if math.isfinite(lo) else False)
                | (np.abs(notional - hi) <= n_err + _EPS * abs(hi) if math.isfinite(hi) else False)
            )
            ambiguous |= near
            pick = valid & (np.isnan(best) | np.where(long, p > best, p < best))
            best = np.where(pick, p, best)
            best_err = np.where(pick, err, best_err)
        found = ~np.isnan(best)
        rounded = np.where(long, np.ceil(best), np.floor(best))
        # the rounding is decided only if best ± its error round the same way
        with np.errstate(invalid="ignore"):
            lo_round = np.where(long, np.ceil(best - best_err), np.floor(best - best_err))
            hi_round = np.where(long, np.ceil(best + best_err), np.floor(best + best_err))
        ambiguous |= found & (lo_round != hi_round)
        for j, row in enumerate(rows):
            if ambiguous[j]:
                prices_out.append(_exact(market, table, report, int(row), inst.index))
            else:
                prices_out.append(int(rounded[j]) if found[j] else None)
        rows_out.append(rows)
    all_rows = np.concatenate(rows_out) if rows_out else np.zeros(0, dtype=np.int64)
    return all_rows, prices_out


def _exact(
    market: Market, table: AccountTable, report: MarginReport, row: int, instrument: int
) -> int | None:
    """The scalar engine's exact answer for one position row."""
    a = int(table.pos_account[row])
    pos = table.position(row)
    mode = MODES[int(table.mode[a])]
    acc = CompiledAccount(table.ids[a], mode, 0, (), (pos,))
    res = AccountResult(
        table.ids[a], mode, int(report.equity[a]), int(report.maintenance[a]), 0, True, None
    )
    return _liquidation_price(acc, market, res, pos, market.instruments[instrument])
