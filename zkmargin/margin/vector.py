"""The margin engine vectorised with numpy across accounts (same numbers as :mod:`.scalar`).

Accounts are held column-wise (:class:`AccountTable`): a balance matrix (accounts × assets) and a
position table sorted by account. Each step loops over the few assets or instruments of the
market and computes on every account or position at once, with the exact integer vectors of
:mod:`.intvec` (int64 while a bound proves it safe, Python ints where a product could overflow).
Per-account totals are segment sums over the sorted position table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.accounts import Account
from ..formats.common import PPM
from . import intvec as iv
from .intvec import IntArray
from .market import Market
from .scalar import compile_account, evaluate

MODES = ("cross", "isolated", "portfolio")


@dataclass
class AccountTable:
    """Accounts column-wise, in integer units (see :mod:`.scalar`)."""

    ids: list[str]
    mode: npt.NDArray[np.int8]  # index into MODES
    cash: IntArray
    balances: IntArray  # accounts × assets
    pos_account: npt.NDArray[np.int64]  # sorted
    pos_instrument: npt.NDArray[np.int64]
    pos_size: IntArray
    pos_quote: IntArray  # inverse contracts: the entry price
    pos_isolated: IntArray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_accounts(
        cls, accounts: Sequence[Account], market: Market, file: str = "accounts"
    ) -> AccountTable:
        """Compile validated accounts (errors name file, account and field)."""
        compiled = [compile_account(a, market, file) for a in accounts]
        n = len(compiled)
        rows = [(i, p) for i, c in enumerate(compiled) for p in c.positions]

        def column(values: list[int]) -> IntArray:
            arr = np.array(values, dtype=object)
            return iv.narrow(arr) if len(values) else np.zeros(0, dtype=np.int64)

        balances = np.array([list(c.balances) for c in compiled], dtype=object).reshape(
            n, len(market.assets)
        )
        return cls(
            ids=[c.id for c in compiled],
            mode=np.array([MODES.index(c.mode) for c in compiled], dtype=np.int8),
            cash=column([c.cash for c in compiled]),
            balances=iv.narrow(balances) if n else np.zeros((0, len(market.assets)), np.int64),
            pos_account=np.array([i for i, _ in rows], dtype=np.int64),
            pos_instrument=np.array([p.instrument for _, p in rows], dtype=np.int64),
            pos_size=column([p.size for _, p in rows]),
            pos_quote=column([p.quote for _, p in rows]),
            pos_isolated=column([p.isolated_margin for _, p in rows]),
        )


@dataclass
class MarginReport:
    """Per-account figures in valuation units, column-wise."""

    ids: list[str]
    mode: npt.NDArray[np.int8]
    equity: IntArray
    maintenance: IntArray
    initial: IntArray
    healthy: npt.NDArray[np.bool_]
    margin_ratio: npt.NDArray[np.float64]  # NaN where nothing is required
    liquidation: dict[int, dict[str, int | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def _per_account(values: IntArray, accounts: npt.NDArray[np.int64], n: int) -> IntArray:
    """Sum row values into their (sorted) accounts; accounts without rows get 0."""
    out: IntArray = np.zeros(n, dtype=np.int64)
    if len(accounts) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, accounts[1:] != accounts[:-1]])
    sums = iv.segment_sum(values, starts, len(starts))
    if sums.dtype == object:
        out = out.astype(object)
    out[accounts[starts]] = sums
    return out


def _collateral(market: Market, table: AccountTable) -> tuple[IntArray, IntArray]:
    """(counted collateral value, borrow cost) per account."""
    n = len(table)
    counted: IntArray = np.zeros(n, dtype=np.int64)
    borrows: IntArray = np.zeros(n, dtype=np.int64)
    for a in market.assets:
        b = table.balances[:, a.index]
        if not b.any():
            continue
        exp = market.valuation_decimals - a.decimals - a.price_decimals
        bp = np.where(b > 0, b, 0)
        bn = np.where(b < 0, -b, 0)
        if not a.tiers:
            value = iv.muldiv(bp, a.price * a.weight_ppm, PPM, exp, up=False)
        else:
            basis = bp if a.tier_basis == "amount" else iv.muldiv(bp, a.price, 1, exp, up=False)
            weighted: IntArray = np.zeros(n, dtype=np.int64)
            lo = 0
            for upto, weight in a.tiers:
                top = basis if upto is None else np.minimum(basis, upto)
                part = np.maximum(iv.sub(top, lo), 0)
                weighted = iv.add(weighted, iv.mul(part, weight))
                if upto is None:
                    break
                lo = upto
            if a.tier_basis == "amount":
                value = iv.muldiv(weighted, a.price, PPM, exp, up=False)
            else:
                value = iv.floordiv(weighted, PPM)
        counted = iv.add(counted, value)
        borrows = iv.add(
            borrows, iv.muldiv(bn, a.price * a.liability_weight_ppm, PPM, exp, up=True)
        )
    return counted, borrows


def evaluate_table(
    market: Market, table: AccountTable, *, threshold_ppm: int = PPM, liquidation: bool = True
) -> MarginReport:
    """Equity, maintenance and initial requirement, health and margin ratio of every account."""
    n = len(table)
    if market.accounting == "mango_health":
        return _mango_fallback(market, table)
    mode = table.mode
    counted, borrows = _collateral(market, table)
    rows = len(table.pos_account)
    row_value: IntArray = np.zeros(rows, dtype=np.int64)
    row_mm: IntArray = np.zeros(rows, dtype=np.int64)
    row_im: IntArray = np.zeros(rows, dtype=np.int64)
    row_mode = mode[table.pos_account] if rows else np.zeros(0, dtype=np.int8)
    order = np.argsort(table.pos_instrument, kind="stable")
    bounds = np.searchsorted(table.pos_instrument[order], np.arange(len(market.instruments) + 1))
    for inst in market.instruments:
        idx = order[bounds[inst.index] : bounds[inst.index + 1]]
        if len(idx) == 0:
            continue
        s = table.pos_size[idx]
        q = table.pos_quote[idx]
        settle = market.assets[inst.settle_index]
        e_settle = market.valuation_decimals - settle.decimals - settle.price_decimals
        a = settle.decimals - inst.size_decimals - inst.price_decimals
        if inst.kind == "inverse":
            num = iv.mul(iv.mul(s, inst.contract_value * 10**settle.decimals), iv.sub(inst.mark, q))
            value_s = iv.floordiv(num, iv.mul(q, 10**inst.size_decimals * inst.mark))
            n_num = iv.mul(np.abs(s), inst.contract_value * 10**settle.decimals)
            n_den = 10**inst.size_decimals * inst.mark
        else:
            value_s = iv.muldiv(
                iv.add(iv.mul(s, inst.mark), q), inst.multiplier_ppm, PPM, a, up=False
            )
            n_num = iv.mul(np.abs(s), inst.mark * inst.multiplier_ppm * 10 ** max(a, 0))
            n_den = PPM * 10 ** max(-a, 0)
        rmode = row_mode[idx]
        iso = rmode == 1
        value_v = iv.muldiv(
            iv.add(value_s, np.where(iso, table.pos_isolated[idx], 0)),
            settle.price,
            1,
            e_settle,
            up=False,
        )
        sched = inst.schedule
        margined = rmode != 2
        if sched is not None and margined.any():
            if sched.fraction_ppm is not None:
                assert sched.initial_rate_ppm is not None
                im_s = iv.ceildiv(iv.mul(n_num, sched.initial_rate_ppm), n_den * PPM)
                mm_s = iv.ceildiv(iv.mul(im_s, sched.fraction_ppm), PPM)
            else:
                best = None
                for rate, cum in sched.pieces:
                    piece = iv.sub(iv.mul(n_num, rate), cum * n_den)
                    best = piece if best is None else np.maximum(best, piece)
                assert best is not None
                mm_s = iv.ceildiv(best, n_den * PPM)
                if sched.initial_rate_ppm is not None:
                    im_s = iv.ceildiv(iv.mul(n_num, sched.initial_rate_ppm), n_den * PPM)
                else:
                    im_s = mm_s
            mm_v = np.where(margined, iv.muldiv(mm_s, settle.price, 1, e_settle, up=True), 0)
            im_v = np.where(margined, iv.muldiv(im_s, settle.price, 1, e_settle, up=True), 0)
            row_mm = _assign(row_mm, idx, mm_v)
            row_im = _assign(row_im, idx, im_v)
        row_value = _assign(row_value, idx, value_v)
    pos_value = _per_account(row_value, table.pos_account, n)
    maintenance = _per_account(row_mm, table.pos_account, n)
    initial = _per_account(row_im, table.pos_account, n)
    # Portfolio margin: the largest loss over the grid.
    port_rows = np.flatnonzero(row_mode == 2)
    if len(port_rows):
        ra = np.zeros((len(market.instruments), market.scenario_count), dtype=np.int64)
        for i, arr in market.risk_arrays.items():
            ra[i] = arr
        worst: IntArray = np.zeros(n, dtype=np.int64)
        sizes = table.pos_size[port_rows]
        accts = table.pos_account[port_rows]
        for sc in range(market.scenario_count):
            loss = _per_account(iv.mul(sizes, -ra[table.pos_instrument[port_rows], sc]), accts, n)
            worst = np.maximum(worst, loss)
        port = mode == 2
        maintenance = np.where(port, worst, maintenance)
        initial = np.where(port, worst, initial)
    isolated = mode == 1
    equity = np.where(isolated, pos_value, iv.add(iv.add(counted, table.cash), pos_value))
    if market.liabilities == "equity":
        equity = iv.sub(equity, borrows)
    else:
        maintenance = iv.add(maintenance, borrows)
        initial = iv.add(initial, borrows)
    excess = iv.sub(iv.mul(equity, PPM), iv.mul(maintenance, threshold_ppm))
    healthy = np.asarray(excess >= 0, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            np.asarray(maintenance > 0),
            np.asarray(equity, dtype=np.float64)
            / np.maximum(np.asarray(maintenance, dtype=np.float64), 1.0),
            np.nan,
        )
    if isolated.any():
        row_excess = iv.sub(iv.mul(row_value, PPM), iv.mul(row_mm, threshold_ppm))
        iso_rows = np.flatnonzero(row_mode == 1)
        bad = np.zeros(n, dtype=bool)
        bad[table.pos_account[iso_rows[np.asarray(row_excess[iso_rows] < 0)]]] = True
        healthy = np.where(isolated, ~bad, healthy)
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = np.where(
                np.asarray(row_mm[iso_rows] > 0),
                np.asarray(row_value[iso_rows], dtype=np.float64)
                / np.maximum(np.asarray(row_mm[iso_rows], dtype=np.float64), 1.0),
                np.inf,
            )
        worst_r = np.full(n, np.inf)
        np.minimum.at(worst_r, table.pos_account[iso_rows], rr)
        ratio = np.where(isolated, np.where(np.isinf(worst_r), np.nan, worst_r), ratio)
    report = MarginReport(
        list(table.ids),
        mode,
        iv.narrow(np.asarray(equity)),
        iv.narrow(np.asarray(maintenance)),
        iv.narrow(np.asarray(initial)),
        healthy,
        ratio,
    )
    return report


def _assign(target: IntArray, idx: npt.NDArray[np.int64], values: Any) -> IntArray:
    values = np.asarray(values)
    if values.dtype == object and target.dtype != object:
        target = target.astype(object)
    target[idx] = values
    return target


def _mango_fallback(market: Market, table: AccountTable) -> MarginReport:
    """Mango health, account by account through the scalar engine (a venue convention)."""
    from .scalar import CompiledAccount, CompiledPosition

    results = []
    for i, acc_id in enumerate(table.ids):
        rows = np.flatnonzero(table.pos_account == i)
        positions = tuple(
            CompiledPosition(
                int(table.pos_instrument[r]),
                int(table.pos_size[r]),
                int(table.pos_quote[r]),
                int(table.pos_isolated[r]),
                None,
            )
            for r in rows
        )
        acc = CompiledAccount(
            acc_id,
            MODES[int(table.mode[i])],
            int(table.cash[i]),
            tuple(int(b) for b in table.balances[i]),
            positions,
        )
        results.append(evaluate(acc, market))
    return MarginReport(
        [r.id for r in results],
        table.mode,
        iv.narrow(np.array([r.equity for r in results], dtype=object)),
        iv.narrow(np.array([r.maintenance for r in results], dtype=object)),
        iv.narrow(np.array([r.initial for r in results], dtype=object)),
        np.array([r.healthy for r in results], dtype=bool),
        np.array([np.nan if r.margin_ratio is None else r.margin_ratio for r in results]),
    )


def evaluate_accounts(
    market: Market, accounts: Sequence[Account], *, threshold_ppm: int = PPM
) -> MarginReport:
    """Compile and evaluate validated accounts."""
    return evaluate_table(
        market, AccountTable.from_accounts(accounts, market), threshold_ppm=threshold_ppm
    )
