"""The forger against the audit's per-leaf code, on the leaf circuits and column shapes the
exchange-market tests (``test_forgery.py``) do not reach: a Mango v4 book (``liability_leaf_mango``,
debts covered as Mango nets them), Binance USDⓈ-M (the valuation currency USDT is an asset: the
cash shares its column) and the SPAN example (whole-dollar cash in a column of cents: m = 100).

Each case's header and market are built as a publication holds them, with no publication: the
audit's ``check_leaves`` takes them as text. Leaves are drawn at the edge of covered (the exact
cover, :func:`zkmargin.margin.exact.leaf_cover`, set to −10^6 … 10^6 valuation units by the
cash), then, unless honest, with wild values, both b⁺ and b⁻ of an asset, other declared bounds,
or a changed auxiliary value. Accepted ⇒ the leaf means what it says by the exact engine
(``forger.leaf_means_what_it_says``); an honest leaf is accepted where its cover is at least the
circuit's rounding (nothing for the standard leaf; under one valuation unit per token for
Mango's), refused where its cover is negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import forger
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from zkmargin import group
from zkmargin.attest.keys import generate
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import SlotSpec, load_circuit
from zkmargin.circuit.slots import decoy_candidates
from zkmargin.formats.common import PPM
from zkmargin.formats.market import canonical_market, market_digest
from zkmargin.formats.publication import PublicationHeader
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.work import check_leaves
from zkmargin.margin.exact import leaf_cover
from zkmargin.margin.market import Market, compile_market, load_snapshot

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "mango": ROOT / "examples" / "exchange" / "mango" / "market.json",
    "binance_usdm": ROOT / "examples" / "venues" / "binance_usdm.json",
    "span_cents": ROOT / "examples" / "venues" / "span.json",
}


@dataclass
class Case:
    name: str
    market: Market
    market_text: bytes
    header: dict[str, Any]
    header_json: str
    circuit: str
    #: what an honest leaf's cover may lose to the circuit's rounding (valuation units)
    tolerance: int


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    snap = load_snapshot(CASES[request.param])
    market = compile_market(snap)
    columns = lf.liability_columns(market)
    header = PublicationHeader(
        venue="Forged",
        venue_key=generate("Forged").public_key.hex(),
        epoch=snap.epoch,
        market_digest=market_digest(snap).hex(),
        height=3,
        columns=list(columns.symbols),
        decimals=list(columns.decimals),
    )
    circuit = lf.leaf_circuit_name("cross", market.accounting)
    mango = market.accounting == "mango_health"
    return Case(
        request.param, market, canonical_market(snap), header.model_dump(),
        header.model_dump_json(), circuit, len(market.assets) if mango else 0,
    )  # fmt: skip


def _spec(circuit: str, name: str) -> tuple[int, bool]:
    kind = load_circuit(circuit).slots[name]
    return kind.bits, kind.signed


def _cash_for(market: Market, slots: list[forger.ForgedSlot], margin: int) -> int:
    """The cash that puts the exact cover of the slots' account in [margin, margin + 1)."""
    acc = forger.account_of(market, [s for s in slots if s[0] != "cash"])
    return -math.floor(leaf_cover(acc, market)) + margin


@dataclass
class Draw:
    slots: list[forger.ForgedSlot]
    aux: tuple[int, str] | None  # (index of an auxiliary value, change)
    seed: bytes


@st.composite
def draws(draw: st.DrawFn, case: Case, honest: bool) -> Draw:
    market, circuit = case.market, case.circuit
    assets = draw(st.lists(st.sampled_from([a.symbol for a in market.assets]), unique=True))
    if market.accounting == "mango_health":
        can_hold = [i.symbol for i in market.instruments if i.schedule and i.schedule.weights]
    else:
        can_hold = decoy_candidates(market, "cross")[1]
    linear = {i.symbol for i in market.instruments if i.kind == "linear"}
    can_hold = [s for s in can_hold if s in linear]
    insts = draw(st.lists(st.sampled_from(can_hold), unique=True, max_size=2)) if can_hold else []
    slots: list[forger.ForgedSlot] = []
    for a in market.assets:
        if a.symbol not in assets:
            continue
        amount = draw(forger.magnitude(a.decimals + 5))
        shape = draw(st.sampled_from(("pos", "pos", "neg", "zero", *(() if honest else ("both",)))))
        pos = amount if shape in ("pos", "both") else 0
        neg = amount if shape == "neg" else 0
        if shape == "both":
            neg = draw(forger.magnitude(a.decimals + 3))
        slots += [("balance_pos", a.symbol, *_spec(circuit, "balance_pos"), pos),
                  ("balance_neg", a.symbol, *_spec(circuit, "balance_neg"), neg)]  # fmt: skip
    for inst in market.instruments:
        if inst.symbol not in insts:
            continue
        size = draw(forger.magnitude(inst.size_decimals + 4)) * draw(st.sampled_from((1, -1)))
        entry = max(0, inst.mark + draw(st.integers(-inst.mark // 5, inst.mark // 5)))
        slots += [("long", inst.symbol, *_spec(circuit, "long"), max(size, 0)),
                  ("short", inst.symbol, *_spec(circuit, "short"), max(-size, 0)),
                  ("quote", inst.symbol, *_spec(circuit, "quote"), -size * entry)]  # fmt: skip
    margin = draw(st.sampled_from((-(10**6), -10, -1, 0, 0, 1, 2, 3, 10, 10**6)))
    slots.append(("cash", "", *_spec(circuit, "cash"), _cash_for(market, slots, margin)))
    if not honest and draw(st.integers(0, 2)) == 0:
        for k in draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, max_size=2)):
            n, o, b, s, v = slots[k]
            slots[k] = (n, o, b, s, draw(forger.wild(v)))
        if draw(st.booleans()):
            rest = [s for s in slots if s[0] != "cash"]
            cash = _cash_for(market, rest, draw(st.sampled_from((0, 1, -1))))
            slots = [*rest, ("cash", "", *_spec(circuit, "cash"), cash)]
    if not honest and draw(st.integers(0, 5)) == 0:
        k = draw(st.integers(0, len(slots) - 1))
        n, o, _, _, v = slots[k]
        slots[k] = (n, o, draw(st.sampled_from((8, 32, 63, 64))), draw(st.booleans()), v)
    aux = None
    if not honest and draw(st.integers(0, 2)) == 0:
        aux = (draw(st.integers(0, 63)), draw(st.sampled_from(forger.AUX_CHANGES)))
    return Draw(slots, aux, draw(st.binary(max_size=4)))


def forge(case: Case, d: Draw) -> forger.ForgedLeaf:
    values = None
    if d.aux is not None:
        specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in d.slots)
        inst = forger.forged_instance(case.circuit, case.market, specs, PPM, trusted=False)
        honest = cproof.auxiliary_values(inst, [forger.signed_rep(v) for *_, v in d.slots])
        keys = [k for k, _, _ in inst.aux]
        if keys:
            key = keys[d.aux[0] % len(keys)]
            values = {key: forger.change_aux(d.aux[1], honest[key])}
    return forger.forge_leaf(case.market, case.header, 0, d.slots, aux=values, seed=d.seed)


def accepted(case: Case, leaf: forger.ForgedLeaf) -> bool:
    verdict = check_leaves(group.backend().name, case.market_text, case.header_json, [leaf.row])
    return not verdict.bad and len(verdict.tags) == 1


def test_accepted_leaves_mean_what_they_say(case: Case) -> None:
    """Soundness: whatever the audit accepts is covered by the exact engine, every slot in the
    circuit's bound, every committed liability (the cash counted m times in a shared column) at
    least the true one."""
    seen: list[bool] = []
    first = case.market.assets[0].symbol
    covered = [
        ("balance_pos", first, 64, False, 10 ** case.market.assets[0].decimals),
        ("balance_neg", first, 64, False, 0),
        ("cash", "", 64, True, 0),
    ]

    @forger.examples(40)
    @given(d=draws(case, honest=False))
    @example(d=Draw(covered, None, b""))
    def check(d: Draw) -> None:
        leaf = forge(case, d)
        ok = accepted(case, leaf)
        event("accepted" if ok else "refused")
        seen.append(ok)
        if ok:
            assert forger.leaf_means_what_it_says(case.market, leaf), (
                "CRITICAL: the audit accepted a leaf that does not mean what it says",
                case.name,
                leaf.slots,
                d.aux,
            )

    check()
    assert 0 < sum(seen) < len(seen), (sum(seen), len(seen))


def test_honest_leaves_are_accepted_when_covered(case: Case) -> None:
    """Completeness: an honest leaf is accepted when its exact cover is at least the circuit's
    rounding, and refused when its cover is negative."""
    seen: list[bool] = []

    @forger.examples(15)
    @given(d=draws(case, honest=True))
    def check(d: Draw) -> None:
        leaf = forge(case, d)
        ok = accepted(case, leaf)
        cover = leaf_cover(forger.account_of(case.market, d.slots), case.market)
        if cover < 0:
            assert not ok, (case.name, d.slots, cover)
        elif cover >= case.tolerance:
            assert ok, (case.name, d.slots, cover)
        seen.append(ok)

    check()
    assert sum(seen) >= len(seen) // 4, (sum(seen), len(seen))


def test_a_header_with_other_columns_passes_no_leaf(case: Case) -> None:
    """The leaf check derives the columns from the market (its own side): a header listing them
    in another order, or other decimals, makes every leaf bad, even one the market's header
    accepts."""
    first = case.market.assets[0]
    leaf = forge(case, Draw([
        ("balance_pos", first.symbol, 64, False, 10**first.decimals),
        ("balance_neg", first.symbol, 64, False, 0),
        ("cash", "", 64, True, 0),
    ], None, b""))  # fmt: skip
    assert accepted(case, leaf)
    for change in (
        {"columns": [*reversed(case.header["columns"]), "X"]},
        {"decimals": [d + 1 for d in case.header["decimals"]]},
    ):
        header = PublicationHeader.model_validate({**case.header, **change}).model_dump_json()
        verdict = check_leaves(group.backend().name, case.market_text, header, [leaf.row])
        assert verdict.bad and "columns are not the market's" in verdict.bad[0][1], change
