"""The slots of an account statement: what the venue commits to, one value each.

Per asset held: ``balance_pos`` and ``balance_neg`` (b = b⁺ − b⁻, both in [0, 2^64)); per position:
``long`` and ``short`` (size = ℓ − s) and the signed ``quote`` (linear: −size·entry in the
engine's quote units, or, where those are finer than a settle unit, ⌊k·(−size·entry)⌋ in settle
units; inverse: ⌊size·cv/entry⌋ in settle units; a floor can only understate the position's
value), and in isolated mode its ``isolated_margin``; per account: the signed
``cash``. Decoy slots of zero value for other assets or instruments hide which ones the account
really holds.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from ..formats.common import FormatError
from ..margin.market import Market
from ..margin.scalar import CompiledAccount, CompiledPosition
from .compiler import MODE_CIRCUIT, SlotSpec, circuit_slot, load_circuit
from .params import linear_scale, quote_in_settle_units


@dataclass(frozen=True)
class SlotValue:
    """A slot and its value; it reads as the statement's slot input (name, of, bits, signed).
    ``decoy``: a zero slot for an asset or instrument the account does not hold."""

    spec: SlotSpec
    value: int
    decoy: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def of(self) -> str:
        return self.spec.of

    @property
    def bits(self) -> int:
        return self.spec.bits

    @property
    def signed(self) -> bool:
        return self.spec.signed


def slot_spec(mode: str, name: str, of: str) -> SlotSpec:
    """The slot ``name[of]`` of a ``mode``-margin statement, bounded as that mode's circuit
    declares (the venue commits only values within it)."""
    return circuit_slot(load_circuit(MODE_CIRCUIT[mode]), name, of)


def committed_quote(pos: CompiledPosition, market: Market) -> int:
    """The quote slot's value of a position: the engine's quote (−size·entry) for a linear
    contract; ⌊k·quote⌋ in settle units for a linear one whose quote unit is finer than a settle
    unit (k < 1: :func:`params.quote_in_settle_units`); ⌊size·cv/entry⌋ in settle units for an
    inverse one (each floor only understates the position's value)."""
    inst = market.instruments[pos.instrument]
    if not quote_in_settle_units(inst, market):
        return pos.quote
    if inst.kind != "inverse":
        k = linear_scale(inst, market)
        return (pos.quote * k.numerator) // k.denominator
    settle = market.assets[inst.settle_index]
    num = pos.size * inst.contract_value * 10**settle.decimals
    return int(num // (10**inst.size_decimals * pos.quote))


def decoy_candidates(market: Market, mode: str) -> tuple[list[str], list[str]]:
    """Assets and instruments a decoy may name in this mode (those a circuit can price)."""
    assets = [a.symbol for a in market.assets]
    instruments = []
    for i in market.instruments:
        if mode == "portfolio":
            if i.index in market.risk_arrays:
                instruments.append(i.symbol)
        elif i.kind != "option" and i.schedule is not None and i.schedule.weights is None:
            instruments.append(i.symbol)
    return assets, instruments


def account_slots(
    account: CompiledAccount,
    market: Market,
    *,
    decoys: int = 0,
    decoy_seed: bytes = b"",
    layout: tuple[Collection[str], Collection[str]] | None = None,
    file: str = "",
) -> list[SlotValue]:
    """The statement's slots of ``account``, in market order, with ``decoys`` zero slots, or
    with exactly the assets and instruments of ``layout`` (those it does not hold as decoys)."""
    rec = f"account {account.id}"
    held_assets = {market.assets[k].symbol: b for k, b in enumerate(account.balances) if b}
    held: dict[str, tuple[int, int, int]] = {}
    for pos in account.positions:
        inst = market.instruments[pos.instrument]
        if inst.symbol in held:
            raise FormatError(f"two positions in {inst.symbol}; merge them", file=file, record=rec)
        held[inst.symbol] = (pos.size, committed_quote(pos, market), pos.isolated_margin)
    decoy_names: set[str] = set()
    if layout is not None:
        if decoys:
            raise ValueError("give decoys or a layout, not both")
        extra = (set(held_assets) - set(layout[0])) | (set(held) - set(layout[1]))
        if extra:
            raise ValueError(f"the layout lacks {sorted(extra)}, which the account holds")
        for sym in layout[0]:
            if sym not in held_assets:
                held_assets[sym] = 0
                decoy_names.add(sym)
        for sym in layout[1]:
            if sym not in held:
                held[sym] = (0, 0, 0)
                decoy_names.add(sym)
    if decoys:
        cand_assets, cand_inst = decoy_candidates(market, account.mode)
        pool = [("asset", a) for a in cand_assets if a not in held_assets] + [
            ("instrument", i) for i in cand_inst if i not in held
        ]
        chooser = random.Random(decoy_seed)  # a public choice among public names
        for kind, sym in chooser.sample(pool, min(decoys, len(pool))):
            decoy_names.add(sym)
            if kind == "asset":
                held_assets[sym] = 0
            else:
                held[sym] = (0, 0, 0)
    out: list[SlotValue] = []

    def put(name: str, of: str, value: int) -> None:
        out.append(SlotValue(slot_spec(account.mode, name, of), value, of in decoy_names))

    for a in market.assets:
        if a.symbol in held_assets:
            b = held_assets[a.symbol]
            put("balance_pos", a.symbol, max(b, 0))
            put("balance_neg", a.symbol, max(-b, 0))
    for inst in market.instruments:
        if inst.symbol in held:
            size, quote, iso = held[inst.symbol]
            put("long", inst.symbol, max(size, 0))
            put("short", inst.symbol, max(-size, 0))
            put("quote", inst.symbol, quote)
            if account.mode == "isolated":
                put("isolated_margin", inst.symbol, iso)
    put("cash", "", account.cash)
    for s in out:
        if not s.spec.lo <= s.value <= s.spec.hi:
            where = f"{s.spec.name}[{s.spec.of}]" if s.spec.of else s.spec.name
            raise FormatError(
                f"{where} = {s.value} units exceeds the statement's {s.spec.bits}-bit slot bound",
                file=file,
                record=rec,
            )
    return out
