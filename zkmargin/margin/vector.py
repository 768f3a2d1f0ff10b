"""The margin engine vectorised with numpy across accounts (same numbers as :mod:`.scalar`).

Accounts are held column-wise (:class:`AccountTable`): a balance matrix (accounts × assets) and a
position table sorted by account. Each step loops over the few assets or instruments of the
market and computes on every account or position at once, with the exact integer vectors of
:mod:`.intvec` (int64 while a bound proves it safe, Python ints where a product could overflow).
Per-account totals are segment sums over the sorted position table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.accounts import Account
from ..formats.common import PPM
from . import intvec as iv
from .intvec import IntArray
from .market import Market
from .scalar import CompiledAccount, CompiledPosition, compile_account, evaluate

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

    def position(self, row: int) -> CompiledPosition:
        """Position row ``row`` as the scalar engine takes it."""
        return CompiledPosition(
            int(self.pos_instrument[row]),
            int(self.pos_size[row]),
            int(self.pos_quote[row]),
            int(self.pos_isolated[row]),
            None,
        )

    def account(self, i: int, rows: range | None = None) -> CompiledAccount:
        """Account ``i`` as the scalar engine takes it (``rows``: its position rows, if known)."""
        if rows is None:
            lo, hi = np.searchsorted(self.pos_account, [i, i + 1])
            rows = range(int(lo), int(hi))
        return CompiledAccount(
            self.ids[i],
            MODES[int(self.mode[i])],
            int(self.cash[i]),
            tuple(int(b) for b in self.balances[i]),
            tuple(self.position(r) for r in rows),
        )

    def accounts(self) -> Iterator[CompiledAccount]:
        """Every account, in order, as the scalar engine takes it."""
        bounds = np.searchsorted(self.pos_account, np.arange(len(self) + 1))
        for i in range(len(self)):
            yield self.account(i, range(int(bounds[i]), int(bounds[i + 1])))

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
    #: Per position row of the table: its value (isolated: its equity) and its maintenance
    #: requirement, both valued; what liquidation prices are solved from.
    row_value: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_mm: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)


class _Segments:
    """Where each account's rows start in a table sorted by account (computed once)."""

    def __init__(self, accounts: npt.NDArray[np.int64], n: int) -> None:
        self.n = n
        self.empty = len(accounts) == 0
        if not self.empty:
            self.starts = np.flatnonzero(np.r_[True, accounts[1:] != accounts[:-1]])
            self.owners = accounts[self.starts]
            self.longest = int(np.diff(np.r_[self.starts, len(accounts)]).max())

    def sum(self, values: IntArray) -> IntArray:
        """Per-account sums of row values; accounts without rows get 0."""
        out: IntArray = np.zeros(self.n, dtype=np.int64)
        if self.empty:
            return out
        sums = iv.segment_sum(values, self.starts, len(self.starts), self.longest)
        if sums.dtype == object:
            out = out.astype(object)
        out[self.owners] = sums
        return out


def _collateral(market: Market, table: AccountTable) -> tuple[IntArray, IntArray]:
    """(counted collateral value, borrow cost) per account."""
    n = len(table)
    counted: IntArray = np.zeros(n, dtype=np.int64)
    borrows: IntArray = np.zeros(n, dtype=np.int64)
    columns = np.ascontiguousarray(table.balances.T)  # one contiguous row per asset
    for a in market.assets:
        b = columns[a.index]
        lo_b, hi_b = (int(b.min()), int(b.max())) if n else (0, 0)
        if lo_b == hi_b == 0:
            continue
        exp = market.valuation_decimals - a.decimals - a.price_decimals
        bp = b if lo_b >= 0 else np.maximum(b, 0)
        up10, down10 = 10 ** max(exp, 0), 10 ** max(-exp, 0)
        if not a.tiers:
            value = iv.affine_div(bp, a.price * a.weight_ppm * up10, 0, PPM * down10, up=False)
        else:
            basis = (
                bp
                if a.tier_basis == "amount"
                else iv.affine_div(bp, a.price * up10, 0, down10, up=False)
            )
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
                value = iv.affine_div(weighted, a.price * up10, 0, PPM * down10, up=False)
            else:
                value = iv.floordiv(weighted, PPM)
        counted = iv.add(counted, value)
        if lo_b < 0:
            bn = np.maximum(-b, 0)
            borrows = iv.add(
                borrows,
                iv.affine_div(
                    bn, a.price * a.liability_weight_ppm * up10, 0, PPM * down10, up=True
                ),
            )
    return counted, borrows


def evaluate_table(
    market: Market, table: AccountTable, *, threshold_ppm: int = PPM
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
    key = table.pos_instrument.astype(np.int16)  # few instruments: a radix sort
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(len(market.instruments) + 1))
    for inst in market.instruments:
        idx = order[bounds[inst.index] : bounds[inst.index + 1]]
        if len(idx) == 0:
            continue
        s = table.pos_size[idx]
        q = table.pos_quote[idx]
        settle = market.assets[inst.settle_index]
        e_settle = market.valuation_decimals - settle.decimals - settle.price_decimals
        a = settle.decimals - inst.size_decimals - inst.price_decimals
        s_up, s_down = 10 ** max(e_settle, 0), 10 ** max(-e_settle, 0)
        size_abs = np.abs(s) if s.dtype != object else np.asarray([abs(x) for x in s], object)
        size_bound = iv.max_abs(size_abs)
        if inst.kind == "inverse":
            value_s = iv.product_div(
                [s, inst.contract_value * 10**settle.decimals, iv.sub(inst.mark, q)],
                iv.mul(q, 10**inst.size_decimals * inst.mark),
                up=False,
            )
            n_mul = inst.contract_value * 10**settle.decimals  # N = |s|·n_mul / n_den
            n_den = 10**inst.size_decimals * inst.mark
        else:
            value_s = iv.affine_div(
                iv.add(iv.mul(s, inst.mark), q),
                inst.multiplier_ppm * 10 ** max(a, 0),
                0,
                PPM * 10 ** max(-a, 0),
                up=False,
            )
            n_mul = inst.mark * inst.multiplier_ppm * 10 ** max(a, 0)
            n_den = PPM * 10 ** max(-a, 0)
        rmode = row_mode[idx]
        iso = rmode == 1
        with_margin = (
            iv.add(value_s, np.where(iso, table.pos_isolated[idx], 0)) if iso.any() else value_s
        )
        value_v = iv.affine_div(with_margin, settle.price * s_up, 0, s_down, up=False)
        sched = inst.schedule
        margined = rmode != 2
        if sched is not None and margined.any():
            im_rate = sched.initial_rate_ppm
            im_s = (
                None
                if im_rate is None
                else iv.affine_div(
                    size_abs, n_mul * im_rate, 0, n_den * PPM, up=True, bound=size_bound
                )
            )
            if sched.fraction_ppm is not None:
                assert im_s is not None
                mm_s = iv.affine_div(im_s, sched.fraction_ppm, 0, PPM, up=True)
            else:
                best = None
                for rate, cum in sched.pieces:  # ⌈max_t(N·rate − cum)/10^6⌉ = max_t ⌈…⌉
                    piece = iv.affine_div(
                        size_abs, n_mul * rate, -cum * n_den, n_den * PPM, up=True, bound=size_bound
                    )
                    best = piece if best is None else np.maximum(best, piece)
                assert best is not None
                mm_s = best
                if im_s is None:
                    im_s = mm_s
            mm_v = iv.affine_div(mm_s, settle.price * s_up, 0, s_down, up=True)
            im_v = iv.affine_div(im_s, settle.price * s_up, 0, s_down, up=True)
            if not margined.all():
                mm_v, im_v = np.where(margined, mm_v, 0), np.where(margined, im_v, 0)
            row_mm = _assign(row_mm, idx, mm_v)
            row_im = _assign(row_im, idx, im_v)
        row_value = _assign(row_value, idx, value_v)
    segments = _Segments(table.pos_account, n)
    pos_value = segments.sum(row_value)
    maintenance = segments.sum(row_mm)
    initial = segments.sum(row_im)
    # Portfolio margin: the largest loss over the grid.
    port_rows = np.flatnonzero(row_mode == 2)
    if len(port_rows):
        ra = np.zeros((len(market.instruments), market.scenario_count), dtype=np.int64)
        for i, arr in market.risk_arrays.items():
            ra[i] = arr
        sizes = table.pos_size[port_rows]
        seg = _Segments(table.pos_account[port_rows], n)
        arrays = ra[table.pos_instrument[port_rows]]  # rows × scenarios
        worst: IntArray = np.zeros(n, dtype=np.int64)
        if (
            sizes.dtype != object
            and iv.max_abs(sizes) * float(np.abs(ra).max(initial=0)) * seg.longest < 2.0**62
        ):
            losses = np.add.reduceat(-sizes[:, None] * arrays, seg.starts, axis=0)
            worst[seg.owners] = np.maximum(losses.max(axis=1), 0)
        else:
            for sc in range(market.scenario_count):
                worst = np.maximum(worst, seg.sum(iv.mul(sizes, -arrays[:, sc])))
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
    ratio = _ratio(equity, maintenance, np.nan)
    iso_rows = np.flatnonzero(row_mode == 1) if isolated.any() else np.zeros(0, np.int64)
    if isolated.any():
        # each isolated position stands alone: healthy iff all are, ratio = the worst one's
        healthy = np.where(isolated, True, healthy)
        ratio = np.where(isolated, np.nan, ratio)
    if len(iso_rows):
        value_i, mm_i = row_value[iso_rows], row_mm[iso_rows]
        excess_i = iv.sub(iv.mul(value_i, PPM), iv.mul(mm_i, threshold_ppm))
        seg = _Segments(table.pos_account[iso_rows], n)
        owners = seg.owners
        any_below = np.maximum.reduceat(np.asarray(excess_i < 0, dtype=np.int8), seg.starts)
        healthy[owners] = any_below == 0
        worst_r = np.minimum.reduceat(_ratio(value_i, mm_i, np.inf), seg.starts)
        ratio[owners] = np.where(np.isinf(worst_r), np.nan, worst_r)
    report = MarginReport(
        list(table.ids),
        mode,
        iv.narrow(np.asarray(equity)),
        iv.narrow(np.asarray(maintenance)),
        iv.narrow(np.asarray(initial)),
        healthy,
        ratio,
        row_value,
        row_mm,
    )
    return report


def _ratio(equity: IntArray, requirement: IntArray, none: float) -> npt.NDArray[np.float64]:
    """equity ÷ requirement as floats (for display and sorting only), ``none`` where 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            np.asarray(requirement > 0),
            np.asarray(equity, dtype=np.float64)
            / np.maximum(np.asarray(requirement, dtype=np.float64), 1.0),
            none,
        )


def _assign(target: IntArray, idx: npt.NDArray[np.int64], values: Any) -> IntArray:
    values = np.asarray(values)
    if values.dtype == object and target.dtype != object:
        target = target.astype(object)
    target[idx] = values
    return target


def _mango_fallback(market: Market, table: AccountTable) -> MarginReport:
    """Mango health, account by account through the scalar engine (a venue convention)."""
    results = [evaluate(acc, market) for acc in table.accounts()]
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
