"""A leaf for every account an exchange has: cross, isolated and portfolio accounts in one tree,
accounts below maintenance, bankrupt accounts published written off; the documented limit
(covered debts move a shortfall between assets, at a bounded price); and shared slot layouts
(every layout shared by at least --min-share accounts, the same for attest and publish)."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin import api
from zkmargin.attest.keys import generate
from zkmargin.cli import main
from zkmargin.exchange import load_venue_key
from zkmargin.formats.market import MarketSnapshot, canonical_market, market_digest
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.audit import audit
from zkmargin.liabilities.layouts import own_layout, shared_layouts, smallest_share
from zkmargin.liabilities.parallel import InProcess
from zkmargin.liabilities.plan import make_plan, write_off
from zkmargin.liabilities.publish import publish
from zkmargin.margin.exact import debts_covered, exact_figures, position_value
from zkmargin.margin.market import AssetSpec, Market
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition
from zkmargin.margin.synthetic import (
    exchange_accounts,
    exchange_market,
    exchange_market_document,
    market_document,
    synthetic_accounts,
    synthetic_market,
)
from zkmargin.margin.table_io import save_table

EPOCH = 1


def _liabilities(market: Market, acc: CompiledAccount) -> list[Fraction]:
    """What the exchange owes the account in each column, exactly (negative: the account owes)."""
    out = [Fraction(b) for b in acc.balances]
    for p in acc.positions:
        inst = market.instruments[p.instrument]
        out[inst.settle_index] += position_value(p, market, acc.mode)
    return [*out, Fraction(acc.cash)]


def _book(market: Market) -> list[CompiledAccount]:
    """Two accounts of each mode, one cross below maintenance, and two bankrupt accounts: a
    cross account owing more USDT than it holds, an isolated position lost beyond its margin."""
    pool = list(synthetic_accounts(market, 400, seed=7).accounts())
    book: list[CompiledAccount] = []
    for mode in ("cross", "isolated", "portfolio"):
        healthy = [
            a
            for a in pool
            if a.mode == mode
            and debts_covered(a, market)
            and all(market.instruments[p.instrument].kind == "linear" for p in a.positions)
        ]
        book += healthy[:2]
    below = next(
        a
        for a in pool
        if a.mode == "cross"
        and debts_covered(a, market)
        and exact_figures(a, market).equity < exact_figures(a, market).maintenance
    )
    book.append(below)
    usdt, btc = 0, 2
    balances = [0] * len(market.assets)
    balances[usdt] = -2_000_000 * 10**6
    balances[btc] = 10**7  # 0.1 BTC cannot cover 2,000,000 USDT
    book.append(CompiledAccount("bankrupt-cross", "cross", 5 * 10**6, tuple(balances), ()))
    lost = CompiledPosition(0, 1_000, -1_000 * 900_000, 100 * 10**6, None)  # long 1 BTC at 90k
    assert position_value(lost, market, "isolated") < 0
    iso_bal = [0] * len(market.assets)
    iso_bal[usdt] = 50 * 10**6
    book.append(CompiledAccount("bankrupt-isolated", "isolated", 0, tuple(iso_bal), (lost,)))
    return book


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("mixed")
    doc = market_document(EPOCH)
    snap = MarketSnapshot.model_validate(doc)
    market = synthetic_market(EPOCH)
    book = _book(market)
    key = generate("Mixed")
    (d / "venue.key").write_text(key.to_file().model_dump_json())
    reserves = [10**18] * (len(market.assets) + 1)
    plan = make_plan(
        key=key,
        market=market,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=EPOCH,
        accounts=book,
        reserves=reserves,
        pad_to=16,
        decoys=0,
        file="book",
        min_share=2,
    )
    out = d / "pub.sqlite"
    res = publish(plan, key, out=out, secrets_out=d / "pub.secrets", runner=InProcess())
    return {"dir": d, "plan": plan, "result": res, "book": book, "market": market, "key": key}


def test_every_mode_publishes_and_bankrupt_accounts_are_written_off(
    mixed: dict[str, object],
) -> None:
    d: Path = mixed["dir"]  # type: ignore[assignment]
    res = mixed["result"]
    assert res.bankrupt == 2  # type: ignore[attr-defined]
    key = mixed["key"]
    rep = audit(d / "pub.sqlite", venue_key=key.public_key, runner=InProcess())  # type: ignore[attr-defined]
    assert rep.valid, rep.reason
    assert [line.split(":")[0] for line in rep.unchecked] == ["assets not proven"]


def test_every_user_of_every_mode_is_included(mixed: dict[str, object], tmp_path: Path) -> None:
    """Each account's inclusion file verifies; its committed liabilities are at least what the
    exchange owes it (exact engine), and a bankrupt account's hold no debt at all."""
    d: Path = mixed["dir"]  # type: ignore[assignment]
    market: Market = mixed["market"]  # type: ignore[assignment]
    pk = mixed["key"].public_key  # type: ignore[attr-defined]
    for acc in mixed["book"]:  # type: ignore[attr-defined]
        out = tmp_path / f"{acc.id}.json"
        api.exchange_inclusion(
            publication=d / "pub.sqlite", secrets=d / "pub.secrets", account=acc.id, out=out
        )
        rep = api.verify_inclusion(out, publication=d / "pub.sqlite", venue_key=pk, account=acc.id)
        assert rep.valid, (acc.id, rep.reason)
        committed = [Fraction(v) for _, _, v in rep.balances]
        if debts_covered(acc, market):
            owed = _liabilities(market, acc)
            assert all(c >= t for c, t in zip(committed, owed, strict=True)), acc.id
            slack = 1 + len(acc.positions)  # rounding up, and one unit per floored quote
            assert all(c - t < slack for c, t in zip(committed, owed, strict=True)), acc.id
        else:
            assert all(c >= 0 for c in committed), acc.id
            written = _liabilities(market, write_off(acc, market))
            assert all(c >= t for c, t in zip(committed, written, strict=True)), acc.id


def test_totals_never_below_what_is_owed(mixed: dict[str, object]) -> None:
    """Σ leaves ≥ Σ what each account is owed, its debts counted only where covered."""
    market: Market = mixed["market"]  # type: ignore[assignment]
    plan = mixed["plan"]
    owed = [Fraction(0)] * (len(market.assets) + 1)
    for acc in mixed["book"]:  # type: ignore[attr-defined]
        counted = acc if debts_covered(acc, market) else write_off(acc, market)
        owed = [o + x for o, x in zip(owed, _liabilities(market, counted), strict=True)]
    for (total, _), o in zip(plan.totals, owed, strict=True):  # type: ignore[attr-defined]
        assert total >= o


def test_a_covered_debt_moves_a_shortfall_at_a_bounded_price() -> None:
    """The documented limit: a fabricated account with a BTC debt covered by USDT lowers the BTC
    total by the debt and raises the USDT total by at least its haircut value
    (price_BTC·λ_BTC / (price_USDT·w_USDT) per BTC); one unit of USDT less and its debt is not
    covered: it is written off and the BTC total is not lowered at all."""
    market = exchange_market(3)
    snap = MarketSnapshot.model_validate(exchange_market_document(3))
    book = list(exchange_accounts(market, 4, seed=5).accounts())
    usdt, btc = 0, 2
    a_u, a_b = market.assets[usdt], market.assets[btc]
    v = market.valuation_decimals

    def per_unit(a: AssetSpec, w: int) -> Fraction:
        """Valuation units per unit of ``a`` at weight ``w`` (ppm)."""
        return Fraction(a.price * w, 10**6) * Fraction(10) ** (v - a.decimals - a.price_decimals)

    debt = 10**8  # one BTC
    cover = -(-debt * per_unit(a_b, a_b.liability_weight_ppm) // per_unit(a_u, a_u.weight_ppm))
    key = generate("X")

    def totals(extra: list[CompiledAccount]) -> tuple[list[int], int]:
        plan = make_plan(
            key=key,
            market=market,
            market_text=canonical_market(snap),
            market_digest=market_digest(snap),
            epoch=3,
            accounts=book + extra,
            reserves=[10**18] * 5,
            pad_to=8,
            decoys=0,
            file="book",
        )
        return [t for t, _ in plan.totals], plan.bankrupt

    def fake(usdt_units: int) -> CompiledAccount:
        bal = [0] * 4
        bal[usdt], bal[btc] = usdt_units, -debt
        return CompiledAccount("fabricated", "cross", 0, tuple(bal), ())

    base, _ = totals([])
    moved, bankrupt = totals([fake(int(cover))])
    assert bankrupt == 0
    assert moved[btc] == base[btc] - debt
    raised = moved[usdt] - base[usdt]
    assert raised * per_unit(a_u, a_u.weight_ppm) >= debt * per_unit(a_b, a_b.liability_weight_ppm)
    short, bankrupt = totals([fake(int(cover) - 1)])
    assert bankrupt == 1 and short[btc] == base[btc] and short[usdt] == base[usdt] + cover - 1


# ----- layouts ------------------------------------------------------------------------------


def test_shared_layouts_give_k_anonymity() -> None:
    market = exchange_market(3)
    book = list(exchange_accounts(market, 600, seed=3).accounts())
    own = {a.id: own_layout(a, market) for a in book}
    assert smallest_share(own.values()) < 10  # the problem: some layouts are an account's own
    shared = shared_layouts(book, market, 10)
    assert smallest_share(shared.values()) >= 10
    for a in book:
        lay = shared[a.id]
        assert lay.mode == a.mode
        assert own[a.id].assets <= lay.assets and own[a.id].instruments <= lay.instruments
    shuffled = book[:]
    random.Random(1).shuffle(shuffled)
    assert shared_layouts(shuffled, market, 10) == shared


def test_attest_and_publish_give_the_same_statement(tmp_path: Path) -> None:
    """With shared layouts (the default of both), the venue's statement of an account is the
    leaf statement of its publication: same layout, same content, same commitments."""
    market = exchange_market(3)
    (tmp_path / "market.json").write_text(json.dumps(exchange_market_document(3)))
    save_table(exchange_accounts(market, 12, seed=5), market, tmp_path / "accounts.csv")
    run = CliRunner().invoke
    assert (
        run(main, ["venue", "keygen", "--out", str(tmp_path / "v.key"), "--venue", "X"]).exit_code
        == 0
    )
    args = ["--key", str(tmp_path / "v.key"), "--market", str(tmp_path / "market.json")]
    args += ["--accounts", str(tmp_path / "accounts.csv")]
    r = run(main, ["venue", "attest", *args, "--out-dir", str(tmp_path / "st"), "--min-share", "4"])
    assert r.exit_code == 0, r.output
    key = load_venue_key(tmp_path / "v.key")
    snap = MarketSnapshot.model_validate(exchange_market_document(3))
    plan = make_plan(
        key=key,
        market=market,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=3,
        accounts=list(exchange_accounts(market, 12, seed=5).accounts()),
        reserves=[10**18] * 5,
        pad_to=None,
        decoys=0,
        file="book",
        min_share=4,
    )
    for acc in plan.accounts:
        op = json.loads((tmp_path / "st" / f"{acc.account}.openings.json").read_text())
        attested = [(int(o["value"]), int(o["blinding"], 16)) for o in op["openings"]]
        assert attested == acc.openings, acc.account
    assert plan.min_share >= 4
    assert lf.LEAF_CIRCUITS[("standard", "isolated")] == "liability_leaf_isolated"


def test_a_generated_book_of_every_mode_publishes(tmp_path: Path) -> None:
    """``examples generate --reserves-out``: cross, isolated and portfolio accounts, some below
    maintenance and some bankrupt; the plan of their publication takes every account (no
    refusal) and the reserves cover the totals its leaves commit to."""
    from zkmargin.exchange import load_reserves
    from zkmargin.liabilities.leaf import liability_columns
    from zkmargin.margin.market import compile_market, load_snapshot
    from zkmargin.margin.table_io import load_table

    r = CliRunner().invoke(
        main,
        ["examples", "generate", "--accounts", "300", "--seed", "7", "--market-out",
         str(tmp_path / "m.json"), "--accounts-out", str(tmp_path / "a.csv"),
         "--reserves-out", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    snap = load_snapshot(tmp_path / "m.json")
    market = compile_market(snap)
    book = list(load_table(tmp_path / "a.csv", market).accounts())
    assert {a.mode for a in book} == {"cross", "isolated", "portfolio"}
    below = [
        a for a in book if exact_figures(a, market).equity < exact_figures(a, market).maintenance
    ]
    broke = [a for a in book if not debts_covered(a, market)]
    assert below and broke
    key = generate("Gen")
    plan = make_plan(
        key=key,
        market=market,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=snap.epoch,
        accounts=book,
        reserves=load_reserves(
            tmp_path / "r.json", liability_columns(market), venue="Gen", epoch=snap.epoch
        ),
        pad_to=None,
        decoys=0,
        file="a.csv",
    )
    assert plan.bankrupt == len(broke) and len(plan.accounts) == len(book)


@pytest.mark.parametrize(
    "venue,factor", [("binance_usdm", 1), ("span", 100)], ids=["same-units", "cents"]
)
def test_the_valuation_currency_as_an_asset_shares_its_column(
    venue: str, factor: int, tmp_path: Path
) -> None:
    """Where the market lists its valuation currency as an asset (USDT at Binance USDⓈ-M, USD
    in cents beside whole-dollar cash in the SPAN example), the cash joins that asset's column,
    counted m times; the publication audits, and the user's inclusion check shows the column as
    balance + cash, in the column's units."""
    root = Path(__file__).resolve().parent.parent
    market_path = root / "examples" / "venues" / f"{venue}.json"
    snap = MarketSnapshot.model_validate(json.loads(market_path.read_text()))
    from zkmargin.margin.market import compile_market

    market = compile_market(snap)
    columns = lf.liability_columns(market)
    sym = market.valuation_symbol
    assert columns.symbols == tuple(a.symbol for a in market.assets)
    assert not columns.cash_column and columns.symbols[columns.cash] == sym
    assert columns.cash_factor == factor
    accounts = {"format": "zkmargin.accounts", "version": 1, "accounts": [
        {"id": "a", "collateral": {sym: "10"}, "cash": "5"},
        {"id": "b", "collateral": {sym: "7"}, "cash": "-2"},
    ]}  # fmt: skip
    (tmp_path / "accounts.json").write_text(json.dumps(accounts))
    (tmp_path / "reserves.json").write_text(
        json.dumps({"format": "zkmargin/reserves/1", "reserves": {sym: "1000"}})
    )
    runner = CliRunner()

    def run(*args: object) -> str:
        r = runner.invoke(main, [str(a) for a in args])
        assert r.exit_code == 0, r.output
        return r.output

    run("venue", "keygen", "--out", tmp_path / "v.key", "--venue", "V")
    published = run(
        "exchange", "publish", "--market", market_path, "--accounts", tmp_path / "accounts.json",
        "--reserves", tmp_path / "reserves.json", "--key", tmp_path / "v.key",
        "--out", tmp_path / "pub.sqlite", "--workers", "1",
    )  # fmt: skip
    note = f"columns: the valuation currency {sym} is also an asset: the accounts' cash is counted"
    assert note in published  # what publish says
    assert note in run("exchange", "verify", tmp_path / "pub.sqlite", "--workers", "1")
    run("exchange", "inclusion", "--publication", tmp_path / "pub.sqlite",
        "--secrets", tmp_path / "pub.sqlite.secrets", "--account", "a",
        "--out", tmp_path / "a.json")  # fmt: skip
    pk = load_venue_key(tmp_path / "v.key").public_key
    rep = api.verify_inclusion(
        tmp_path / "a.json", publication=tmp_path / "pub.sqlite", venue_key=pk, account="a"
    )
    assert rep.valid, rep.reason
    dec = market.assets[columns.cash].decimals
    ((column, _, value),) = rep.balances
    assert column == sym and value == (10 + 5) * 10**dec  # 10 held + 5 of cash, in the column
    ((_, text, what),) = rep.owed
    assert text == api.format_decimal(15 * 10**dec, dec)
    assert "balance " in what and "+ your cash 5" in what and "positions" not in what, what


def test_a_valuation_asset_in_other_units_has_no_columns_and_no_leaf_passes() -> None:
    """A market listing its valuation currency as an asset worth 2 valuation units: no exact
    cash column exists, so publish refuses it by name and the audit's leaf check marks every
    leaf bad (a verdict, not a crash)."""
    from zkmargin.formats.common import FormatError
    from zkmargin.liabilities.work import check_leaves
    from zkmargin.margin.market import compile_market

    root = Path(__file__).resolve().parent.parent
    doc = json.loads((root / "examples" / "venues" / "binance_usdm.json").read_text())
    doc["assets"][0]["price"] = "2"
    snap = MarketSnapshot.model_validate(doc)
    with pytest.raises(FormatError, match="worth 2 valuation units"):
        lf.liability_columns(compile_market(snap))
    from zkmargin.formats.publication import PublicationHeader

    header = PublicationHeader(
        venue="V", venue_key="a" * 96, epoch=1, market_digest=market_digest(snap).hex(),
        height=1, columns=["USDT"], decimals=[6],
    ).model_dump_json()  # fmt: skip
    verdict = check_leaves("native", canonical_market(snap), header, [(0, b"", b"", b"", b"")])
    assert verdict.bad and "worth 2 valuation units" in verdict.bad[0][1] and not verdict.tags
