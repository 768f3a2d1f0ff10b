"""Liabilities leaves for Mango v4 accounts (the market's ``mango_health`` accounting).

A leaf proves the account's debts covered as Mango nets them: each perp's value at mark joins its
settle token's position before the token is weighed (``margin.exact.debts_covered``). Checked
here: a Mango book publishes, audits and includes every user from the command line; no account
at or above zero Mango health is ever written off; a perp's gain covers a debt in its settle
token; a Mango market takes cross accounts only. The forger against the audit's per-leaf code
on Mango leaves is in ``test_leaf_forgery.py``.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import forger
import pytest
from click.testing import CliRunner

from zkmargin import api
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import load_circuit
from zkmargin.circuit.slots import account_slots
from zkmargin.cli import main
from zkmargin.exchange import load_venue_key
from zkmargin.formats.common import FormatError
from zkmargin.formats.market import MarketSnapshot
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.plan import write_off
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
        # the owner of a written-off account is told so, and its zero slots are not called decoys
        assert rep.written_off == (not covered), name
        assert ("WRITTEN OFF" in r.output) == (not covered), r.output
        if not covered:
            assert "a debt left out" in r.output and "hides what you hold)" in r.output
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
