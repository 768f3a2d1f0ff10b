"""The functions a Python user calls, re-exported from one module per user story: the venue
(:mod:`zkmargin.exchange`), the trader (:mod:`zkmargin.trader`) and the verifier
(:mod:`zkmargin.auditor`). Every CLI command is a thin adapter over these.

Range proofs (``prove_range`` / ``verify_range``) exchange bytes: 48-byte compressed
commitments and the proof's canonical encoding, so what a user stores or sends is exactly what
the verifier decodes, with every validation rule of :mod:`zkmargin.group` applied.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import group, margin, pedersen, rangeproof, sigma
from .errors import DecodeError, ZkMarginError
from .fileio import atomic_write_text
from .formats import tidy
from .formats.common import format_decimal, to_ppm
from .formats.market import MarketSnapshot
from .formats.tidy import format_units
from .generators import pedersen_bases
from .group import R
from .margin import synthetic
from .margin.liquidation import liquidation_prices
from .margin.table_io import load_table, save_table
from .rangeproof import RangeProof
from .transcript import sigma_tag
from .auditor import Verdict, verify_margin_proofs
from .exchange import (
    AttestResult,
    load_statement,
    load_venue_public_key,
    venue_attest,
    venue_keygen,
)
from .trader import NotHealthy, ProveResult, parse_threshold, prove_margin

__all__ = [
    "MODES",
    "AttestResult",
    "NotHealthy",
    "ProveResult",
    "Verdict",
    "load_statement",
    "load_venue_public_key",
    "parse_threshold",
    "prove_margin",
    "venue_attest",
    "venue_keygen",
    "verify_margin_proofs",
    "DemoReport",
    "MarginRun",
    "RangeProofBundle",
    "ZkMarginError",
    "atomic_write_text",
    "available_backends",
    "batch_verify_range",
    "csv_text",
    "decode_bundle",
    "demo_crypto",
    "demo_margin",
    "equality_relation",
    "format_decimal",
    "format_units",
    "generate_examples",
    "margin_columns",
    "margin_report",
    "opening_relation",
    "parse_rate",
    "prove_range",
    "use_backend",
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


@dataclass(frozen=True)
class RangeProofBundle:
    """A range proof with its public statement, all as bytes."""

    n: int
    context: bytes
    commitments: tuple[bytes, ...]
    proof: bytes


def prove_range(
    values: Sequence[int],
    n: int,
    context: bytes = b"",
    blindings: Sequence[int] | None = None,
) -> tuple[RangeProofBundle, list[pedersen.Opening]]:
    """Commit to ``values`` and prove each lies in [0, 2^n); return the bundle and openings.

    Fresh blindings are drawn unless given. The openings are secret: keep them.
    """
    gammas = list(blindings) if blindings is not None else [secrets.randbelow(R) for _ in values]
    proof, commitments = rangeproof.prove(values, gammas, n, context)
    bundle = RangeProofBundle(
        n, context, tuple(group.encode_point(c) for c in commitments), proof.to_bytes()
    )
    return bundle, [pedersen.Opening(v % R, g % R) for v, g in zip(values, gammas, strict=True)]


def decode_bundle(bundle: RangeProofBundle) -> tuple[RangeProof, list[group.Point]]:
    """Decode a bundle's commitments and proof, or raise :class:`DecodeError`."""
    commitments = [group.decode_point(c) for c in bundle.commitments]
    if not commitments:
        raise DecodeError("a range proof needs at least one commitment")
    return RangeProof.from_bytes(bundle.proof, bundle.n, len(commitments)), commitments


def verify_range(bundle: RangeProofBundle) -> bool:
    """Whether the bundle's proof shows every commitment holds a value in [0, 2^n).

    Malformed bytes raise :class:`DecodeError`; a well-formed but false proof returns False.
    """
    proof, commitments = decode_bundle(bundle)
    return rangeproof.verify(proof, commitments, bundle.n, bundle.context)


def batch_verify_range(bundles: Sequence[RangeProofBundle]) -> bool:
    """Verify many bundles as one multi-scalar multiplication."""
    items = []
    for b in bundles:
        proof, commitments = decode_bundle(b)
        items.append((proof, commitments, b.n, b.context))
    return rangeproof.batch_verify(items)


def opening_relation(commitment: group.Point) -> sigma.LinearRelation:
    """PK{(v, γ): C = v·G + γ·H}."""
    G, H = pedersen_bases()
    b = sigma.RelationBuilder("PedersenOpening")
    v, gamma = b.witness("v", "γ")
    g_i, h_i, c_i = b.element("G", G), b.element("H", H), b.element("C", commitment)
    b.equation([(1, c_i)], [(1, v, g_i), (1, gamma, h_i)])
    return b.build()


def equality_relation(left: group.Point, right: group.Point) -> sigma.LinearRelation:
    """PK{(δ): C₁ − C₂ = δ·H}: C₁ and C₂ commit to the same value."""
    _, H = pedersen_bases()
    b = sigma.RelationBuilder("EqualValues")
    (delta,) = b.witness("δ")
    h_i, c1, c2 = b.element("H", H), b.element("C₁", left), b.element("C₂", right)
    b.equation([(1, c1), (-1, c2)], [(1, delta, h_i)])
    return b.build()


@dataclass
class DemoReport:
    """What ``zkmargin demo`` did, line by line, and whether every check came out right."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def say(self, line: str) -> None:
        self.lines.append(line)

    def check(
        self,
        what: str,
        got: bool,
        expected: bool = True,
        words: tuple[str, str] = ("accepted", "rejected"),
    ) -> None:
        self.ok &= got is expected
        mark = "ok" if got is expected else "UNEXPECTED"
        self.say(f"  [{mark}] {what}: {words[0] if got else words[1]}")


def demo_crypto() -> DemoReport:
    """Prove and verify an aggregated range proof and Sigma proofs, and try to cheat."""
    rep = DemoReport()
    rep.say(f"backend: {group.backend().name}")
    balances = [1_250_000_000, 37_500_000, 999_999, 0]  # USDT in micro-units (6 decimals)
    context = b"zkmargin demo; epoch=1; venue=example"
    t0 = time.perf_counter()
    bundle, openings = prove_range(balances, 64, context)
    t1 = time.perf_counter()
    rep.say(
        f"committed to {len(balances)} balances and proved each in [0, 2^64): "
        f"{len(bundle.proof)}-byte aggregated Bulletproof in {1e3 * (t1 - t0):.1f} ms"
    )
    t2 = time.perf_counter()
    rep.check("verify the range proof", verify_range(bundle))
    rep.say(f"  verified in {1e3 * (time.perf_counter() - t2):.1f} ms")
    rep.check(
        "verify it under another context (replay into another epoch)",
        verify_range(RangeProofBundle(bundle.n, b"epoch=2", bundle.commitments, bundle.proof)),
        expected=False,
    )
    forged = bytearray(bundle.proof)
    forged[100] ^= 1
    try:
        forged_ok = verify_range(
            RangeProofBundle(bundle.n, context, bundle.commitments, bytes(forged))
        )
    except DecodeError:
        forged_ok = False
    rep.check("verify a proof with one flipped bit", forged_ok, expected=False)
    bad, _ = rangeproof.prove([2**64], [1], 64, context, _unsafe_skip_range_check=True)
    rep.check(
        "verify a forged proof for the out-of-range value 2^64",
        rangeproof.verify(bad, [pedersen.commit(2**64, 1)], 64, context),
        expected=False,
    )
    more = [prove_range([i * 1000 + 1], 64, context)[0] for i in range(16)]
    t3 = time.perf_counter()
    rep.check(f"batch-verify {len(more) + 1} range proofs", batch_verify_range([bundle, *more]))
    rep.say(f"  batch verified in {1e3 * (time.perf_counter() - t3):.1f} ms")

    c0 = group.decode_point(bundle.commitments[0])
    rel = opening_relation(c0)
    tag = sigma_tag("demo_opening", "DSFS")
    narg = sigma.prove_batchable(tag, rel, [openings[0].value, openings[0].blinding])
    rep.say(f"Sigma proof {rel.notation()}: {len(narg)} bytes")
    rep.check("verify the opening proof", sigma.verify_batchable(tag, rel, narg))
    gamma2 = secrets.randbelow(R)
    c_again = pedersen.commit(balances[0], gamma2)
    eq = equality_relation(c0, c_again)
    tag_eq = sigma_tag("demo_equal_values", "CMPT")
    proof_eq = sigma.prove_compact(tag_eq, eq, [(openings[0].blinding - gamma2) % R])
    rep.say(f"Sigma proof {eq.notation()}: {len(proof_eq)} bytes (compact)")
    rep.check("verify the equality proof", sigma.verify_compact(tag_eq, eq, proof_eq))
    other = equality_relation(c0, pedersen.commit(balances[0] + 1, gamma2))
    rep.check(
        "verify it against a commitment to another value",
        sigma.verify_compact(tag_eq, other, proof_eq),
        expected=False,
    )
    rep.say("all checks behaved as expected" if rep.ok else "SOME CHECKS MISBEHAVED")
    return rep


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
) -> MarginRun:
    """Load a market and accounts (.json/.csv/.parquet) and compute every account's figures,
    with the exact liquidation price of every linear position of cross and isolated accounts."""
    market = margin.load_market(market_path)
    table = load_table(accounts_path, market)
    report = margin.evaluate_table(market, table, threshold_ppm=threshold_ppm)
    rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    prices: list[int | None] = []
    if liquidation:
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
        arr = np.asarray(values)
        if arr.dtype == object:
            return np.array(
                [
                    format_units(np.array([int(v)]), np.array([dec]))[0]
                    if abs(int(v)) < 2**62
                    else str(v)
                    for v in arr
                ],
                dtype=object,
            )
        return format_units(arr.astype(np.int64), np.full(n, dec))

    liq = np.full(n, "", dtype=object)
    rows = run.liquidation_rows
    if len(rows):
        known = np.array([p is not None for p in run.liquidation_prices], dtype=bool)
        values = np.array([p or 0 for p in run.liquidation_prices], dtype=np.int64)
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
    count: int, seed: int, market_out: str | Path, accounts_out: str | Path, epoch: int = 1
) -> tuple[int, int]:
    """Write a synthetic market file and ``count`` accounts; return (accounts, unhealthy)."""
    doc = synthetic.market_document(epoch)
    market = margin.compile_market(MarketSnapshot.model_validate(doc))
    table = synthetic.synthetic_accounts(market, count, seed)
    atomic_write_text(Path(market_out), json.dumps(doc, indent=1))
    save_table(table, market, accounts_out)
    report = margin.evaluate_table(market, table)
    return len(table), int((~report.healthy).sum())


def demo_margin(report: DemoReport | None = None, accounts: int = 20_000) -> DemoReport:
    """Run the margin engine over a seeded synthetic exchange and summarise it."""
    rep = report or DemoReport()
    market = synthetic.synthetic_market()
    table = synthetic.synthetic_accounts(market, accounts, seed=2026)
    t0 = time.perf_counter()
    result = margin.evaluate_table(market, table)
    elapsed = time.perf_counter() - t0
    unhealthy = int((~result.healthy).sum())
    ratios = np.asarray(result.margin_ratio)
    near = int(((ratios >= 1.0) & (ratios < 1.1)).sum())
    rep.say(
        f"margin engine: {len(table)} accounts of '{market.venue}' ({len(table.pos_account)} "
        f"positions) in {1e3 * elapsed:.0f} ms, exact integers, conservative rounding"
    )
    rep.say(f"  {unhealthy} below maintenance, {near} within 10 % of it")
    worst = int(np.nanargmin(ratios))
    rep.say(
        f"  worst account {result.ids[worst]}: margin ratio {ratios[worst]:.3f} "
        f"({margin.vector.MODES[int(result.mode[worst])]})"
    )
    rep.check(
        "is the worst account flagged below maintenance",
        not bool(result.healthy[worst]),
        words=("yes", "no"),
    )
    return rep
