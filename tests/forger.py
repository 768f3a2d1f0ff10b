"""A forger: builds leaves, publications and margin proofs the way a malicious exchange or trader
would, skipping every honest check.

It chooses any slot layout with any declared bounds, any values (wrapped, negative, huge) and
any auxiliary values, proves with the circuit prover's ``_unsafe_values`` (no witness check, no
range check), recomputes leaf hashes and every node, re-signs the root with the venue key it
holds and re-proves the reserves (forging that proof too when its own totals exceed them). What
it makes is then given to the unmodified verifiers; the property tests judge their verdicts
with the exact margin engine (:mod:`zkmargin.margin.exact`), never with a verifier.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from zkmargin import group, rangeproof
from zkmargin.attest import bls
from zkmargin.attest import statement as stm
from zkmargin.attest.keys import VenueKey
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import (
    Circuit,
    Instance,
    SlotKind,
    SlotSpec,
    circuit_slot,
    compile_instance,
    load_circuit,
)
from zkmargin.circuit.lang import CircuitError
from zkmargin.circuit.params import linear_scale, quote_in_settle_units
from zkmargin.circuit.slots import SlotValue
from zkmargin.errors import ProvingError
from zkmargin.formats.common import PPM, format_decimal
from zkmargin.formats.publication import ReserveProof
from zkmargin.formats.statement import AccountStatement, MarginProofFile, SignedRoot
from zkmargin.group import R
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities import reserves as rsv
from zkmargin.liabilities.root import root_message, sign_root
from zkmargin.liabilities.store import LeafRow
from zkmargin.liabilities.tree import Node, build_levels
from zkmargin.liabilities.work import load_market
from zkmargin.margin.exact import debts_covered, exact_figures, position_value
from zkmargin.margin.market import Market
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition, mango_figures
from zkmargin.pedersen import commit
from zkmargin.transcript import SpongeRng

_FUZZ = os.environ.get("ZKMARGIN_FUZZ", "0")
#: ZKMARGIN_FUZZ=1 (``make fuzz``) runs 20 times the examples; ZKMARGIN_FUZZ=k, k times.
SCALE = max(1, int(_FUZZ) if _FUZZ.isdigit() and int(_FUZZ) > 1 else 20 * (_FUZZ == "1"))


def examples(n: int) -> Callable[[Any], Any]:
    """``n`` examples (times the fuzz scale), no deadline, module-scoped fixtures allowed."""
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# ----- values a forger draws: a mix biased to where bugs live ---------------------------------


def magnitude(top: int = 15) -> st.SearchStrategy[int]:
    """A non-negative integer of any order of magnitude up to 10^top (log-uniform-ish)."""
    return st.integers(0, top).flatmap(lambda e: st.integers(0, 10**e))


EDGES = (1 << 62, 1 << 63, 1 << 64)


def wild(honest: int) -> st.SearchStrategy[int]:
    """A value a forger might commit in place of ``honest``: zero, negative, next to 2^62,
    2^63, 2^64 (and their negatives), r − k (a 'negative' field element), r − honest, a small
    change of the honest value, or anything below r."""
    near = st.tuples(st.sampled_from(EDGES), st.integers(-2, 2), st.sampled_from((1, -1)))
    return st.one_of(
        st.sampled_from((0, -1, 1, R - 1, R - 2, (R - 1) // 2, (R + 1) // 2)),
        near.map(lambda t: t[2] * t[0] + t[1]),
        st.integers(1, 10**6).map(lambda k: R - k),
        st.just(R - honest),
        st.integers(-3, 3).map(lambda d: honest + d),
        magnitude(18).map(lambda m: -m),
        st.integers(0, R - 1),
    )


AUX_CHANGES = ("+1", "-1", "zero", "2^63", "+2^63", "2^64-1", "r-1", "r-honest", "-2^63")


def change_aux(op: str, honest: int) -> int:
    return {
        "+1": honest + 1,
        "-1": honest - 1,
        "zero": 0,
        "2^63": 1 << 63,
        "+2^63": honest + (1 << 63),
        "2^64-1": (1 << 64) - 1,
        "r-1": R - 1,
        "r-honest": R - honest,
        "-2^63": honest - (1 << 63),
    }[op]


#: (name, of, bits, signed, value): a slot as the forger declares and fills it.
ForgedSlot = tuple[str, str, int, bool, int]


def signed_rep(v: int) -> int:
    """The integer a committed v mod r stands for: the representative in (−r/2, r/2)."""
    v %= R
    return v - R if v > R // 2 else v


def forged_circuit(circuit: Circuit, specs: Sequence[SlotSpec]) -> Circuit:
    """``circuit`` with each slot kind bounded as the forger declares it (same name and digest:
    the forger claims the shipped circuit)."""
    kinds = dict(circuit.slots)
    for s in specs:
        if s.name in kinds:
            kinds[s.name] = SlotKind(kinds[s.name].over, s.bits, s.signed)
    return dataclasses.replace(circuit, slots=kinds)


class _AnyBound:
    """A slot kind's bound that equals every bound: the compiler's comparison of each slot's
    declared bound with its kind's passes, so slots of one kind may declare different bounds."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def forged_instance(
    circuit: str, market: Market, specs: Sequence[SlotSpec], theta_ppm: int, *, trusted: bool
) -> Instance:
    """The instance a forger proves with: its own declared bounds, never refused (slots of one
    kind may even declare different bounds; each slot is bounded as it declares)."""
    circ = forged_circuit(load_circuit(circuit), specs)
    if any(
        (s.bits, s.signed) != (t.bits, t.signed) for s in specs for t in specs if s.name == t.name
    ):
        wild: Any = _AnyBound()
        kinds = {n: SlotKind(k.over, wild, wild) for n, k in circ.slots.items()}
        circ = dataclasses.replace(circ, slots=kinds)
    return compile_instance(circ, market, tuple(specs), theta_ppm, trusted_slots=trusted)


def forged_proof(
    inst: Instance,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    aux: dict[tuple[str, Any], int] | None,
    seed: bytes,
    aux_blindings: Sequence[int] | None = None,
) -> tuple[cproof.CircuitProof, dict[tuple[str, Any], int]]:
    """A proof made with no check at all; ``aux`` replaces any auxiliary value."""
    vals = cproof.auxiliary_values(inst, [signed_rep(v) for v in values]) | (aux or {})
    rng = SpongeRng.from_tag(b"forger" + seed)
    proof = cproof.prove(
        inst,
        [v % R for v in values],
        blindings,
        context,
        rng=rng,
        aux_blindings=aux_blindings,
        _unsafe_values=vals,
    )
    return proof, vals


@dataclass
class ForgedLeaf:
    """A forged leaf and the values the forger committed (the oracle's input)."""

    row: LeafRow
    statement: AccountStatement
    slots: list[ForgedSlot]
    values: dict[tuple[str, Any], int]
    mode: str = "cross"
    blindings: list[int] = dataclasses.field(default_factory=list)
    aux_blindings: list[int] = dataclasses.field(default_factory=list)


def forge_leaf(
    market: Market,
    header: dict[str, Any],
    position: int,
    slots: Sequence[ForgedSlot],
    *,
    aux: dict[tuple[str, Any], int] | None = None,
    tag: bytes | None = None,
    seed: bytes = b"",
    mode: str = "cross",
    statement_slots: Sequence[ForgedSlot] | None = None,
) -> ForgedLeaf:
    """A leaf of the given slots at ``position``, proven by a prover that skips every check.

    ``statement_slots``: the statement published holds these instead (a layout the circuit may
    not define: a slot dropped or doubled), while the proof is made for ``slots``."""
    specs = [SlotSpec(n, o, b, s) for n, o, b, s, _ in slots]
    values = [v for *_, v in slots]
    blindings = [1000 + 7 * j + len(seed) for j in range(len(slots))]
    tag = tag or stm.account_tag(f"forged-{position}-{seed.hex()}", b"\x01" * 32)

    def statement(of: Sequence[ForgedSlot]) -> AccountStatement:
        return stm.build_statement(
            venue=header["venue"],
            epoch=header["epoch"],
            market_digest=bytes.fromhex(header["market_digest"]),
            tag=tag,
            mode=mode,
            slots=[SlotValue(SlotSpec(n, o, b, s), v % R) for n, o, b, s, v in of],
            blindings=[1000 + 7 * j + len(seed) for j in range(len(of))],
            venue_key=bytes.fromhex(header["venue_key"]),
        )

    proven = statement(slots)
    st = proven if statement_slots is None else statement(statement_slots)
    inst = forged_instance(
        lf.leaf_circuit_name(mode, market.accounting), market, specs, PPM, trusted=False
    )
    aux_blindings = [5000 + 11 * k + len(seed) for k in range(len(inst.aux))]
    proof, vals = forged_proof(
        inst, values, blindings, lf.leaf_context(st, market.accounting), aux, seed, aux_blindings
    )
    columns = lf.liability_columns(market)
    sums = lf.encode_sums(
        lf.liability_points(
            lf.liability_terms(inst, columns), stm.statement_points(proven), proof.aux
        )
    )
    data = proof.to_bytes()
    row = (position, lf.statement_bytes(st), data, sums, lf.leaf_hash(st, data, sums))
    said = list(slots) if statement_slots is None else list(statement_slots)
    return ForgedLeaf(row, st, said, vals, mode, blindings, aux_blindings)


def leaf_openings(leaf: ForgedLeaf, market: Market, columns: lf.Columns) -> list[tuple[int, int]]:
    """(L_c, its blinding mod r) of every column of a forged leaf, as its forger knows them: the
    values it committed (signed representatives) and the blindings it chose."""
    specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in leaf.slots)
    inst = forged_instance(
        lf.leaf_circuit_name(leaf.mode, market.accounting), market, specs, PPM, trusted=False
    )
    return lf.liability_openings(
        lf.liability_terms(inst, columns),
        [signed_rep(v) for *_, v in leaf.slots],
        leaf.blindings,
        [signed_rep(leaf.values[k]) for k, _, _ in inst.aux],
        leaf.aux_blindings,
    )


def read_header(db: Path) -> tuple[dict[str, Any], Market]:
    with sqlite3.connect(db) as conn:
        header = json.loads(conn.execute("SELECT doc FROM header").fetchone()[0])
        market = load_market(conn.execute("SELECT snapshot FROM market").fetchone()[0])
    return header, market


def put_leaf(db: Path, row: LeafRow) -> None:
    position, st, proof, sums, h = row
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE leaves SET statement = ?, proof = ?, sums = ?, hash = ? WHERE position = ?",
            (st, proof, sums, h, position),
        )


def rebuild(
    db: Path,
    key: VenueKey,
    *,
    node_hook: Callable[[list[list[Node]]], None] | None = None,
    reserves: Sequence[int] | None = None,
    totals: Sequence[tuple[int, int]] | None = None,
) -> None:
    """Recompute every leaf hash, node and the signed root from the stored leaves, as an
    exchange holding the venue key could after changing them; with ``totals`` (each column's
    value and blinding as the forger knows them) also re-prove the reserves against
    ``reserves``, forging the proof where a total exceeds its reserve."""
    conn = sqlite3.connect(db)
    header = json.loads(conn.execute("SELECT doc FROM header").fetchone()[0])
    ncol = len(header["columns"])
    leaves = []
    for pos, st_bytes, proof, sums in conn.execute(
        "SELECT position, statement, proof, sums FROM leaves ORDER BY position"
    ):
        st = AccountStatement.model_validate_json(st_bytes)
        h = lf.leaf_hash(st, proof, sums)
        conn.execute("UPDATE leaves SET hash = ? WHERE position = ?", (h, pos))
        leaves.append(Node.decode(sums, h, ncol))
    levels = build_levels(leaves, header["height"])
    if node_hook is not None:
        node_hook(levels)
    for level, layer in enumerate(levels, start=1):
        for i, n in enumerate(layer):
            conn.execute(
                "UPDATE nodes SET sums = ?, hash = ? WHERE level = ? AND idx = ?",
                (n.sums_bytes(), n.hash, level, i),
            )
    top = levels[-1][0]
    root = SignedRoot.model_validate_json(conn.execute("SELECT doc FROM root").fetchone()[0])
    root = sign_root(
        root.model_copy(
            update={
                "totals": [group.encode_point(p).hex() for p in top.sums],
                "root_hash": top.hash.hex(),
            }
        ),
        key.secret_key,
    )
    conn.execute("UPDATE root SET doc = ?", (root.model_dump_json(),))
    if totals is not None:
        assert reserves is not None
        proof = forge_reserves(list(top.sums), totals, reserves, header["height"], root)
        conn.execute("UPDATE reserves SET doc = ?", (proof.model_dump_json(),))
    conn.commit()
    conn.close()


def forge_reserves(
    totals: Sequence[group.Point],
    openings: Sequence[tuple[int, int]],
    reserves: Sequence[int],
    height: int,
    root: SignedRoot,
) -> ReserveProof:
    """The reserves proof over ``openings``: honest where every reserve covers its total, else
    made with no range check (limbs of a negative gap taken mod r)."""
    for (t, g), point in zip(openings, totals, strict=True):
        assert commit(t, g) == point, "the forger's openings must open the root's totals"
    message = root_message(root)
    rng = SpongeRng.from_tag(b"forged reserves")
    if all(res >= t for res, (t, _) in zip(reserves, openings, strict=True)):
        try:
            return rsv.prove_reserves(totals, openings, reserves, height, message, rng)
        except ProvingError:
            pass  # a gap too wide for its limbs (a total far below zero): forged below
    limbs = [rsv.reserve_limbs(r, height) for r in reserves]
    context = rsv.reserves_context(message, reserves, limbs)
    values: list[int] = []
    blindings: list[int] = []
    lower: list[str] = []
    for (t, beta), reserve, n in zip(openings, reserves, limbs, strict=True):
        gap = (reserve - t) % R
        digits = [(gap >> (64 * j)) & ((1 << 64) - 1) for j in range(n - 1)]
        rhos = rng.random_scalars(n - 1)
        rest = (gap - sum(d << (64 * j) for j, d in enumerate(digits))) % R
        inv = pow(1 << (64 * (n - 1)), -1, R)
        top = rest * inv % R
        top_blind = (-beta - sum(g << (64 * j) for j, g in enumerate(rhos))) * inv % R
        values += [*digits, top]
        blindings += [*rhos, top_blind]
        lower += [group.encode_point(commit(v, g)).hex() for v, g in zip(digits, rhos, strict=True)]
    proof, _ = rangeproof.prove(
        values, blindings, 64, context, rng=rng, _unsafe_skip_range_check=True
    )
    return ReserveProof(
        reserves=[str(r) for r in reserves],
        limbs=limbs,
        limb_commitments=lower,
        proof=proof.to_bytes().hex(),
    )


# ----- the oracle: what a leaf's values mean, by the exact engine -------------------------------


def within_circuit_bounds(circuit: str, slots: Sequence[ForgedSlot]) -> bool:
    """Every slot's value (its signed representative) is in the bound the circuit declares."""
    kinds = load_circuit(circuit).slots
    for name, _, _, _, v in slots:
        kind = kinds[name]
        lo = -(1 << (kind.bits - 1)) if kind.signed else 0
        hi = (1 << (kind.bits - 1)) - 1 if kind.signed else (1 << kind.bits) - 1
        if not lo <= signed_rep(v) <= hi:
            return False
    return True


def account_of(market: Market, slots: Sequence[ForgedSlot], mode: str = "cross") -> CompiledAccount:
    """The account the slot values describe. A linear contract's quote is the engine's, except
    where the committed quote is in settle units (its unit finer than a settle unit:
    ``params.quote_in_settle_units``): the engine's quote q/k is then a fraction, which the exact
    engine's ``position_value`` (k·(size·mark + quote)) takes exactly."""
    balances = [0] * len(market.assets)
    asset_ix = {a.symbol: k for k, a in enumerate(market.assets)}
    inst_ix = {i.symbol: k for k, i in enumerate(market.instruments)}
    pos: dict[str, dict[str, int]] = {}
    cash = 0
    for name, of, _, _, raw in slots:
        v = signed_rep(raw)
        if name == "balance_pos":
            balances[asset_ix[of]] += v
        elif name == "balance_neg":
            balances[asset_ix[of]] -= v
        elif name == "cash":
            cash = v
        else:
            pos.setdefault(of, {})[name] = v
    positions = tuple(
        CompiledPosition(
            inst_ix[sym],
            p.get("long", 0) - p.get("short", 0),
            _engine_quote(market, inst_ix[sym], p.get("quote", 0)),
            p.get("isolated_margin", 0),
            None,
        )
        for sym, p in pos.items()
    )
    return CompiledAccount("forged", mode, cash, tuple(balances), positions)


def _engine_quote(market: Market, instrument: int, committed: int) -> int:
    inst = market.instruments[instrument]
    if inst.kind == "inverse" or not quote_in_settle_units(inst, market):
        return committed
    return Fraction(committed) / linear_scale(inst, market)  # type: ignore[return-value]


def true_liabilities(market: Market, acc: CompiledAccount) -> list[Fraction]:
    """What the exchange owes the account per column (assets, then cash): its balance, plus in
    a settlement asset the value at mark of the positions settling there (with their isolated
    margins), exactly."""
    out = [Fraction(b) for b in acc.balances]
    for p in acc.positions:
        inst = market.instruments[p.instrument]
        assert inst.kind == "linear", "the forger's markets are linear"
        out[inst.settle_index] += position_value(p, market, acc.mode)
    columns = lf.liability_columns(market)
    if columns.cash_column:
        return [*out, Fraction(acc.cash)]
    out[columns.cash] += columns.cash_factor * acc.cash  # the valuation currency is an asset
    return out


def leaf_means_what_it_says(market: Market, leaf: ForgedLeaf) -> bool:
    """The intended meaning of a leaf: every slot in its circuit's bound, the account's debts
    covered by its own holdings (the exact engine's :func:`debts_covered`), and every committed
    liability at least the account's true liability in its column. A layout the circuit does
    not define (a slot dropped or doubled) means nothing."""
    circuit = lf.leaf_circuit_name(leaf.mode, market.accounting)
    if not layout_defined(circuit, market, leaf.slots):
        return False
    if not within_circuit_bounds(circuit, leaf.slots):
        return False
    acc = account_of(market, leaf.slots, leaf.mode)
    if not debts_covered(acc, market):
        return False
    committed = committed_liabilities(market, leaf)
    return all(c >= t for c, t in zip(committed, true_liabilities(market, acc), strict=True))


def committed_liabilities(market: Market, leaf: ForgedLeaf) -> list[int]:
    """The values the leaf's liability commitments open to (signed representatives)."""
    specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in leaf.slots)
    inst = forged_instance(
        lf.leaf_circuit_name(leaf.mode, market.accounting), market, specs, PPM, trusted=False
    )
    columns = lf.liability_columns(market)
    out = []
    for refs, const in lf.liability_terms(inst, columns):
        total = const
        for (kind, i), k in refs:
            key = inst.slots[i].key if kind == "slot" else inst.aux[i][0]
            total += k * signed_rep(leaf.values[key])
        out.append(total)
    return out


def layout_defined(circuit: str, market: Market, slots: Sequence[ForgedSlot]) -> bool:
    """Whether the circuit defines a statement of these slots (each kind bounded as the circuit
    declares it): every slot once, its partners present, names the market lists."""
    circ = load_circuit(circuit)
    try:
        compile_instance(
            circ,
            market,
            tuple(circuit_slot(circ, n, o) for n, o, *_ in slots),
            PPM,
            trusted_slots=False,
        )
    except (CircuitError, KeyError):
        return False
    return True


# ----- margin proofs: a forging trader --------------------------------------------------------


def theta_text(theta_ppm: int) -> str:
    return format_decimal(theta_ppm, 6).rstrip("0").rstrip(".")


def forge_margin_proof(
    circuit: str,
    market: Market,
    market_digest: bytes,
    slots: Sequence[ForgedSlot],
    theta_ppm: int,
    *,
    mode: str,
    venue_key: VenueKey | None = None,
    aux: dict[tuple[str, Any], int] | None = None,
    context: str = "",
    seed: bytes = b"",
    claimed_theta_ppm: int | None = None,
) -> tuple[MarginProofFile, dict[tuple[str, Any], int]]:
    """A margin proof file over a statement of ``slots``, proven with no check at all.

    With ``venue_key`` the statement is signed by that venue (an honest venue attesting the
    account; the forger then changes only auxiliary values with ``aux``); without, it is
    self-committed. ``claimed_theta_ppm``: the file states this threshold, while the proof is
    made for ``theta_ppm``. Returns the file and every value the forger committed."""
    specs = [SlotSpec(n, o, b, s) for n, o, b, s, _ in slots]
    values = [v for *_, v in slots]
    blindings = [3000 + 13 * j + len(seed) for j in range(len(slots))]
    st = stm.build_statement(
        venue=venue_key.venue if venue_key else "self-committed",
        epoch=market.epoch,
        market_digest=market_digest,
        tag=stm.account_tag(f"trader-{seed.hex()}", b"\x02" * 32),
        mode=mode,
        slots=[SlotValue(sp, v % R) for sp, v in zip(specs, values, strict=True)],
        blindings=blindings,
        venue_key=venue_key.public_key if venue_key else None,
    )
    if venue_key is not None:
        signature = bls.sign(venue_key.secret_key, stm.statement_message(st))
        st = st.model_copy(update={"signature": signature.hex()})
    circ = load_circuit(circuit)
    inst = forged_instance(circuit, market, specs, theta_ppm, trusted=venue_key is not None)
    ctx = stm.proof_context(
        circuit_digest=circ.digest,
        market_digest=market_digest,
        theta_ppm=theta_ppm,
        epoch=market.epoch,
        context=context,
        statement=st,
    )
    proof, vals = forged_proof(inst, values, blindings, ctx, aux, seed)
    doc = MarginProofFile(
        circuit=circ.name,
        circuit_digest=circ.digest.hex(),
        market_digest=market_digest.hex(),
        threshold=theta_text(theta_ppm if claimed_theta_ppm is None else claimed_theta_ppm),
        epoch=market.epoch,
        context=context,
        statement=st,
        proof=proof.to_bytes().hex(),
    )
    return doc, vals


def margin_figures(
    market: Market, slots: Sequence[ForgedSlot], mode: str
) -> tuple[Fraction, Fraction]:
    """(equity, requirement) of the account the slot values describe, by the exact engine (for
    portfolio accounts the requirement is its worst scenario loss; under Mango's mango_health,
    equity − health).

    An inverse position's committed quote q is in settle units (−q is what the position cost):
    the engine is given the position at entry = mark (value 0, the same notional and
    maintenance) and its value q − size·(contract value at mark) is added in valuation units."""
    acc = account_of(market, slots, mode)
    if market.accounting == "mango_health":  # requirement = equity − health (linear perps only)
        equity, health = mango_figures(acc, market)
        return equity, equity - health
    extra = Fraction(0)
    positions = []
    v = market.valuation_decimals
    for p in acc.positions:
        inst = market.instruments[p.instrument]
        if inst.kind != "inverse":
            positions.append(p)
            continue
        s = market.assets[inst.settle_index]
        per = Fraction(inst.contract_value * 10**s.decimals, 10**inst.size_decimals * inst.mark)
        to_val = s.price * Fraction(10) ** (v - s.decimals - s.price_decimals)
        extra += (p.quote - p.size * per) * to_val
        positions.append(dataclasses.replace(p, quote=inst.mark))
    fig = exact_figures(dataclasses.replace(acc, positions=tuple(positions)), market)
    return fig.equity + extra, fig.maintenance


def margin_holds(
    circuit: str, market: Market, slots: Sequence[ForgedSlot], theta_ppm: int, mode: str
) -> bool:
    """What an accepted margin proof must mean: a layout the circuit defines, every slot in the
    circuit's bound, and exact equity ≥ θ·requirement for the committed values."""
    if not layout_defined(circuit, market, slots) or not within_circuit_bounds(circuit, slots):
        return False
    equity, requirement = margin_figures(market, slots, mode)
    return equity >= Fraction(theta_ppm, PPM) * requirement
