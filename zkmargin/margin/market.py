"""A market snapshot compiled to exact integers: what the engine, witnesses and circuits use.

Units: valuation amounts are integers of 10^−V of the valuation currency; an asset amount is an
integer of 10^−d of the asset; prices are integers of 10^−pd. Rates and weights are integers in
parts per million. Every tiered maintenance schedule is stored in the cum form
MM(N) = max_t (N·rate_t − cum_t) (``cum`` scaled by 10^6), which is how a circuit proves it; a
schedule that is not convex is refused, since max-of-pieces would then differ from the venue's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from ..formats.common import PPM, FormatError, to_ppm, to_units
from ..formats.jsonfile import read_json
from ..formats.market import (
    Flat,
    InitialFraction,
    Instrument,
    MarketSnapshot,
    SpanPreset,
    TiersCum,
    TiersSlices,
    Weights,
)

Kind = Literal["linear", "inverse", "option"]


@dataclass(frozen=True)
class AssetSpec:
    index: int
    symbol: str
    decimals: int
    price: int
    price_decimals: int
    weight_ppm: int
    #: Haircut slices: (upper bound or None, weight ppm), bounds in amount units or valuation units.
    tiers: tuple[tuple[int | None, int], ...]
    tier_basis: Literal["amount", "value"]
    liability_weight_ppm: int


@dataclass(frozen=True)
class ScheduleSpec:
    """Maintenance (and initial) margin on a notional N in settle units.

    ``pieces``: (rate_ppm, cum·10^6) — MM = ⌈max_t(N·rate_t·… − cum_t)/10^6⌉.
    ``initial_rate_ppm``: IM = ⌈N·rate/10^6⌉; ``fraction_ppm``: if set, MM = ⌈IM·fraction/10^6⌉.
    ``weights``: Mango health weights (asset, liability, overall asset), ppm.
    """

    pieces: tuple[tuple[int, int], ...]
    initial_rate_ppm: int | None
    fraction_ppm: int | None
    weights: tuple[int, int, int] | None


@dataclass(frozen=True)
class InstrumentSpec:
    index: int
    symbol: str
    kind: Kind
    base: str
    settle_index: int
    size_decimals: int
    mark: int
    price_decimals: int
    #: Inverse: quote units (of 10^−price_decimals) per contract. Option: base per contract.
    contract_value: int
    multiplier_ppm: int
    schedule: ScheduleSpec | None


@dataclass(frozen=True)
class Market:
    venue: str
    epoch: int
    valuation_symbol: str
    valuation_decimals: int
    accounting: Literal["standard", "mango_health"]
    liabilities: Literal["equity", "requirement"]
    assets: tuple[AssetSpec, ...]
    instruments: tuple[InstrumentSpec, ...]
    #: Scenario weights and moves, for portfolio margin; risk arrays per instrument index.
    scenario_count: int
    risk_arrays: dict[int, tuple[int, ...]]

    def asset_index(self, symbol: str) -> int | None:
        for a in self.assets:
            if a.symbol == symbol:
                return a.index
        return None

    def instrument_index(self, symbol: str) -> int | None:
        for i in self.instruments:
            if i.symbol == symbol:
                return i.index
        return None

    def cash_asset(self) -> tuple[int, int] | None:
        """Where the valuation currency is itself one of the assets (Binance USDⓈ-M's USDT,
        SPAN's USD), the accounts' cash is that money: (the asset's index, m = its units in one
        valuation unit, 10^j ≤ 10^3). None when it is not an asset; :class:`FormatError` when
        its units are no such multiple (cash could not be added to it exactly)."""
        k = self.asset_index(self.valuation_symbol)
        if k is None:
            return None
        a = self.assets[k]
        per_unit = Fraction(a.price) * Fraction(10) ** (
            self.valuation_decimals - a.decimals - a.price_decimals
        )
        factor = 1 / per_unit
        if factor not in {Fraction(10**j) for j in range(MAX_CASH_FACTOR_DIGITS + 1)}:
            raise FormatError(
                f"the valuation currency {self.valuation_symbol} is also an asset, but one unit "
                f"of that asset is worth {per_unit} valuation units (not 1, 1/10, 1/100 or "
                "1/1000): the accounts' cash could not be added to it exactly"
            )
        return k, int(factor)


#: Where the valuation currency is an asset, one valuation unit of cash stands for at most
#: 10^3 of that asset's units (whole dollars of cash in a column of cents: 100); the liabilities
#: leaf's bound (``liabilities.leaf.LEAF_BITS``) rests on it.
MAX_CASH_FACTOR_DIGITS = 3


def _bounds_pieces(
    rates: list[int], uppers: list[int | None], cums: list[int] | None, where: str
) -> tuple[tuple[int, int], ...]:
    """Check tiers are ordered and the schedule convex; return (rate, cum·10^6) pieces."""
    for k in range(len(uppers) - 1):
        up = uppers[k]
        if up is None:
            raise ValueError(f"{where}: only the last tier may be unbounded")
        nxt = uppers[k + 1]
        if nxt is not None and nxt <= up:
            raise ValueError(f"{where}: tier bounds must increase")
    if any(r2 < r1 for r1, r2 in pairwise(rates)):
        raise ValueError(f"{where}: rates must not decrease (the schedule must be convex)")
    pieces = []
    if cums is None:  # slices: cum_t·10^6 = rate_t·lo_t − Σ_{k<t} rate_k·width_k
        acc, lo = 0, 0
        for t, rate in enumerate(rates):
            pieces.append((rate, rate * lo - acc))
            up = uppers[t]
            if up is not None:
                acc += rate * (up - lo)
                lo = up
    else:
        lo = 0
        for t, (rate, cum) in enumerate(zip(rates, cums, strict=True)):
            if t > 0:
                expected = pieces[-1][1] + (rate - rates[t - 1]) * lo
                if cum * PPM != expected:
                    raise ValueError(
                        f"{where}: tier {t} has cum {cum} but continuity needs "
                        f"{expected / PPM:g}; the schedule must be continuous to be convex"
                    )
            elif cum != 0:
                raise ValueError(f"{where}: the first tier's cum must be 0")
            pieces.append((rate, cum * PPM))
            lo = uppers[t] or lo
    return tuple(pieces)


def _schedule(inst: Instrument, settle_decimals: int, where: str) -> ScheduleSpec | None:
    m = inst.maintenance
    initial = to_ppm(inst.initial.rate) if inst.initial else None

    def units(text: str) -> int:
        return to_units(text, settle_decimals)

    if m is None:
        return None
    if isinstance(m, Flat):
        return ScheduleSpec(((to_ppm(m.rate), 0),), initial, None, None)
    if isinstance(m, TiersCum):
        return ScheduleSpec(
            _bounds_pieces(
                [to_ppm(t.rate) for t in m.tiers],
                [units(t.upto) if t.upto is not None else None for t in m.tiers],
                [units(t.cum) for t in m.tiers],
                where,
            ),
            initial,
            None,
            None,
        )
    if isinstance(m, TiersSlices):
        return ScheduleSpec(
            _bounds_pieces(
                [to_ppm(t.rate) for t in m.tiers],
                [units(t.upto) if t.upto is not None else None for t in m.tiers],
                None,
                where,
            ),
            initial,
            None,
            None,
        )
    if isinstance(m, InitialFraction):
        return ScheduleSpec(((0, 0),), to_ppm(m.initial_rate), to_ppm(m.maintenance_fraction), None)
    if isinstance(m, Weights):
        w = (to_ppm(m.asset_weight), to_ppm(m.liability_weight), to_ppm(m.overall_asset_weight))
        return ScheduleSpec(((0, 0),), initial, None, w)
    raise AssertionError(m)


def compile_market(snap: MarketSnapshot, file: str = "market") -> Market:
    """Turn a validated snapshot into exact integers, or raise :class:`FormatError`."""
    assets: list[AssetSpec] = []
    seen: set[str] = set()
    for i, a in enumerate(snap.assets):
        rec = f"asset {a.symbol}"
        if a.symbol in seen:
            raise FormatError("duplicate asset symbol", file=file, record=rec, field="symbol")
        seen.add(a.symbol)
        field = "price"
        try:
            price = to_units(a.price, a.price_decimals, allow_negative=False)
            field = "haircut"
            h = a.haircut
            tiers: list[tuple[int | None, int]] = []
            for t in h.tiers or []:
                bound_dec = a.decimals if h.tier_basis == "amount" else snap.valuation.decimals
                bound = to_units(t.upto, bound_dec, allow_negative=False) if t.upto else None
                tiers.append((bound, to_ppm(t.weight)))
            weight, lw = to_ppm(h.weight), to_ppm(h.liability_weight)
            if not 0 <= weight <= PPM or any(not 0 <= w <= PPM for _, w in tiers):
                raise ValueError("collateral weights must lie in [0, 1]")
            if any(w2 > w1 for (_, w1), (_, w2) in pairwise(tiers)):
                raise ValueError("haircut tier weights must not increase (concave haircut)")
            if lw < PPM:
                raise ValueError("a liability weight must be at least 1")
        except ValueError as exc:
            raise FormatError(str(exc), file=file, record=rec, field=field) from None
        assets.append(
            AssetSpec(
                i,
                a.symbol,
                a.decimals,
                price,
                a.price_decimals,
                weight,
                tuple(tiers),
                h.tier_basis,
                lw,
            )
        )
    by_symbol = {a.symbol: a for a in assets}
    instruments: list[InstrumentSpec] = []
    seen_i: set[str] = set()
    for i, inst in enumerate(snap.instruments):
        rec = f"instrument {inst.symbol}"
        if inst.symbol in seen_i:
            raise FormatError("duplicate instrument symbol", file=file, record=rec, field="symbol")
        seen_i.add(inst.symbol)
        settle = by_symbol.get(inst.settle)
        if settle is None:
            raise FormatError(f"unknown asset {inst.settle}", file=file, record=rec, field="settle")
        if settle.price == 0:
            raise FormatError(
                f"settles in {settle.symbol}, priced at 0: every requirement settled in it would "
                "vanish",
                file=file,
                record=rec,
                field="settle",
            )
        field = "mark_price"
        try:
            mark = to_units(inst.mark_price, inst.price_decimals, allow_negative=False)
            if mark == 0 and inst.kind != "option":
                raise ValueError("the mark price must be positive")
            field = "contract_value"
            if inst.kind == "inverse":
                if inst.contract_value is None:
                    raise ValueError("an inverse contract needs contract_value")
                cv = to_units(inst.contract_value, inst.price_decimals, allow_negative=False)
                if cv == 0:
                    raise ValueError("contract_value must be positive")
            else:
                cv = 1
            field = "multiplier"
            mult = to_ppm(inst.multiplier)
            field = "maintenance"
            sched = _schedule(inst, settle.decimals, f"{rec} maintenance")
            mango = snap.accounting == "mango_health"
            if sched is not None and (sched.weights is not None) != mango and inst.kind != "option":
                raise ValueError(
                    "a weights schedule is the mango_health accounting's, and that accounting "
                    "needs one on every contract"
                )
            if inst.kind == "option" and inst.option is None:
                field = "option"
                raise ValueError("an option needs its option block")
        except ValueError as exc:
            raise FormatError(str(exc), file=file, record=rec, field=field) from None
        instruments.append(
            InstrumentSpec(
                i,
                inst.symbol,
                inst.kind,
                inst.base,
                settle.index,
                inst.size_decimals,
                mark,
                inst.price_decimals,
                cv,
                mult,
                sched,
            )
        )
    risk: dict[int, tuple[int, ...]] = {}
    count = 0
    if snap.portfolio is not None:
        grid = snap.portfolio.grid
        count = 16 if isinstance(grid, SpanPreset) else len(grid.scenarios)
        names = {inst.symbol: inst.index for inst in instruments}
        for symbol, arr in snap.portfolio.risk_arrays.items():
            rec = f"risk array {symbol}"
            if symbol not in names:
                raise FormatError("unknown instrument", file=file, record=rec)
            if len(arr) != count:
                raise FormatError(
                    f"has {len(arr)} entries, the grid has {count} scenarios", file=file, record=rec
                )
            risk[names[symbol]] = tuple(arr)
    return Market(
        snap.venue,
        snap.epoch,
        snap.valuation.symbol,
        snap.valuation.decimals,
        snap.accounting,
        snap.liabilities,
        tuple(assets),
        tuple(instruments),
        count,
        risk,
    )


def load_snapshot(path: str | Path) -> MarketSnapshot:
    """Read and validate a market file, or raise :class:`FormatError`."""
    return snapshot_from_json(read_json(path), str(path))


def snapshot_from_json(raw: object, file: str = "market") -> MarketSnapshot:
    """Validate parsed JSON as a market snapshot, or raise :class:`FormatError` naming the
    record (``asset BTC``, ``instrument BTCUSDT``) and the field."""
    try:
        return MarketSnapshot.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        record = ""
        if (
            isinstance(raw, dict)
            and len(loc) >= 2
            and loc[0] in ("assets", "instruments")
            and loc[1].isdigit()
        ):
            items = raw.get(loc[0], [])
            idx = int(loc[1])
            item = items[idx] if idx < len(items) else None
            sym = item.get("symbol", loc[1]) if isinstance(item, dict) else loc[1]
            record = f"{loc[0][:-1]} {sym}"
            loc = loc[2:]
        raise FormatError(err["msg"], file=file, record=record, field=".".join(loc)) from None


def load_market(path: str | Path) -> Market:
    """Read and compile a market file, or raise :class:`FormatError`."""
    return compile_market(load_snapshot(path), str(path))
