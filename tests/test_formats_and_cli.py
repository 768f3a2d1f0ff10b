"""File formats (JSON, CSV, Parquet), their errors, the margin CLI and the example generator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from zkmargin.cli import main
from zkmargin.formats import FormatError, load_accounts
from zkmargin.formats.tidy import format_units
from zkmargin.margin import evaluate_table
from zkmargin.margin.market import load_market
from zkmargin.margin.synthetic import market_document, synthetic_accounts, synthetic_market
from zkmargin.margin.table_io import load_table, save_table

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def market_file(tmp_path: Path) -> Path:
    path = tmp_path / "market.json"
    path.write_text(json.dumps(market_document()))
    return path


def _write_accounts(path: Path, accounts: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"format": "zkmargin.accounts", "version": 1, "accounts": accounts}))
    return path


def test_decimal_columns_roundtrip() -> None:
    import pyarrow as pa

    from zkmargin.margin.table_io import _parse

    rng = np.random.default_rng(1)
    units = rng.integers(-(10**15), 10**15, 5000)
    decs = rng.integers(0, 9, 5000)
    text = format_units(units, decs)
    back, ok = _parse(pa.array(text.tolist()), decs.astype(np.int64))
    assert ok.all() and (np.asarray(back) == units).all()
    bad = pa.array(["1.234", "NaN", "--1", "1.2.3", "abc", "1.5"])
    back, ok = _parse(bad, np.full(6, 2, dtype=np.int64))
    assert ok.tolist() == [False, False, False, False, False, True] and back[5] == 150
    huge = pa.array(["123456789012345678901234567.5"])
    back, ok = _parse(huge, np.array([1], dtype=np.int64))
    assert ok.all() and int(back[0]) == 1234567890123456789012345675


@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet"])
def test_every_format_gives_the_same_figures(tmp_path: Path, suffix: str) -> None:
    market = synthetic_market()
    table = synthetic_accounts(market, 300, seed=5)
    path = tmp_path / f"accounts{suffix}"
    save_table(table, market, path)
    loaded = load_table(path, market)
    a, b = evaluate_table(market, table), evaluate_table(market, loaded)
    assert loaded.ids == table.ids
    assert (np.asarray(a.equity) == np.asarray(b.equity)).all()
    assert (np.asarray(a.maintenance) == np.asarray(b.maintenance)).all()
    assert (a.healthy == b.healthy).all()


BAD_ACCOUNTS = [
    (
        "too_many_decimals",
        [{"id": "a", "collateral": {"BTC": "0.123456789"}}],
        "a: collateral.BTC: 0.123456789 has more than 8 decimal places",
    ),
    ("unknown_asset", [{"id": "a", "collateral": {"DOGE": "1"}}], "account a: collateral.DOGE"),
    ("duplicate_id", [{"id": "a"}, {"id": "a"}], "account a: id: duplicate account id"),
    ("nan", [{"id": "a", "cash": "NaN"}], "not a finite number"),
    ("float", [{"id": "a", "cash": 0.1}], "binary floats are not accepted"),
    (
        "unknown_instrument",
        [{"id": "a", "positions": [{"instrument": "DOGEUSDT", "size": "1", "entry_price": "1"}]}],
        "positions[0].instrument: unknown instrument DOGEUSDT",
    ),
    (
        "option_outside_portfolio",
        [{"id": "a", "positions": [{"instrument": "BTC-C-70000", "size": "1", "quote": "0"}]}],
        "options are margined in portfolio mode only",
    ),
    (
        "isolated_without_margin",
        [
            {
                "id": "a",
                "mode": "isolated",
                "positions": [{"instrument": "BTCUSDT", "size": "1", "entry_price": "60000"}],
            }
        ],
        "isolated mode needs isolated_margin",
    ),
    ("unknown_field", [{"id": "a", "colateral": {}}], "colateral"),
]


@pytest.mark.parametrize("name,accounts,message", BAD_ACCOUNTS, ids=[b[0] for b in BAD_ACCOUNTS])
def test_bad_accounts_named_errors(
    tmp_path: Path, market_file: Path, name: str, accounts: list[dict[str, Any]], message: str
) -> None:
    path = _write_accounts(tmp_path / "bad.json", accounts)
    market = load_market(market_file)
    with pytest.raises(FormatError) as info:
        load_table(path, market)
    assert str(path) in str(info.value) and message in str(info.value)
    result = CliRunner().invoke(
        main, ["margin", "report", "--market", str(market_file), "--accounts", str(path)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in result.output


def test_bad_rows_in_csv_name_row_account_and_field(tmp_path: Path, market_file: Path) -> None:
    market = load_market(market_file)
    path = tmp_path / "bad.csv"
    path.write_text(
        "account_id,mode,kind,symbol,amount,entry_price,quote,isolated_margin\n"
        "a,cross,collateral,BTC,1.5,,,\n"
        "b,cross,collateral,ETH,0.1234567891,,,\n"
    )
    with pytest.raises(FormatError, match=r"bad\.csv: account b: collateral\.ETH: .*decimal"):
        load_table(path, market)
    path.write_text("account_id,mode,kind,symbol,amount\nx,cross,position,BTCUSDT,1\n")
    with pytest.raises(FormatError, match="entry_price or quote"):
        load_table(path, market)
    path.write_text("account_id,kind,symbol\n")
    with pytest.raises(FormatError, match="missing columns"):
        load_table(path, market)


def test_bad_market_files(tmp_path: Path) -> None:
    doc = market_document()
    cases = []
    missing_price = json.loads(json.dumps(doc))
    del missing_price["assets"][2]["price"]
    cases.append((missing_price, "asset BTC: price: Field required"))
    nonconvex = json.loads(json.dumps(doc))
    nonconvex["instruments"][0]["maintenance"]["tiers"][1]["cum"] = "40"
    cases.append((nonconvex, "instrument BTCUSDT: maintenance"))
    dup = json.loads(json.dumps(doc))
    dup["assets"].append(dup["assets"][0])
    cases.append((dup, "asset USDT: symbol: duplicate asset symbol"))
    bad_price = json.loads(json.dumps(doc))
    bad_price["assets"][2]["price"] = "65000.123"
    cases.append((bad_price, "asset BTC: price: 65000.123 has more than 2 decimal places"))
    for k, (d, message) in enumerate(cases):
        path = tmp_path / f"m{k}.json"
        path.write_text(json.dumps(d))
        with pytest.raises(FormatError) as info:
            load_market(path)
        assert message in str(info.value), str(info.value)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(FormatError, match="malformed JSON"):
        load_market(tmp_path / "broken.json")


def test_report_formats_and_atomic_output(tmp_path: Path, market_file: Path) -> None:
    market = load_market(market_file)
    accounts = tmp_path / "accounts.json"
    save_table(synthetic_accounts(market, 40, seed=9), market, accounts)
    runner = CliRunner()
    base = ["margin", "report", "--market", str(market_file), "--accounts", str(accounts)]
    table = runner.invoke(main, base)
    assert table.exit_code == 0, table.output
    assert "40 accounts" in table.output
    as_json = runner.invoke(main, [*base, "--format", "json"])
    rows = json.loads(as_json.output)["accounts"]
    assert len(rows) == 40
    ratios = [r["margin_ratio"] for r in rows if r["margin_ratio"] is not None]
    assert ratios == sorted(ratios)
    assert all(r["healthy"] == (r["margin_ratio"] is None or r["margin_ratio"] >= 1) for r in rows)
    out = tmp_path / "report.csv"
    res = runner.invoke(main, [*base, "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0
    import csv

    with out.open(newline="") as f:
        parsed = list(csv.DictReader(f))
    assert list(parsed[0]) == [
        "account",
        "mode",
        "equity",
        "maintenance",
        "initial",
        "margin_ratio",
        "healthy",
        "liquidation_prices",
    ]
    assert [r["account"] for r in parsed] == [r["account"] for r in rows]
    assert [r["equity"] for r in parsed] == [r["equity"] for r in rows]
    to_stdout = runner.invoke(main, [*base, "--format", "csv"])
    assert to_stdout.exit_code == 0 and to_stdout.output == out.read_text()
    assert not list(tmp_path.glob(".report.csv.*"))  # no temporary file left behind
    bad = runner.invoke(
        main,
        [
            "margin",
            "report",
            "--market",
            str(market_file),
            "--accounts",
            str(tmp_path / "missing.json"),
            "--out",
            str(tmp_path / "x.txt"),
        ],
    )
    assert bad.exit_code == 2 and not (tmp_path / "x.txt").exists()


def test_examples_generate(tmp_path: Path) -> None:
    runner = CliRunner()
    m, a = tmp_path / "m.json", tmp_path / "a.parquet"

    def generate(out: Path) -> Any:
        return runner.invoke(
            main,
            [
                "examples",
                "generate",
                "--accounts",
                "500",
                "--seed",
                "11",
                "--market-out",
                str(m),
                "--accounts-out",
                str(out),
            ],
        )

    res = generate(a)
    assert res.exit_code == 0, res.output
    market = load_market(m)
    table = load_table(a, market)
    report = evaluate_table(market, table)
    unhealthy = (~report.healthy).mean()
    assert 0.01 < unhealthy < 0.2  # most healthy, some below maintenance
    ratios = np.asarray(report.margin_ratio)
    assert ((ratios > 1.0) & (ratios < 1.2)).any()  # some near maintenance
    again = tmp_path / "again.parquet"
    generate(again)
    assert load_table(again, market).ids == table.ids  # seeded


def test_generator_script(tmp_path: Path) -> None:
    import runpy
    import sys

    argv = sys.argv
    sys.argv = [
        "generate_accounts.py",
        "--accounts",
        "50",
        "--market-out",
        str(tmp_path / "m.json"),
        "--accounts-out",
        str(tmp_path / "a.csv"),
    ]
    try:
        with pytest.raises(SystemExit) as info:
            runpy.run_path(str(ROOT / "examples" / "generate_accounts.py"), run_name="__main__")
    finally:
        sys.argv = argv
    assert info.value.code == 0
    assert len(load_accounts(tmp_path / "a.csv")) == 50


def test_committed_json_schemas_are_current() -> None:
    from zkmargin.formats.schema import MODELS, schema_text

    for name, model in MODELS.items():
        committed = (ROOT / "docs" / "formats" / name).read_text()
        assert committed == schema_text(model), (
            f"docs/formats/{name} is stale: run python -m zkmargin.formats.schema docs/formats"
        )


def test_example_venue_files_validate() -> None:
    venues = sorted((ROOT / "examples" / "venues").glob("*.json"))
    assert len(venues) >= 8
    for path in venues:
        load_market(path)


def test_weights_schedule_belongs_to_mango_accounting(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "examples" / "venues" / "mango_v4.json").read_text())
    doc["accounting"] = "standard"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="instrument PERP: maintenance: a weights schedule"):
        load_market(path)


# ----- exact money at any size (issue #8) -----------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from zkmargin.formats.common import MAX_UNITS, format_decimal, to_units  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.integers(-(MAX_UNITS - 1), MAX_UNITS - 1), st.integers(0, 18))
def test_printed_amounts_parse_back_exactly(units: int, decimals: int) -> None:
    assert to_units(format_decimal(units, decimals), decimals) == units
    # column-wise, as the reports print them: int64 columns and wide (object) columns
    col = np.array([units], dtype=object if abs(units) >= 2**62 else np.int64)
    assert to_units(format_units(col, [decimals])[0], decimals) == units


@settings(max_examples=25, deadline=None)
@given(st.integers(-(10**30), 10**30))
def test_report_prints_exact_equity_at_any_size(tmp_path_factory: Any, cash: int) -> None:
    d = tmp_path_factory.mktemp("money")
    market = ROOT / "examples" / "trader" / "market.json"
    doc = {
        "format": "zkmargin.accounts",
        "version": 1,
        "accounts": [{"id": "a", "cash": format_decimal(cash, 6)}],
    }
    (d / "a.json").write_text(json.dumps(doc))
    for fmt in ("json", "csv"):
        r = CliRunner().invoke(
            main,
            [
                "margin",
                "report",
                "--market",
                str(market),
                "--accounts",
                str(d / "a.json"),
                "--format",
                fmt,
                "--no-liquidation",
            ],
        )
        assert r.exit_code == 0, r.output
        text = (
            json.loads(r.output)["accounts"][0]["equity"]
            if fmt == "json"
            else next(iter(csv.DictReader(io.StringIO(r.output))))["equity"]
        )
        assert to_units(text, 6) == cash


def test_one_amount_limit_in_every_format(tmp_path: Path) -> None:
    market = ROOT / "examples" / "trader" / "market.json"
    big = "1" + "0" * 40
    (tmp_path / "a.json").write_text(
        json.dumps(
            {"format": "zkmargin.accounts", "version": 1, "accounts": [{"id": "a", "cash": big}]}
        )
    )
    (tmp_path / "a.csv").write_text(
        "account_id,mode,kind,symbol,amount,entry_price,quote,isolated_margin\n"
        f"a,cross,cash,,{big},,,\n"
    )
    for name in ("a.json", "a.csv"):
        r = CliRunner().invoke(
            main, ["margin", "report", "--market", str(market), "--accounts", str(tmp_path / name)]
        )
        assert r.exit_code == 2, r.output
        assert "10^36" in r.output and "Traceback" not in r.output
