"""Circuits: the language, the compiler's refusals, honest proofs of every circuit on both
backends, and a cheating prover's attempts, each of which must yield no proof or a rejected one."""

from __future__ import annotations

import dataclasses
import secrets
from fractions import Fraction
from pathlib import Path

import pytest

from zkmargin import group
from zkmargin.circuit import proof as cp
from zkmargin.circuit.compiler import (
    Instance,
    SlotSpec,
    compile_instance,
    liquidation_circuit,
    load_circuit,
    margin_circuit,
    parse_circuit,
)
from zkmargin.circuit.lang import CircuitError
from zkmargin.circuit.slots import SlotValue, account_slots
from zkmargin.errors import DecodeError, ProvingError
from zkmargin.formats.market import MarketSnapshot
from zkmargin.group import R
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.plan import write_off
from zkmargin.margin import evaluate, load_market, synthetic
from zkmargin.margin.exact import debts_covered
from zkmargin.margin.market import Market, compile_market
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition
from zkmargin.pedersen import commit
from zkmargin.transcript import SpongeRng

ROOT = Path(__file__).resolve().parent.parent
PPM = 1_000_000

MARKET = synthetic.synthetic_market()
TABLE = synthetic.synthetic_accounts(MARKET, 80, seed=11)
ACCOUNTS = list(TABLE.accounts())


def _pick(mode: str, healthy: bool, count: int = 2) -> list[CompiledAccount]:
    out = [
        a
        for a in ACCOUNTS
        if a.mode == mode and evaluate(a, MARKET, details=False).healthy is healthy
    ]
    assert len(out) >= min(count, 1), f"no {mode} account with healthy={healthy}"
    return out[:count]


def _setup(
    acc: CompiledAccount,
    market: Market = MARKET,
    circuit: str | None = None,
    trusted: bool = True,
    theta: int = PPM,
) -> tuple[Instance, list[SlotValue], list[int], list[group.Point]]:
    slots = account_slots(acc, market)
    inst = compile_instance(
        load_circuit(circuit or acc.mode),
        market,
        tuple(s.spec for s in slots),
        theta,
        trusted_slots=trusted,
    )
    blindings = [secrets.randbelow(R - 1) + 1 for _ in slots]
    points = [commit(s.value, g) for s, g in zip(slots, blindings, strict=True)]
    return inst, slots, blindings, points


def _values(slots: list[SlotValue]) -> list[int]:
    return [s.value for s in slots]


# ----- the language and the compiler ---------------------------------------------------------


BASE = """
name = "t"
modes = ["cross"]
[slots]
cash = { over = "account", bits = 64, signed = true }
"""


def _one_slot_instance(text: str) -> Instance:
    return compile_instance(
        parse_circuit(text), MARKET, (SlotSpec("cash", "", 64, True),), PPM, trusted_slots=False
    )


def test_refuses_a_form_that_could_wrap() -> None:
    big = 10**70
    with pytest.raises(CircuitError, match="wrap"):
        _one_slot_instance(BASE + f'[[check]]\nname = "huge"\ncheck = "{big} * cash >= 0"\n')


def test_refuses_unbounded_auxiliary_values() -> None:
    text = BASE + '[aux.x]\nover = ""\nhint = "1"\n[[check]]\ncheck = "x + cash >= 0"\n'
    with pytest.raises(CircuitError, match="bits"):
        parse_circuit(text)


@pytest.mark.parametrize(
    "expr",
    ["cash * cash >= 0", "1 / cash >= 0", "max(cash, 1) >= 0", "__import__('os') >= 0", "cash"],
)
def test_refuses_non_linear_or_foreign_expressions(expr: str) -> None:
    with pytest.raises(CircuitError):
        _one_slot_instance(BASE + f'[[check]]\ncheck = "{expr}"\n')


def test_refuses_a_constant_check() -> None:
    with pytest.raises(CircuitError, match="constant"):
        _one_slot_instance(BASE + '[[check]]\ncheck = "1 >= 0"\n')


def test_refuses_statement_slots_the_circuit_does_not_use() -> None:
    slots = (SlotSpec("cash", "", 64, True), SlotSpec("isolated_margin", "BTCUSDT", 64, False))
    with pytest.raises(CircuitError, match="does not use"):
        compile_instance(load_circuit("cross"), MARKET, slots, PPM, trusted_slots=True)


def test_refuses_a_position_missing_one_of_its_slots() -> None:
    acc = _pick("cross", True)[0]
    slots = [s.spec for s in account_slots(acc, MARKET) if s.spec.name != "short"]
    with pytest.raises(CircuitError, match="no short slot"):
        compile_instance(load_circuit("cross"), MARKET, tuple(slots), PPM, trusted_slots=True)


def test_the_wrap_bound_is_what_makes_limbs_sound() -> None:
    """Every >= form of every shipped circuit is bounded below r/2 and its limbs fit."""
    for mode in ("cross", "isolated", "portfolio"):
        inst, *_ = _setup(_pick(mode, True)[0])
        for f in inst.forms:
            assert max(-f.lo, f.hi) < R // 2
            if f.kind == ">=" and f.lo < 0:
                assert (1 << (64 * f.limbs)) <= R + f.lo
                assert f.hi < 1 << (64 * f.limbs)


# ----- honest proofs -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cross", "isolated", "portfolio"])
@pytest.mark.parametrize("trusted", [True, False], ids=["attested", "self"])
def test_healthy_accounts_prove_and_verify(mode: str, trusted: bool) -> None:
    for acc in _pick(mode, True):
        inst, slots, blindings, points = _setup(acc, trusted=trusted)
        proof = cp.prove(inst, _values(slots), blindings, b"ctx")
        decoded = cp.CircuitProof.from_bytes(proof.to_bytes(), inst)
        assert cp.verify(inst, points, decoded, b"ctx")
        assert not cp.verify(inst, points, decoded, b"another context")


def test_liability_leaf_proves_debts_covered() -> None:
    for acc in _pick("cross", True):
        inst, slots, blindings, points = _setup(acc, circuit="liability_leaf", trusted=False)
        proof = cp.prove(inst, _values(slots), blindings, b"leaf")
        assert cp.verify(inst, points, proof, b"leaf")


@pytest.mark.parametrize("mode", ["cross", "isolated", "portfolio"])
def test_unhealthy_accounts_are_refused(mode: str) -> None:
    for acc in _pick(mode, False, 1):
        inst, slots, blindings, _ = _setup(acc)
        with pytest.raises(ProvingError):
            cp.prove(inst, _values(slots), blindings, b"ctx")


def test_circuit_never_healthier_than_the_engine() -> None:
    """The circuit's exact check passes for every account the engine calls healthy, and fails
    for every account the engine calls unhealthy by more than a rounding unit."""
    for acc in ACCOUNTS:
        res = evaluate(acc, MARKET, details=False)
        inst, slots, _, _ = _setup(acc)
        failed = cp.check_witness(inst, cp.auxiliary_values(inst, _values(slots)))
        if res.healthy:
            assert not failed, (acc.id, failed)
        elif res.equity < res.maintenance - 10:
            assert failed, acc.id


K4P4 = load_market(ROOT / "examples" / "trader" / "k4p4" / "market.json")


def _seeded_proof(backend_name: str, acc: CompiledAccount) -> bytes:
    with group.using(backend_name):
        slots = account_slots(acc, K4P4)
        inst = compile_instance(
            load_circuit(acc.mode), K4P4, tuple(s.spec for s in slots), PPM, trusted_slots=True
        )
        blindings = [i + 12345 for i in range(len(slots))]
        rng = SpongeRng.from_tag(b"zkmargin test seed")
        proof = cp.prove(inst, _values(slots), blindings, b"seeded", rng=rng)
        points = [commit(s.value, g) for s, g in zip(slots, blindings, strict=True)]
        assert cp.verify(inst, points, proof, b"seeded")
        return proof.to_bytes()


@pytest.mark.slow
def test_backends_give_byte_identical_proofs() -> None:
    """A small attested cross account (one flat position): the same seeded proof, byte for byte,
    from arkworks and from py_ecc, each verified on its own backend."""
    p0 = K4P4.instrument_index("P0")
    assert p0 is not None
    acc = CompiledAccount(
        "small", "cross", 10**9, (0,) * len(K4P4.assets), (CompiledPosition(p0, 3, 0, 0, 0),)
    )
    assert _seeded_proof("native", acc) == _seeded_proof("reference", acc)


# ----- a cheating prover ---------------------------------------------------------------------


def _cheat(acc: CompiledAccount, override: dict[tuple[str, object], int], **kw: object) -> bool:
    inst, slots, blindings, points = _setup(acc, **kw)  # type: ignore[arg-type]
    values = dict(cp.auxiliary_values(inst, _values(slots)))
    values.update(override)
    try:
        proof = cp.prove(inst, _values(slots), blindings, b"c", _unsafe_values=values)
    except ProvingError:
        return False
    return cp.verify(inst, points, proof, b"c")


@pytest.mark.parametrize("mode", ["cross", "isolated", "portfolio"])
def test_an_account_below_maintenance_gets_no_valid_proof(mode: str) -> None:
    acc = _pick(mode, False, 1)[0]
    assert not _cheat(acc, {})


def test_a_wrapped_maintenance_is_rejected() -> None:
    """Claim a maintenance of −1 (r − 1 mod r) for a tiered position: the requirement would
    vanish, but the value is not in [0, 2^62)."""
    acc = next(
        a
        for a in _pick("cross", False, 10)
        if any(
            MARKET.instruments[p.instrument].schedule
            and len(MARKET.instruments[p.instrument].schedule.pieces) > 1  # type: ignore[union-attr]
            for p in a.positions
        )
    )
    inst, *_ = _setup(acc)
    key = next(k for k, _, _ in inst.aux if k[0] == "maintenance")
    assert not _cheat(acc, {key: -1})
    assert not _cheat(acc, {key: 0})


def test_a_slice_above_its_width_and_slices_above_the_balance_are_rejected() -> None:
    btc = MARKET.asset_index("BTC")
    acc = next(a for a in ACCOUNTS if a.mode == "cross" and a.balances[btc] > 10**9)
    inst, *_ = _setup(acc)
    slices = [k for k, _, _ in inst.aux if k[0] == "slice"]
    first = slices[0]
    width = inst.scope.params["tier_width"]["BTC"][0]  # type: ignore[union-attr]
    assert not _cheat(acc, {first: width + 10**9})
    # every slice at the full balance: the sum exceeds it, more value would count at high weight
    total = acc.balances[btc]
    assert not _cheat(acc, {k: min(total, width) for k in slices})


def test_values_that_do_not_match_the_attested_commitments_are_rejected() -> None:
    """Long and short parts other than the committed ones: a cheater shrinking a short to zero."""
    acc = next(a for a in _pick("cross", False, 20) if any(p.size < 0 for p in a.positions))
    inst, slots, blindings, points = _setup(acc)
    values = _values(slots)
    for i, s in enumerate(slots):
        if s.spec.name == "short" and s.value:
            values[i] = 0
    forged = cp.auxiliary_values(inst, values)
    proof = cp.prove(inst, values, blindings, b"c", _unsafe_values=forged)
    assert not cp.verify(inst, points, proof, b"c")


def test_a_negative_self_committed_balance_is_rejected() -> None:
    acc = _pick("cross", True)[0]
    inst, slots, blindings, _ = _setup(acc, trusted=False)
    values = _values(slots)
    k = next(i for i, s in enumerate(slots) if s.spec.name == "balance_pos")
    values[k] = -(10**12)  # a "negative collateral" that adds nothing to the sum constraints
    points = [commit(v, g) for v, g in zip(values, blindings, strict=True)]
    vals = cp.auxiliary_values(inst, values)
    proof = cp.prove(inst, values, blindings, b"c", _unsafe_values=vals)
    assert not cp.verify(inst, points, proof, b"c")


def test_an_understated_scenario_loss_is_rejected() -> None:
    """Prove against a doctored market whose risk arrays understate the loss."""
    acc = _pick("portfolio", False, 1)[0]
    doc = synthetic.market_document()
    for arr in doc["portfolio"]["risk_arrays"].values():
        arr[:] = [max(v, 0) for v in arr]  # no scenario loses anything
    doctored = compile_market(MarketSnapshot.model_validate(doc))
    inst_bad, slots, blindings, points = _setup(acc, market=doctored)
    proof = cp.prove(inst_bad, _values(slots), blindings, b"c")  # honest under the doctored market
    inst_true, *_ = _setup(acc)
    assert not cp.verify(inst_true, points, proof, b"c")


def test_a_proof_for_other_commitments_is_rejected() -> None:
    """A slot's commitment swapped for another account's, or two of its own swapped."""
    a, b = _pick("isolated", True, 2)
    inst, slots, blindings, points = _setup(a)
    proof = cp.prove(inst, _values(slots), blindings, b"c")
    assert cp.verify(inst, points, proof, b"c")
    _, _, _, others = _setup(b)
    foreign = [others[0], *points[1:]]
    assert not cp.verify(inst, foreign, proof, b"c")
    swapped = list(points)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert not cp.verify(inst, swapped, proof, b"c")


def test_every_flipped_byte_is_rejected() -> None:
    acc = _pick("isolated", True)[0]
    inst, slots, blindings, points = _setup(acc)
    data = cp.prove(inst, _values(slots), blindings, b"c").to_bytes()
    step = max(1, len(data) // 97)
    for i in range(0, len(data), step):
        bad = bytearray(data)
        bad[i] ^= 1 << (i % 8)
        try:
            ok = cp.verify(inst, points, cp.CircuitProof.from_bytes(bytes(bad), inst), b"c")
        except DecodeError:
            ok = False
        assert not ok, f"byte {i} flipped still verifies"
    with pytest.raises(DecodeError):
        cp.CircuitProof.from_bytes(data[:-1], inst)
    with pytest.raises(DecodeError):
        cp.CircuitProof.from_bytes(data + b"\0", inst)


# ----- equality checks (a Sigma proof) -------------------------------------------------------

EQ = """
name = "eq"
modes = ["cross"]
[slots]
cash = { over = "account", bits = 64, signed = true }
[aux.copy]
over = ""
bits = 64
hint = "cash + 1000"
[[check]]
name = "copy_is_cash_plus_1000"
check = "copy == cash + 1000"
"""


def test_equality_checks_use_a_sigma_proof() -> None:
    circ = parse_circuit(EQ)
    inst = compile_instance(
        circ, MARKET, (SlotSpec("cash", "", 64, True),), PPM, trusted_slots=True
    )
    assert len(inst.equalities) == 1
    g = secrets.randbelow(R - 1) + 1
    point = commit(5000, g)
    proof = cp.prove(inst, [5000], [g], b"e")
    assert proof.sigma
    assert cp.verify(inst, [point], cp.CircuitProof.from_bytes(proof.to_bytes(), inst), b"e")
    assert not cp.verify(inst, [commit(5001, g)], proof, b"e")
    forged = cp.prove(inst, [5000], [g], b"e", _unsafe_values={("copy", None): 6001})
    assert not cp.verify(inst, [point], forged, b"e")


def test_hints_are_exact() -> None:
    acc = _pick("cross", True)[0]
    inst, slots, _, _ = _setup(acc)
    values = cp.auxiliary_values(inst, _values(slots))
    for key, _, _ in inst.aux:
        assert isinstance(values[key], int)
    assert all(isinstance(c, int) for f in inst.forms for c in f.coeffs.values())
    assert Fraction(1, 3) != Fraction(0)  # exact rationals, never floats, in parameters
    assert not any(
        isinstance(v, float)
        for v in inst.scope.params["price"].values()  # type: ignore[union-attr]
    )


# ----- every published venue market ----------------------------------------------------------

VENUES = sorted((ROOT / "examples" / "venues").glob("*.json"))


def _prove_verify(acc: CompiledAccount, market: Market, circuit: str, label: bytes) -> bool:
    """Prove ``circuit`` for ``acc`` (every slot range-proven) and verify; False if refused."""
    slots = account_slots(acc, market)
    inst = compile_instance(
        load_circuit(circuit), market, tuple(s.spec for s in slots), PPM, trusted_slots=False
    )
    blindings = [secrets.randbelow(R - 1) + 1 for _ in slots]
    points = [commit(s.value, g) for s, g in zip(slots, blindings, strict=True)]
    try:
        proof = cp.prove(inst, _values(slots), blindings, label)
    except ProvingError:
        return False
    assert cp.verify(inst, points, proof, label)
    return True


@pytest.mark.parametrize("path", VENUES, ids=lambda p: p.stem)
def test_published_venue_markets(path: Path) -> None:
    """Every accounting the engine knows is provable: a healthy account proves and verifies its
    margin, a broke one is refused and proves and verifies its liquidation instead; each has its
    liabilities leaf (the broke one written off)."""
    market = load_market(path)
    mode = "portfolio" if market.risk_arrays else "cross"
    positions = []
    for inst in market.instruments:
        if mode == "portfolio" and inst.index not in market.risk_arrays:
            continue
        if mode == "cross" and (inst.schedule is None or inst.kind == "option"):
            continue
        entry = inst.mark
        size = 10**inst.size_decimals
        quote = entry if inst.kind == "inverse" else -size * entry
        positions.append(CompiledPosition(inst.index, size, quote, 0, entry))
    valuation_cash = 10 ** (market.valuation_decimals + 9)
    acc = CompiledAccount(
        "venue-test", mode, valuation_cash, (0,) * len(market.assets), tuple(positions)
    )
    margin, liquidation = (
        margin_circuit(mode, market.accounting),
        liquidation_circuit(mode, market.accounting),
    )
    assert evaluate(acc, market, details=False).healthy
    assert _prove_verify(acc, market, margin, path.stem.encode())
    assert not _prove_verify(acc, market, liquidation, path.stem.encode())
    broke = dataclasses.replace(acc, cash=-(10 ** (market.valuation_decimals + 9)))
    assert not evaluate(broke, market, details=False).healthy
    assert not _prove_verify(broke, market, margin, b"x")
    assert _prove_verify(broke, market, liquidation, b"x")
    # and its liabilities leaf: the healthy account's as it is, the broke one's written off
    leaf = lf.leaf_circuit_name(mode, market.accounting)
    assert debts_covered(acc, market) and not debts_covered(broke, market)
    assert _prove_verify(acc, market, leaf, b"leaf")
    assert not _prove_verify(broke, market, leaf, b"leaf")
    assert _prove_verify(write_off(broke, market), market, leaf, b"leaf")


def test_a_circuit_refuses_another_accounting_by_name() -> None:
    mango = load_market(ROOT / "examples" / "venues" / "mango_v4.json")
    with pytest.raises(CircuitError, match="mango_health accounting is not expressed by circuit"):
        compile_instance(
            load_circuit("cross"), mango, (SlotSpec("cash", "", 64, True),), PPM, trusted_slots=True
        )
    with pytest.raises(CircuitError, match="standard accounting is not expressed by circuit"):
        compile_instance(
            load_circuit("mango_cross"),
            MARKET,
            (SlotSpec("cash", "", 64, True),),
            PPM,
            trusted_slots=True,
        )


def _small_market() -> Market:
    """A tiny market for the reference backend: one asset, one flat perpetual, a 2-scenario grid."""
    doc = {
        "format": "zkmargin.market",
        "version": 1,
        "venue": "small",
        "epoch": 1,
        "valuation": {"symbol": "USD", "decimals": 0},
        "assets": [{"symbol": "USD", "decimals": 0, "price": "1", "price_decimals": 0}],
        "instruments": [
            {
                "symbol": "P",
                "kind": "linear",
                "base": "B",
                "settle": "USD",
                "size_decimals": 0,
                "mark_price": "100",
                "price_decimals": 0,
                "maintenance": {"type": "flat", "rate": "0.05"},
            }
        ],
        "portfolio": {
            "grid": {"name": "two", "scenarios": [{"price_move": "0.1"}, {"price_move": "-0.1"}]},
            "risk_arrays": {"P": [10, -10]},
        },
    }
    return compile_market(MarketSnapshot.model_validate(doc))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cross", "isolated", "portfolio"])
def test_every_circuit_on_the_reference_backend(mode: str) -> None:
    """Each margin circuit proves and verifies on py_ecc too (a small account: one position)."""
    market = _small_market()
    iso = 500 if mode == "isolated" else 0
    cash = 0 if mode == "isolated" else 1000
    acc = CompiledAccount("r", mode, cash, (0,), (CompiledPosition(0, 7, -700, iso, 100),))
    assert evaluate(acc, market, details=False).healthy
    with group.using("reference"):
        inst, slots, blindings, points = _setup(acc, market=market)
        proof = cp.prove(inst, _values(slots), blindings, b"ref")
        assert cp.verify(inst, points, proof, b"ref")
        assert not cp.verify(inst, points, proof, b"other")


NARROW = """
name = "narrow"
modes = ["cross"]
[slots]
cash = { over = "account", bits = 64, signed = true }
[aux.y]
over = ""
bits = 32
hint = "7"
[[check]]
name = "cash_positive"
check = "cash - 1 >= 0"
[[check]]
name = "y_used"
check = "cash - y >= 0"
"""


@pytest.mark.parametrize("trusted", [True, False], ids=["attested", "self"])
def test_a_narrow_bound_is_not_proven_by_scaling(trusted: bool) -> None:
    """y < 2^32 claimed as y = 2^−32 mod r: 2^32·y = 1 is tiny, y is not. Proving 2^32·y < 2^64
    would accept it; the two-sided items y < 2^64 and 2^32 − 1 − y < 2^64 refuse it."""
    inst = compile_instance(
        parse_circuit(NARROW), MARKET, (SlotSpec("cash", "", 64, True),), PPM, trusted_slots=trusted
    )
    labels = [it.label for it in inst.range_items]
    assert "aux y[None]" in labels and "aux y[None] upper bound" in labels
    g = secrets.randbelow(R - 1) + 1
    point = commit(10**6, g)
    honest = cp.prove(inst, [10**6], [g], b"n")
    assert cp.verify(inst, [point], honest, b"n")
    for y in (pow(1 << 32, -1, R), 1 << 32, R - 1):
        forged = cp.prove(inst, [10**6], [g], b"n", _unsafe_values={("y", None): y})
        assert not cp.verify(inst, [point], forged, b"n"), y


def test_a_self_committed_narrow_slot_is_bounded_on_both_sides() -> None:
    """A self-committed statement may declare 32-bit slots; a value beyond them, or a field
    element standing for one, is rejected."""
    spec = (SlotSpec("cash", "", 32, True),)
    narrow = NARROW.replace("bits = 64, signed", "bits = 32, signed")
    inst = compile_instance(parse_circuit(narrow), MARKET, spec, PPM, trusted_slots=False)
    g = secrets.randbelow(R - 1) + 1
    for cash in (1 << 31, -(1 << 31) - 1, pow(1 << 32, -1, R)):
        forged = cp.prove(inst, [cash], [g], b"n", _unsafe_values={("y", None): 7})
        assert not cp.verify(inst, [commit(cash, g)], forged, b"n"), cash
    ok = cp.prove(inst, [(1 << 31) - 1], [g], b"n")
    assert cp.verify(inst, [commit((1 << 31) - 1, g)], ok, b"n")


HONEST_BELOW = """
name = "rounded"
modes = ["cross"]
[slots]
cash = { over = "account", bits = 64, signed = true }
[aux.u]
over = ""
bits = 64
hint = "cash + 5"
[[check]]
name = "u_rounds_cash_up"
check = "u - cash >= 0"
honest_below = "{below}"
"""


def test_honest_below_sets_the_limbs_and_keeps_the_check_sound() -> None:
    """``honest_below`` (rule 6) makes a form that could be 65 bits wide one limb. A value that
    one limb cannot hold is refused by name (two limbs take it), and a cheat (u below cash: the
    form is −1, r − 1 mod r) still fails to verify: no form wraps, so one limb shows F ≥ 0."""
    spec = (SlotSpec("cash", "", 64, True),)
    wide = compile_instance(
        parse_circuit(HONEST_BELOW.replace('honest_below = "{below}"\n', "")),
        MARKET,
        spec,
        PPM,
        trusted_slots=False,
    )
    inst = compile_instance(
        parse_circuit(HONEST_BELOW.replace("{below}", str(1 << 60))),
        MARKET,
        spec,
        PPM,
        trusted_slots=False,
    )
    assert wide.forms[0].limbs == 2 and inst.forms[0].limbs == 1
    g = secrets.randbelow(R - 1) + 1
    point = commit(10**6, g)
    assert cp.verify(inst, [point], cp.prove(inst, [10**6], [g], b"h"), b"h")
    big_u = {("u", None): (1 << 64) - 1}  # with cash = −2^62, F = u − cash ≥ 2^64
    low = -(1 << 62)
    with pytest.raises(ProvingError, match="u_rounds_cash_up"):
        _prove_checked(inst, [low], [g], big_u)  # one limb: refused, naming the check
    assert _prove_checked(wide, [low], [g], big_u) is not None
    forged = cp.prove(inst, [10**6], [g], b"h", _unsafe_values={("u", None): 10**6 - 1})
    assert not cp.verify(inst, [point], forged, b"h")
    with pytest.raises(CircuitError, match="honest_below"):
        parse_circuit(HONEST_BELOW.replace("{below}", "1").replace(">= 0", "== 0"))


def _prove_checked(
    inst: Instance, values: list[int], blindings: list[int], aux: dict[tuple[str, object], int]
) -> cp.CircuitProof:
    """Prove with the auxiliary values ``aux`` in place of the hints, every check still made."""
    full = cp.auxiliary_values(inst, values) | aux
    failed = cp.check_witness(inst, full)
    if failed:
        raise ProvingError("the committed values fail the check(s) " + ", ".join(failed))
    return cp.prove(inst, values, blindings, b"h", _unsafe_values=full)


def test_every_shipped_circuit_bounds_a_slot_kind_alike() -> None:
    """One statement serves every circuit of its mode (margin, liabilities leaf, liquidation):
    so a slot kind must have one bound in every shipped circuit, and the statement's honest
    issuer (circuit.slots) takes it from them."""
    from zkmargin.circuit.compiler import SHIPPED

    kinds: dict[str, tuple[int, bool]] = {}
    for name in SHIPPED:
        for slot, kind in load_circuit(name).slots.items():
            bound = (kind.bits, kind.signed)
            assert kinds.setdefault(slot, bound) == bound, (name, slot)
    assert kinds["quote"] == (64, True) and kinds["short"] == (64, False)
