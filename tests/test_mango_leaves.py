"""Liabilities leaves for Mango v4 accounts (the market's ``mango_health`` accounting).

A leaf proves the account's debts covered as Mango nets them: each perp's value at mark joins its
settle token's position before the token is weighed (``margin.exact.debts_covered``). Checked
here: a Mango book publishes, audits and includes every user from the command line; no account
at or above zero Mango health is ever written off; a perp's gain covers a debt in its settle
token; and, with the forger (``forger.py``: a prover that skips every honest check) against the
audit's own per-leaf code, every accepted leaf means what it says by the exact engine, while
honest leaves are accepted whenever they are covered by more than the circuit's rounding.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import forger
import pytest
from click.testing import CliRunner
from hypothesis import event, example, given
from hypothesis import strategies as st

from zkmargin import api, group
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import SlotSpec, load_circuit
from zkmargin.circuit.slots import account_slots
from zkmargin.cli import main
from zkmargin.exchange import load_venue_key
from zkmargin.formats.common import FormatError
from zkmargin.formats.market import MarketSnapshot
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.plan import write_off
from zkmargin.liabilities.work import check_leaves
from zkmargin.margin.exact import debts_covered, mango_cover
from zkmargin.margin.market import Market, compile_market
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition, evaluate

CIRCUIT = "liability_leaf_mango"

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "examples" / "exchange" / "mango"
#: Three tokens (each with asset and liability weights), two perps settling in USDC.
MARKET: dict[str, Any] = json.loads((BOOK / "market.json").read_text())
#: A Mango book: healthy accounts, one below zero health but covered, one whose USDC debt is
#: covered only by its perp's gain (netting), and two bankrupt ones.
ACCOUNTS: list[dict[str, Any]] = json.loads((BOOK / "accounts.json").read_text())["accounts"]


def _market() -> Market:
    return compile_market(MarketSnapshot.model_validate(MARKET))


def _run(*args: str | Path) -> str:
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bundled Mango book (examples/exchange/mango) published in a tree of 8 leaves (one of
    them padding)."""
    d = tmp_path_factory.mktemp("mango")
    _run("venue", "keygen", "--out", d / "venue.key", "--venue", "MangoX")
    out = _run(
        "exchange", "publish", "--out", d / "pub.sqlite", "--workers", "1", "--min-share", "1",
        "--market", BOOK / "market.json", "--accounts", BOOK / "accounts.json",
        "--reserves", BOOK / "reserves.json", "--key", d / "venue.key",
    )  # fmt: skip
    header, market = forger.read_header(d / "pub.sqlite")
    return {"dir": d, "publish": out, "header": header, "market": market}


def _compiled(market: Market) -> dict[str, CompiledAccount]:
    from zkmargin.formats.accounts import Account
    from zkmargin.margin.scalar import compile_account

    return {a["id"]: compile_account(Account.model_validate(a), market) for a in ACCOUNTS}


def test_the_book_is_what_the_tests_say() -> None:
    """The book's accounts are what their names say, by the engine and the exact oracle."""
    market = _market()
    book = _compiled(market)
    for name in ("alice", "bob", "dave"):
        assert evaluate(book[name], market, details=False).healthy, name
    for name in ("below", "netted"):
        assert not evaluate(book[name], market, details=False).healthy, name
        assert debts_covered(book[name], market), name
    # netting: the perp's gain at mark (+100 USDC) cancels the USDC debt before USDC is weighed;
    # weighing the debt at λ_USDC and the gain at w_USDC apart would call the account bankrupt
    netted = book["netted"]
    assert mango_cover(netted, market) == 0
    apart = [CompiledAccount("x", "cross", 0, netted.balances, ()),
             CompiledAccount("y", "cross", 0, (0, 0, 0), netted.positions)]  # fmt: skip
    assert sum(mango_cover(a, market) for a in apart) < 0
    for name in ("broke", "lost"):
        assert not debts_covered(book[name], market), name


def test_a_mango_book_publishes_audits_and_includes_everyone(
    published: dict[str, Any], tmp_path: Path
) -> None:
    d: Path = published["dir"]
    assert "2 account(s) bankrupt" in published["publish"]
    out = _run("exchange", "verify", d / "pub.sqlite", "--venue-key", d / "venue.pub")
    assert "valid" in out.lower()
    _run(
        "exchange", "inclusion", "--publication", d / "pub.sqlite",
        "--secrets", d / "pub.sqlite.secrets", "--all", "--out-dir", tmp_path / "inc",
        "--workers", "1",
    )  # fmt: skip
    market = published["market"]
    book = _compiled(market)
    pk = load_venue_key(d / "venue.key").public_key
    for acc in ACCOUNTS:
        name = acc["id"]
        file = tmp_path / "inc" / f"{name}.inclusion.json"
        r = CliRunner().invoke(
            main,
            ["inclusion", "verify", str(file), "--venue-key", str(d / "venue.pub"),
             "--publication", str(d / "pub.sqlite"), "--account", name, "--epoch", "1",
             "--strict"],
        )  # fmt: skip
        assert r.exit_code == 0, (name, r.output)
        rep = api.verify_inclusion(file, publication=d / "pub.sqlite", venue_key=pk, account=name)
        assert rep.valid, (name, rep.reason)
        committed = [Fraction(v) for _, _, v in rep.balances]
        covered = debts_covered(book[name], market)
        assert covered == (name not in ("broke", "lost")), name
        counted = book[name] if covered else write_off(book[name], market)
        true = forger.true_liabilities(market, counted)
        assert all(c >= t for c, t in zip(committed, true, strict=True)), name
        assert all(c - t < 2 for c, t in zip(committed, true, strict=True)), name


def test_no_account_at_or_above_zero_health_is_written_off() -> None:
    """Mango's health weighs perps down (g_i(c_i) ≤ v_i) and each token's weighting is
    nondecreasing, so health ≥ 0 ⇒ cover ≥ 0: on many random accounts, and the leaf proves."""
    market = _market()
    rng = __import__("random").Random(11)
    seen = {True: 0, False: 0}
    for n in range(300):
        acc = _random_account(rng, market, n)
        healthy = evaluate(acc, market, details=False).healthy
        covered = debts_covered(acc, market)
        assert covered or not healthy, acc
        seen[healthy] += 1
        if healthy:
            assert not _witness_fails(acc, market), acc
    assert seen[True] > 30 and seen[False] > 30, seen


def test_a_written_off_mango_account_always_proves() -> None:
    market = _market()
    rng = __import__("random").Random(12)
    broke = 0
    for n in range(300):
        acc = _random_account(rng, market, n)
        if debts_covered(acc, market):
            continue
        broke += 1
        assert _witness_fails(acc, market)
        assert not _witness_fails(write_off(acc, market), market), acc
    assert broke > 30


def test_another_mode_under_mango_is_refused_by_name(tmp_path: Path) -> None:
    market = _market()
    with pytest.raises(FormatError, match="isolated-margin account under the mango_health"):
        lf.leaf_circuit_name("isolated", market.accounting)
    assert lf.leaf_circuit_name("cross", market.accounting) == CIRCUIT
    # a standard leaf circuit never reads a Mango market, nor the Mango one a standard market
    assert load_circuit(CIRCUIT).accounting == "mango_health"


def _random_account(rng: Any, market: Market, n: int) -> CompiledAccount:
    scales = [10**a.decimals for a in market.assets]
    bal = tuple(rng.choice([0, rng.randint(-(10**4), 10**4) * s // 10]) for s in scales)
    pos = []
    for i, inst in enumerate(market.instruments):
        if rng.random() < 0.6:
            size = rng.randint(-1000, 1000) or 1
            entry = inst.mark + rng.randint(-inst.mark // 10, inst.mark // 10)
            pos.append(CompiledPosition(i, size, -size * entry, 0, None))
    cash = rng.choice([0, rng.randint(-(10**9), 10**9)])
    return CompiledAccount(f"r{n}", "cross", cash, bal, tuple(pos))


def _witness_fails(acc: CompiledAccount, market: Market) -> list[str]:
    slots = account_slots(acc, market)
    inst = lf.leaf_instance(market, "cross", tuple(s.spec for s in slots))
    return cproof.check_witness(inst, cproof.auxiliary_values(inst, [s.value for s in slots]))


# ----- the forger against the audit's per-leaf code -------------------------------------------


def _spec(name: str) -> tuple[int, bool]:
    kind = load_circuit(CIRCUIT).slots[name]
    return kind.bits, kind.signed


def _cash_for(market: Market, slots: list[forger.ForgedSlot], margin: int) -> int:
    """The cash that puts the exact cover of the slots' account in [margin, margin + 1)."""
    acc = forger.account_of(market, [s for s in slots if s[0] != "cash"])
    return -math.floor(mango_cover(acc, market)) + margin


@st.composite
def _draws(
    draw: st.DrawFn, market: Market, honest: bool
) -> tuple[list[forger.ForgedSlot], dict[tuple[str, Any], str] | None, bool, bytes]:
    """A Mango leaf a forging exchange might publish: a layout, realistic values with cash set
    at the edge of covered, then (unless honest) wild values, both b⁺ and b⁻ of a token, other
    declared bounds, changed auxiliary values (u, z)."""
    assets = draw(st.lists(st.sampled_from([a.symbol for a in market.assets]), unique=True))
    insts = draw(st.lists(st.sampled_from([i.symbol for i in market.instruments]), unique=True))
    slots: list[forger.ForgedSlot] = []
    clean = True
    for a in market.assets:
        if a.symbol not in assets:
            continue
        amount = draw(forger.magnitude(a.decimals + 5))
        shape = draw(st.sampled_from(("pos", "pos", "neg", "zero", *(() if honest else ("both",)))))
        pos = amount if shape in ("pos", "both") else 0
        neg = (
            amount
            if shape == "neg"
            else draw(forger.magnitude(a.decimals + 3))
            if shape == "both"
            else 0
        )
        clean = clean and shape != "both"
        slots += [("balance_pos", a.symbol, *_spec("balance_pos"), pos),
                  ("balance_neg", a.symbol, *_spec("balance_neg"), neg)]  # fmt: skip
    for inst in market.instruments:
        if inst.symbol not in insts:
            continue
        size = draw(forger.magnitude(inst.size_decimals + 4)) * draw(st.sampled_from((1, -1)))
        entry = max(0, inst.mark + draw(st.integers(-inst.mark // 5, inst.mark // 5)))
        slots += [("long", inst.symbol, *_spec("long"), max(size, 0)),
                  ("short", inst.symbol, *_spec("short"), max(-size, 0)),
                  ("quote", inst.symbol, *_spec("quote"), -size * entry)]  # fmt: skip
    margin = draw(st.sampled_from((-(10**6), -10, -1, 0, 0, 1, 2, 3, 10, 10**6)))
    slots.append(("cash", "", *_spec("cash"), _cash_for(market, slots, margin)))
    if not honest and draw(st.integers(0, 2)) == 0:
        for k in draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, max_size=2)):
            n, o, b, s, v = slots[k]
            slots[k] = (n, o, b, s, draw(forger.wild(v)))
        clean = False
        if draw(st.booleans()):
            rest = [s for s in slots if s[0] != "cash"]
            cash = _cash_for(market, rest, draw(st.sampled_from((0, 1, -1))))
            slots = [*rest, ("cash", "", *_spec("cash"), cash)]
    if not honest and draw(st.integers(0, 5)) == 0:
        k = draw(st.integers(0, len(slots) - 1))
        n, o, _, _, v = slots[k]
        slots[k] = (n, o, draw(st.sampled_from((8, 32, 63, 64))), draw(st.booleans()), v)
        clean = clean and slots[k][2:4] == _spec(n)
    aux = None
    if not honest and draw(st.integers(0, 2)) == 0:
        keys = [("token_cover", a) for a in assets]
        keys += [("settle_cover", "USDC")] if insts and "USDC" not in assets else []
        keys += [("settled", "USDC")] if insts else []
        if keys:
            aux = {draw(st.sampled_from(keys)): draw(st.sampled_from(forger.AUX_CHANGES))}
            clean = False
    return slots, aux, clean, draw(st.binary(max_size=4))


def _forge(
    published: dict[str, Any],
    slots: list[forger.ForgedSlot],
    aux: dict[tuple[str, Any], str] | None,
    seed: bytes,
) -> forger.ForgedLeaf:
    market = published["market"]
    values = None
    if aux is not None:
        specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in slots)
        inst = forger.forged_instance(CIRCUIT, market, specs, 10**6, trusted=False)
        honest = cproof.auxiliary_values(inst, [forger.signed_rep(v) for *_, v in slots])
        values = {k: forger.change_aux(op, honest[k]) for k, op in aux.items() if k in honest}
    return forger.forge_leaf(market, published["header"], 0, slots, aux=values, seed=seed)


def _accepted(published: dict[str, Any], leaf: forger.ForgedLeaf) -> bool:
    d: Path = published["dir"]
    import sqlite3

    with sqlite3.connect(d / "pub.sqlite") as conn:
        header_json = conn.execute("SELECT doc FROM header").fetchone()[0]
        market_text = conn.execute("SELECT snapshot FROM market").fetchone()[0]
    verdict = check_leaves(group.backend().name, market_text, header_json, [leaf.row])
    return not verdict.bad and len(verdict.tags) == 1


def test_accepted_mango_leaves_mean_what_they_say(published: dict[str, Any]) -> None:
    """Soundness: whatever the audit accepts is covered by the exact engine (Mango netting), every
    slot in the circuit's bound, every committed liability at least the true one."""
    market = published["market"]
    seen: list[bool] = []
    covered_usdc = [
        ("balance_pos", "USDC", 64, False, 10**6),
        ("balance_neg", "USDC", 64, False, 0),
        ("cash", "", 64, True, 0),
    ]

    @forger.examples(50)
    @given(d=_draws(market, honest=False))
    @example(d=(covered_usdc, None, True, b""))
    def check(d: tuple[list[forger.ForgedSlot], Any, bool, bytes]) -> None:
        slots, aux, _, seed = d
        leaf = _forge(published, slots, aux, seed)
        accepted = _accepted(published, leaf)
        event("accepted" if accepted else "refused")
        seen.append(accepted)
        if accepted:
            assert forger.leaf_means_what_it_says(market, leaf), (
                "CRITICAL: the audit accepted a Mango leaf that does not mean what it says",
                leaf.slots,
                aux,
            )

    check()
    assert 0 < sum(seen) < len(seen), (sum(seen), len(seen))


def test_honest_mango_leaves_are_accepted_when_covered(published: dict[str, Any]) -> None:
    """Completeness: an honest leaf is accepted when the exact cover is at least the rounding
    the circuit allows (below one valuation unit per token), refused when not covered."""
    market = published["market"]
    seen: list[bool] = []

    @forger.examples(20)
    @given(d=_draws(market, honest=True))
    def check(d: tuple[list[forger.ForgedSlot], Any, bool, bytes]) -> None:
        slots, _, _, seed = d
        leaf = _forge(published, slots, None, seed)
        accepted = _accepted(published, leaf)
        acc = forger.account_of(market, slots)
        cover = mango_cover(acc, market)
        if cover < 0:
            assert not accepted, slots
        elif cover >= len(market.assets):
            assert accepted, (slots, cover)
        seen.append(accepted)

    check()
    assert sum(seen) >= len(seen) // 4, (sum(seen), len(seen))


@pytest.mark.parametrize("form", ["json", "csv"])
def test_a_mango_market_takes_cross_accounts_only(form: str, tmp_path: Path) -> None:
    """Mango v4 has no isolated or portfolio margin: an account of another mode is refused by
    the engine, naming the field, rather than computed as cross health that no circuit takes."""
    from zkmargin.margin.table_io import load_table

    market = _market()
    path = tmp_path / f"accounts.{form}"
    if form == "json":
        doc = {"format": "zkmargin.accounts", "version": 1, "accounts": [
            {"id": "ok", "collateral": {"USDC": "1"}},
            {"id": "iso", "mode": "isolated", "collateral": {"USDC": "1"}},
        ]}  # fmt: skip
        path.write_text(json.dumps(doc))
    else:
        path.write_text(
            '"account_id","mode","kind","symbol","amount","entry_price","quote","isolated_margin"\n'
            '"ok","cross","collateral","USDC","1","","",""\n'
            '"iso","isolated","collateral","USDC","1","","",""\n'
        )
    with pytest.raises(FormatError, match="cross accounts") as err:
        list(load_table(path, market).accounts())
    assert "iso" in str(err.value) and "mode" in str(err.value)
