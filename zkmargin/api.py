"""The functions a Python user calls, re-exported from one module per user story: the venue
and exchange (:mod:`zkmargin.exchange`), the trader (:mod:`zkmargin.trader`) and the verifier
or auditor (:mod:`zkmargin.auditor`). Every CLI command is a thin adapter over these.

Range proofs (``prove_range`` / ``verify_range``) exchange bytes: 48-byte compressed
commitments and the proof's canonical encoding, so what a user stores or sends is exactly what
the verifier decodes, with every validation rule of :mod:`zkmargin.group` applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import group, margin
from .auditor import (
    Verdict,
    audit_publication,
    audit_result,
    verify_margin_proofs,
    verify_result,
)
from .bundles import (
    RangeProofBundle,
    batch_verify_range,
    decode_bundle,
    equality_relation,
    opening_relation,
    prove_range,
    verify_range,
)
from .demo import (
    DemoReport,
    demo_crypto,
    demo_exchange,
    demo_liquidation,
    demo_margin,
    demo_summary,
    demo_trader,
)
from .errors import ZkMarginError
from .exchange import (
    AssetsResult,
    AttestResult,
    exchange_evm_snapshot,
    exchange_inclusion,
    exchange_inclusion_all,
    exchange_prove_assets,
    exchange_publish,
    exchange_reserves_message,
    load_chain_data,
    load_statement,
    load_venue_public_key,
    venue_attest,
    venue_keygen,
)
from .fileio import atomic_write_text
from .formats import tidy
from .formats.common import (
    MAX_THRESHOLD_PPM,
    FormatError,
    format_decimal,
    parse_threshold,
    to_ppm,
)
from .formats.market import MarketSnapshot
from .formats.tidy import format_units
from .liabilities.assets import AssetsInvalid, AssetsReport, ChainData
from .liabilities.audit import AuditReport
from .liabilities.layouts import MIN_SHARE
from .liabilities.plan import CannotPublish
from .liabilities.publish import PublishResult
from .liabilities.reserves import ratio_text
from .liabilities.store import work_path as publication_work_path
from .liquidation import (
    BatchResult,
    EquivocationVerdict,
    LiquidationResult,
    LiquidationVerdict,
    LogReport,
    NotBelow,
    TraderCheck,
    check_equivocation,
    check_liquidation,
    prove_liquidation,
    prove_liquidations,
    verify_liquidation_log,
    verify_liquidation_proofs,
)
from .margin import synthetic
from .margin.exact import debts_covered
from .margin.liquidation import liquidation_prices
from .margin.table_io import load_table, save_table
from .report import render_audit, write_audit_report
from .trader import (
    InclusionReport,
    NotHealthy,
    ProveResult,
    inclusion_result,
    prove_margin,
    verify_inclusion,
)

__all__ = [
    "EXAMPLE_MODES",
    "MAX_THRESHOLD_PPM",
    "MIN_SHARE",
    "MODES",
    "AssetsInvalid",
    "AssetsReport",
    "AssetsResult",
    "AttestResult",
    "AuditReport",
    # liquidation (zkmargin.liquidation)
    "BatchResult",
    "CannotPublish",
    "ChainData",
    "DemoReport",
    "EquivocationVerdict",
    "ExchangeExamples",
    "FormatError",
    "InclusionReport",
    "LiquidationResult",
    "LiquidationVerdict",
    "LogReport",
    "MarginRun",
    "NotBelow",
    "NotHealthy",
    "ProveResult",
    "PublishResult",
    "RangeProofBundle",
    "TraderCheck",
    "Verdict",
    "ZkMarginError",
    "atomic_write_text",
    "audit_publication",
    "audit_result",
    "available_backends",
    "batch_verify_range",
    "check_equivocation",
    "check_liquidation",
    "csv_text",
    "decode_bundle",
    "demo_crypto",
    "demo_exchange",
    "demo_liquidation",
    "demo_margin",
    "demo_summary",
    "demo_trader",
    "equality_relation",
    "exchange_evm_snapshot",
    "exchange_inclusion",
    "exchange_inclusion_all",
    "exchange_prove_assets",
    "exchange_publish",
    "exchange_reserves_message",
    "format_decimal",
    "format_units",
    "generate_examples",
    "generate_exchange_examples",
    "inclusion_result",
    "load_chain_data",
    "load_statement",
    "load_venue_public_key",
    "margin_columns",
    "margin_report",
    "opening_relation",
    "parse_rate",
    "parse_threshold",
    "prove_liquidation",
    "prove_liquidations",
    "prove_margin",
    "prove_range",
    "publication_work_path",
    "ratio_text",
    "render_audit",
    "use_backend",
    "venue_attest",
    "venue_keygen",
    "verify_inclusion",
    "verify_liquidation_log",
    "verify_liquidation_proofs",
    "verify_margin_proofs",
    "verify_range",
    "verify_result",
    "write_audit_report",
    "write_columns",
]

#: Margin modes, in the order of ``MarginReport.mode`` codes.
MODES = margin.vector.MODES


def available_backends() -> tuple[str, ...]:
    """The curve backends: native (arkworks) and reference (py_ecc)."""
    return group.available_backends()


def use_backend(name: str) -> None:
    """Make ``name`` the active curve backend."""
    group.set_backend(name)


def parse_rate(text: str) -> int:
    """A decimal fraction (at most 6 decimals) as parts per million; ValueError otherwise."""
    return to_ppm(text)


# ----- margin (no cryptography) ---------------------------------------------------------------


@dataclass
class MarginRun:
    """A market, its accounts and their margin figures."""

    market: margin.Market
    table: margin.AccountTable
    report: margin.MarginReport
    #: Position rows with a liquidation price, and the prices (price units; None: none).
    liquidation_rows: npt.NDArray[np.int64]
    liquidation_prices: list[int | None]

    def liquidation(self) -> dict[str, dict[str, int | None]]:
        """{account id: {instrument: liquidation price}}."""
        out: dict[str, dict[str, int | None]] = {}
        symbols = [i.symbol for i in self.market.instruments]
        for row, price in zip(self.liquidation_rows.tolist(), self.liquidation_prices, strict=True):
            acc_id = self.table.ids[int(self.table.pos_account[row])]
            out.setdefault(acc_id, {})[symbols[int(self.table.pos_instrument[row])]] = price
        return out


def margin_report(
    market_path: str | Path,
    accounts_path: str | Path,
    *,
    threshold_ppm: int = 1_000_000,
    liquidation: bool = True,
    progress: Callable[[str], None] | None = None,
) -> MarginRun:
    """Load a market and accounts (.json/.csv/.parquet) and compute every account's figures,
    with the exact liquidation price of every linear position of cross and isolated accounts.
    ``progress(step)`` is called as each step starts."""
    step = progress or (lambda _: None)
    step("reading the market")
    market = margin.load_market(market_path)
    step("reading the accounts")
    table = load_table(accounts_path, market)
    step(f"evaluating {len(table)} accounts")
    report = margin.evaluate_table(market, table, threshold_ppm=threshold_ppm)
    rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    prices: list[int | None] = []
    if liquidation:
        step("liquidation prices")
        rows, prices = liquidation_prices(market, table, report, report.row_value, report.row_mm)
    return MarginRun(market, table, report, rows, prices)


def margin_columns(run: MarginRun) -> dict[str, npt.NDArray[Any]]:
    """The report as columns of strings, worst margin ratio first (for CSV and Parquet)."""
    rep = run.report
    n = len(rep)
    ratio = np.round(np.asarray(rep.margin_ratio, dtype=np.float64), 6)
    order = np.argsort(np.where(np.isnan(ratio), np.inf, ratio), kind="stable")
    dec = run.market.valuation_decimals

    def money(values: Any) -> npt.NDArray[Any]:
        return format_units(np.asarray(values), np.full(n, dec))

    liq = np.full(n, "", dtype=object)
    rows = run.liquidation_rows
    if len(rows):
        known = np.array([p is not None for p in run.liquidation_prices], dtype=bool)
        values = np.array([p or 0 for p in run.liquidation_prices], dtype=object)
        inst = run.table.pos_instrument[rows]
        price_dec = np.array([i.price_decimals for i in run.market.instruments])[inst]
        symbols = np.array([i.symbol for i in run.market.instruments])[inst]
        text = np.char.add(
            np.char.add(np.char.add(";", symbols), "="),
            np.where(known, format_units(values, price_dec), ""),
        )
        acct = run.table.pos_account[rows]
        o = np.lexsort((inst, acct))
        acct_sorted = acct[o]
        starts = np.flatnonzero(np.r_[True, acct_sorted[1:] != acct_sorted[:-1]])
        joined = np.add.reduceat(text[o], starts)
        liq[acct_sorted[starts]] = [j[1:] for j in joined]
    ratio_text = np.where(np.isnan(ratio), "", ratio.astype(str))
    modes = np.array(MODES)[np.asarray(rep.mode)]
    return {
        "account": np.array(rep.ids, dtype=object)[order],
        "mode": modes[order],
        "equity": money(rep.equity)[order],
        "maintenance": money(rep.maintenance)[order],
        "initial": money(rep.initial)[order],
        "margin_ratio": ratio_text[order],
        "healthy": np.where(rep.healthy, "True", "False")[order],
        "liquidation_prices": liq[order],
    }


def write_columns(path: str | Path, columns: dict[str, npt.NDArray[Any]]) -> None:
    """Write string columns as CSV or Parquet (by the suffix), atomically."""
    tidy.write_columns(Path(path), columns)


def csv_text(columns: dict[str, npt.NDArray[Any]]) -> str:
    """String columns as CSV text."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    table = pa.table({k: tidy._strings(v) for k, v in columns.items()})
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue().decode()


@dataclass
class ExchangeExamples:
    """What :func:`generate_exchange_examples` wrote."""

    market: Path
    accounts: Path
    reserves: Path
    count: int
    modes: dict[str, int]  # accounts per margin mode
    unhealthy: int  # accounts below maintenance (they publish)
    bankrupt: int = 0  # accounts whose debts their holdings do not cover (written off)


#: The margin modes ``examples generate --exchange`` mixes by default (the example exchange's
#: market has no risk scenarios, so no portfolio accounts).
EXAMPLE_MODES = {"cross": 0.85, "isolated": 0.15}


def generate_exchange_examples(
    count: int,
    seed: int,
    out_dir: str | Path,
    epoch: int = 1,
    *,
    modes: dict[str, float] | None = None,
    below: float = 0.05,
    bankrupt: float = 0.02,
    cushion: float = 0.1,
) -> ExchangeExamples:
    """Write an exchange's book to ``out_dir``: ``market.json``, ``accounts.csv`` (``count``
    accounts in the ``modes`` mix, by default :data:`EXAMPLE_MODES`, a fraction ``below``
    under maintenance and a fraction ``bankrupt`` with debts their holdings do not cover) and
    ``reserves.json`` (every total, debts counted only where covered, plus ``cushion``): what
    ``exchange publish`` takes. Everything is computed before the first file is written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    doc = synthetic.exchange_market_document(epoch)
    market = margin.compile_market(MarketSnapshot.model_validate(doc))
    table = synthetic.exchange_accounts(
        market,
        count,
        seed,
        modes=EXAMPLE_MODES if modes is None else modes,
        below=below,
        bankrupt=bankrupt,
    )
    report = margin.evaluate_table(market, table)
    decimals = {a.symbol: a.decimals for a in market.assets}
    decimals[market.valuation_symbol] = market.valuation_decimals
    reserves = {
        "format": "zkmargin/reserves/1",
        "epoch": epoch,
        "reserves": {
            symbol: format_decimal(amount, decimals[symbol])
            for symbol, amount in synthetic.exchange_reserves(market, table, cushion).items()
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "market.json", out / "accounts.csv", out / "reserves.json"
    # each file atomically; the three or none of the new ones (as generate_examples)
    fresh = [p for p in paths if not p.exists()]
    try:
        save_table(table, market, paths[1])
        atomic_write_text(paths[0], json.dumps(doc, indent=1) + "\n")
        atomic_write_text(paths[2], json.dumps(reserves, indent=1) + "\n")
    except BaseException:
        for p in fresh:
            p.unlink(missing_ok=True)
        raise
    counts = np.bincount(table.mode, minlength=len(MODES))
    return ExchangeExamples(
        *paths,
        count=len(table),
        modes={m: int(c) for m, c in zip(MODES, counts, strict=True) if c},
        unhealthy=int((~report.healthy).sum()),
        bankrupt=sum(not debts_covered(a, market) for a in table.accounts()),
    )


def generate_examples(
    count: int,
    seed: int,
    market_out: str | Path,
    accounts_out: str | Path,
    epoch: int = 1,
    progress: Callable[[str], None] | None = None,
    reserves_out: str | Path | None = None,
) -> tuple[int, int]:
    """Write a synthetic market file and ``count`` accounts (both files or neither), and, with
    ``reserves_out``, a reserves file covering what every account is owed (debts counted only
    where covered) with a 10 % margin, so that the book publishes; return (accounts, unhealthy).
    ``progress(step)`` is called as each step starts."""
    step = progress or (lambda _: None)
    market_path, accounts_path = Path(market_out), Path(accounts_out)
    if market_path.resolve() == accounts_path.resolve():
        raise ValueError(f"{market_path}: the market and the accounts need two different files")
    if market_path.suffix.lower() != ".json":
        raise ValueError(f"{market_path}: a market snapshot is written as .json")
    if accounts_path.suffix.lower() not in (".json", ".csv", ".parquet"):
        raise ValueError(f"{accounts_path}: accounts are written as .json, .csv or .parquet")
    step("pricing the market")
    doc = synthetic.market_document(epoch)
    market = margin.compile_market(MarketSnapshot.model_validate(doc))
    step(f"generating {count} accounts")
    table = synthetic.synthetic_accounts(market, count, seed)
    step(f"writing {accounts_path}")
    # both files or neither: the accounts first, the market last, the accounts removed if the
    # market cannot be written
    existed = accounts_path.exists()
    save_table(table, market, accounts_path)
    try:
        atomic_write_text(market_path, json.dumps(doc, indent=1))
        if reserves_out is not None:
            decimals = {a.symbol: a.decimals for a in market.assets}
            decimals[market.valuation_symbol] = market.valuation_decimals
            amounts = synthetic.exchange_reserves(market, table)
            reserves = {
                "format": "zkmargin/reserves/1",
                "epoch": epoch,
                "reserves": {k: format_decimal(v, decimals[k]) for k, v in amounts.items()},
            }
            atomic_write_text(Path(reserves_out), json.dumps(reserves, indent=1) + "\n")
    except BaseException:
        if not existed:
            accounts_path.unlink(missing_ok=True)
        raise
    step("evaluating them")
    report = margin.evaluate_table(market, table)
    return len(table), int((~report.healthy).sum())
