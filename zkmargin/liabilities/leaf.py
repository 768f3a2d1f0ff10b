"""A leaf of the liabilities tree: an account's statement, its leaf proof (``liability_leaf`` for
cross and portfolio accounts, ``liability_leaf_isolated`` for isolated ones,
``liability_leaf_mango`` for the accounts of a market under Mango v4's ``mango_health``
accounting: the verifier picks the circuit from the market's accounting and the statement's mode
through its own table, :data:`LEAF_CIRCUITS`) and its per-column liabilities, derived by anyone
from the two.

Columns: every asset of the market, in market order, then the valuation currency (the accounts'
cash, in valuation units). The liability of account A in column c is

    L_c = b⁺_c − b⁻_c + [c settles positions] (u_c − 2^63)        (an asset c)
    L_cash = cash                                                  (the valuation currency)

Where the valuation currency is itself an asset of the market (Binance USDⓈ-M's USDT, dYdX's
USDC, SPAN's USD), the cash is that money: it has no column of its own and joins the asset's,
L_c = b⁺_c − b⁻_c + [·](u_c − 2^63) + m·cash, with m = 10^j ≤ 10^3 the asset units in one
valuation unit (1 where the units agree; 100 for whole dollars against cents). Any other ratio
of units is refused (cash could not be added exactly).

where b⁺, b⁻ and cash are slots of A's statement and u_c the proof's auxiliary commitment to the
value at mark of A's positions settling in c (with their isolated margins, in isolated mode),
offset by 2^63 and rounded up. Their commitments
are the same linear combinations of the statement's and the proof's commitments:
C(L_c) = C(b⁺_c) − C(b⁻_c) + C(u_c) − 2^63·G, so nothing the prover states stands for them.

Bound: every slot and u_c is range-proven to 64 bits by the leaf proof (cash and u_c − 2^63
signed: below 2^63 in magnitude), so |L_c| < 2^64 + 2^63 + 10^3·2^63 < 2^73 = 2^LEAF_BITS and
a sum of 2^h leaves stays below 2^(h+73), far from r/2 for h ≤ 40: no total wraps.

The leaf hash binds the whole statement (its account tag H(account id, salt) included), the
proof and the liabilities:

    leaf_hash = SHA-256("zkmargin-V01-liabilities-leaf" ‖ SHA-256(statement) ‖ SHA-256(proof)
                        ‖ C(L_1) ‖ … ‖ C(L_k))
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from .. import group
from ..attest import statement as stm
from ..circuit.compiler import Circuit, Instance, Ref, SlotSpec, compile_instance, load_circuit
from ..circuit.lang import CircuitError
from ..errors import DecodeError
from ..formats.common import PPM, FormatError
from ..formats.statement import AccountStatement, VenueEpoch
from ..generators import pedersen_bases
from ..group import POINT_BYTES, Point, R
from ..margin.market import MAX_CASH_FACTOR_DIGITS, Market

#: The leaf circuit of each (market accounting, margin mode): the verifier's own table, never
#: the prover's choice. Mango v4 accounts are cross accounts (Mango has no other kind).
LEAF_CIRCUITS: dict[tuple[str, str], str] = {
    ("standard", "cross"): "liability_leaf",
    ("standard", "portfolio"): "liability_leaf",
    ("standard", "isolated"): "liability_leaf_isolated",
    ("mango_health", "cross"): "liability_leaf_mango",
}
#: The context string of every leaf proof.
LEAF_CONTEXT = "zkmargin liabilities tree leaf"
#: |L_c| < 2^LEAF_BITS for every leaf and column (2^64 + 2^63 + MAX_CASH_FACTOR·2^63 < 2^73).
LEAF_BITS = 73
#: The most asset units one valuation unit of cash may stand for, where the valuation currency
#: is an asset (``Market.cash_asset`` refuses more).
MAX_CASH_FACTOR = 10**MAX_CASH_FACTOR_DIGITS
assert (1 << 64) + (1 << 63) + MAX_CASH_FACTOR * (1 << 63) < 1 << LEAF_BITS
SETTLE_OFFSET = 1 << 63
LEAF_DOMAIN = b"zkmargin-V01-liabilities-leaf"


@dataclass(frozen=True)
class Columns:
    """The liabilities columns of a market: its assets, then the valuation currency (unless the
    valuation currency is one of the assets: ``cash_at`` is then that asset's column)."""

    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    cash_at: int | None = None
    #: m: the column's units in one unit of cash (1 in a column of its own)
    cash_factor: int = 1

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def cash(self) -> int:
        """The index of the column holding the accounts' cash: the valuation currency's own
        (the last), or the asset that is the valuation currency."""
        return len(self.symbols) - 1 if self.cash_at is None else self.cash_at

    @property
    def cash_column(self) -> bool:
        """Whether the cash has a column of its own (the last)."""
        return self.cash_at is None


def liability_columns(market: Market) -> Columns:
    """The columns of ``market`` (the verifier derives them; a publication's header must repeat
    them). A valuation currency that is also an asset shares its column, the cash counted
    m = 10^j times (:meth:`Market.cash_asset`, which refuses any other ratio of units)."""
    symbols = [a.symbol for a in market.assets]
    decimals = [a.decimals for a in market.assets]
    held = market.cash_asset()
    if held is None:
        return Columns((*symbols, market.valuation_symbol), (*decimals, market.valuation_decimals))
    k, factor = held
    assert factor <= MAX_CASH_FACTOR
    return Columns(tuple(symbols), tuple(decimals), cash_at=k, cash_factor=factor)


def cash_note(columns: Columns, market: Market) -> str:
    """One sentence for readers where the cash shares an asset's column (else empty)."""
    if columns.cash_column:
        return ""
    sym = columns.symbols[columns.cash]
    per = (
        ""
        if columns.cash_factor == 1
        else f", {columns.cash_factor} of the column's units per unit of cash"
    )
    return (
        f"the valuation currency {market.valuation_symbol} is also an asset: the accounts' "
        f"cash is counted in the {sym} column{per}"
    )


def leaf_circuit_name(mode: str, accounting: str) -> str:
    """The name of the leaf circuit of ``mode``-margin accounts under a market's ``accounting``,
    or :class:`FormatError` if none takes them."""
    name = LEAF_CIRCUITS.get((accounting, mode))
    if name is None:
        under = "" if accounting == "standard" else f" under the {accounting} accounting"
        raise FormatError(f"a {mode}-margin account{under} has no liabilities leaf circuit")
    return name


def leaf_circuit(mode: str, accounting: str) -> Circuit:
    """The leaf circuit of ``mode``-margin accounts under a market's ``accounting``."""
    return load_circuit(leaf_circuit_name(mode, accounting))


def leaf_circuits(accounting: str) -> list[str]:
    """The leaf circuits of a market's accounting, sorted (a publication's plan digest)."""
    return sorted({c for (a, _), c in LEAF_CIRCUITS.items() if a == accounting})


_INSTANCES: dict[tuple[int, str, tuple[SlotSpec, ...]], tuple[Market, Instance]] = {}


def leaf_instance(market: Market, mode: str, slots: tuple[SlotSpec, ...]) -> Instance:
    """The leaf circuit of ``mode`` under the market's accounting, compiled for a statement's
    slot layout, every slot range-proven (cached per market object, mode and layout: a tree has
    few layouts)."""
    key = (id(market), mode, slots)
    hit = _INSTANCES.get(key)
    if hit is not None and hit[0] is market:
        return hit[1]
    circuit = leaf_circuit(mode, market.accounting)
    try:
        inst = compile_instance(circuit, market, slots, PPM, trusted_slots=False)
    except CircuitError as exc:
        raise FormatError(f"the statement does not fit the leaf circuit: {exc}") from None
    if len(_INSTANCES) > 4096:
        _INSTANCES.clear()
    _INSTANCES[key] = (market, inst)
    return inst


#: A column's liability as Σ k·(committed value) + k₀.
Terms = tuple[tuple[tuple[Ref, int], ...], int]


def liability_terms(instance: Instance, columns: Columns) -> list[Terms]:
    """L_c of every column as a linear combination of the instance's slots and aux values."""
    out: list[Terms] = []
    for c, symbol in enumerate(columns.symbols):
        refs: list[tuple[Ref, int]] = []
        const = 0
        if c == columns.cash:
            refs.append((instance.ref_of(("cash", None)), columns.cash_factor))
        if c != columns.cash or not columns.cash_column:
            for name, k in (("balance_pos", 1), ("balance_neg", -1)):
                with contextlib.suppress(KeyError):
                    refs.append((instance.ref_of((name, symbol)), k))
            try:
                refs.append((instance.ref_of(("settled", symbol)), 1))
                const = -SETTLE_OFFSET
            except KeyError:
                pass
        out.append((tuple(refs), const))
    return out


def liability_points(
    terms: Sequence[Terms], slot_points: Sequence[Point], aux_points: Sequence[Point]
) -> list[Point]:
    """C(L_c) for every column, computed from the commitments alone."""
    G, _ = pedersen_bases()
    table = {"slot": slot_points, "aux": aux_points}
    out = []
    for refs, const in terms:
        acc = group.identity()
        for (kind, i), k in refs:
            if k == 1:
                acc = acc + table[kind][i]
            elif k == -1:
                acc = acc - table[kind][i]
            else:
                acc = acc + group.mul(table[kind][i], k % R)
        if const:
            acc = acc + group.mul(G, const % R)
        out.append(acc)
    return out


def liability_openings(
    terms: Sequence[Terms],
    slot_values: Sequence[int],
    slot_blindings: Sequence[int],
    aux_values: Sequence[int],
    aux_blindings: Sequence[int],
) -> list[tuple[int, int]]:
    """(L_c, its blinding mod r) for every column, from the openings."""
    values = {"slot": slot_values, "aux": aux_values}
    blinds = {"slot": slot_blindings, "aux": aux_blindings}
    out = []
    for refs, const in terms:
        v = sum(k * values[kind][i] for (kind, i), k in refs) + const
        g = sum(k * blinds[kind][i] for (kind, i), k in refs) % R
        out.append((v, g))
    return out


def encode_sums(points: Sequence[Point]) -> bytes:
    return b"".join(group.encode_point(p) for p in points)


def decode_sums(data: bytes, count: int) -> list[Point]:
    """Per-column commitments (the identity allowed: a column the leaf holds nothing in), or
    raise :class:`DecodeError`."""
    if len(data) != POINT_BYTES * count:
        raise DecodeError(f"{count} column commitments take {POINT_BYTES * count} bytes")
    return group.decode_points(data, count, allow_identity=True)


def leaf_context(statement: AccountStatement, accounting: str) -> bytes:
    """What a leaf proof's transcripts absorb first: the leaf circuit (of the statement's mode
    under the market's ``accounting``), the market, θ = 1, the epoch, the leaf context string
    and the whole statement."""
    return stm.proof_context(
        circuit_digest=leaf_circuit(statement.mode, accounting).digest,
        market_digest=bytes.fromhex(statement.market_digest),
        theta_ppm=PPM,
        epoch=statement.epoch,
        context=LEAF_CONTEXT,
        statement=statement,
    )


def statement_bytes(statement: AccountStatement) -> bytes:
    """The statement as stored in a publication: compact JSON."""
    return statement.model_dump_json(exclude_none=True).encode()


def leaf_hash(statement: AccountStatement, proof: bytes, sums: bytes) -> bytes:
    """SHA-256(domain ‖ SHA-256(statement) ‖ SHA-256(proof) ‖ liabilities)."""
    return hashlib.sha256(
        LEAF_DOMAIN + stm.statement_digest(statement) + hashlib.sha256(proof).digest() + sums
    ).digest()


def check_leaf_statement(st: AccountStatement, tree: VenueEpoch, accounting: str) -> str | None:
    """Why a statement cannot be a leaf of ``tree`` (a publication's header or root, over a
    market of this ``accounting``), or None."""
    if st.venue != tree.venue or st.venue_key != tree.venue_key:
        return "its statement names another venue or venue key"
    if st.epoch != tree.epoch:
        return f"its statement is for epoch {st.epoch}, not {tree.epoch}"
    if st.market_digest != str(tree.market_digest):
        return "its statement was issued for another market snapshot"
    if st.signature is not None:
        return "its statement carries a signature (a leaf is vouched for by the signed root)"
    if (accounting, st.mode) not in LEAF_CIRCUITS:
        under = "" if accounting == "standard" else f" (under the {accounting} accounting)"
        return f"a {st.mode}-margin statement{under} is not a liabilities leaf"
    return None
