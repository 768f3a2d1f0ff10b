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
from .auditor import Verdict, audit_publication, verify_margin_proofs
from .bundles import (
    RangeProofBundle,
    batch_verify_range,
    decode_bundle,
    equality_relation,
    opening_relation,
    prove_range,
    verify_range,
)
from .demo import DemoReport, demo_crypto, demo_exchange, demo_margin, demo_trader
from .errors import ZkMarginError
from .exchange import (
    AttestResult,
    exchange_inclusion,
    exchange_publish,
    load_statement,
    load_venue_public_key,
    venue_attest,
    venue_keygen,
)
from .fileio import atomic_write_text
from .formats import tidy
from .formats.common import format_decimal, parse_threshold, to_ppm
from .formats.market import MarketSnapshot
from .formats.tidy import format_units
from .liabilities.audit import AuditReport
from .liabilities.layouts import MIN_SHARE
from .liabilities.plan import CannotPublish
from .liabilities.publish import PublishResult
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
from .margin.liquidation import liquidation_prices
from .margin.table_io import load_table, save_table
from .trader import InclusionReport, NotHealthy, ProveResult, prove_margin, verify_inclusion

__all__ = [
    "MIN_SHARE",
    "MODES",
    "AttestResult",
    "AuditReport",
    # liquidation (zkmargin.liquidation)
    "BatchResult",
    "CannotPublish",
    "DemoReport",
    "EquivocationVerdict",
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
    "available_backends",
    "batch_verify_range",
    "check_equivocation",
    "check_liquidation",
    "csv_text",
    "decode_bundle",
    "demo_crypto",
    "demo_exchange",
    "demo_margin",
    "demo_trader",
    "equality_relation",
    "exchange_inclusion",
    "exchange_publish",
    "format_decimal",
    "format_units",
    "generate_examples",
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
    "use_backend",
    "venue_attest",
    "venue_keygen",
    "verify_inclusion",
    "verify_liquidation_log",
    "verify_liquidation_proofs",
    "verify_margin_proofs",
    "verify_range",
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


def generate_examples(
    count: int,
    seed: int,
    market_out: str | Path,
    accounts_out: str | Path,
    epoch: int = 1,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Write a synthetic market file and ``count`` accounts (both files or neither); return
    (accounts, unhealthy). ``progress(step)`` is called as each step starts."""
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
    except BaseException:
        if not existed:
            accounts_path.unlink(missing_ok=True)
        raise
    step("evaluating them")
    report = margin.evaluate_table(market, table)
    return len(table), int((~report.healthy).sum())
