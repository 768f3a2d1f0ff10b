"""The trader's story: prove that an account's equity is at least θ times its requirement.

From a venue-attested statement and its openings (the usual case), or from the trader's own
books (self-committed: every slot is then range-proven, and the verifier is told the commitments
are not attested). The honest prover refuses an account that is not healthy enough: it never
writes a proof that would fail.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from .attest import statement as stm
from .circuit import proof as cproof
from .circuit.compiler import MARGIN_CIRCUITS, Circuit, compile_statement, load_circuit
from .circuit.lang import CircuitError
from .circuit.slots import account_slots
from .errors import DecodeError, ProvingError, ZkMarginError
from .formats.common import FormatError, format_decimal, parse_threshold
from .formats.jsonfile import read_model, write_model
from .formats.market import market_digest
from .formats.statement import AccountOpenings, AccountStatement, MarginProofFile
from .margin.market import Market, compile_market, load_snapshot
from .margin.scalar import evaluate
from .margin.table_io import load_table
from .transcript import EntropySource, Rng

#: The circuit ``--circuit auto`` picks for each margin mode.
AUTO_CIRCUIT = {"isolated": "isolated", "cross": "cross", "portfolio": "portfolio"}
SELF_VENUE = "self-committed"


class NotHealthy(ZkMarginError):
    """The account does not meet the asked threshold; no proof is written (exit 1)."""


def choose_circuit(name: str, mode: str) -> Circuit:
    """The circuit to prove with: ``auto`` picks by the statement's margin mode."""
    if name == "auto":
        name = AUTO_CIRCUIT[mode]
    if name not in MARGIN_CIRCUITS:
        raise FormatError(
            f"circuit {name!r} is not a margin proof; choose auto, "
            + ", ".join(sorted(MARGIN_CIRCUITS))
        )
    try:
        circuit = load_circuit(name)
    except CircuitError as exc:
        raise FormatError(str(exc)) from None
    if mode not in circuit.modes:
        raise FormatError(f"circuit {circuit.name} does not prove {mode}-margin accounts")
    return circuit


@dataclass(frozen=True)
class ProveResult:
    out: Path
    circuit: str
    attested: bool
    proof_bytes: int
    range_constraints: int
    threshold: str


def _self_statement(
    mk: Market,
    digest: bytes,
    epoch: int,
    account: str | Path,
    decoys: int,
    master: bytes | None,
    theta_ppm: int,
) -> tuple[AccountStatement, list[int], list[int]]:
    table = load_table(account, mk)
    if len(table) != 1:
        raise FormatError(
            f"holds {len(table)} accounts; give a file with exactly one", file=str(account)
        )
    acc = next(table.accounts())
    result = evaluate(acc, mk, threshold_ppm=theta_ppm, details=False)
    if not result.healthy:
        raise NotHealthy(
            f"account {acc.id} is not healthy enough: equity "
            f"{format_decimal(result.equity, mk.valuation_decimals)} is below θ = "
            f"{format_decimal(theta_ppm, 6)} × maintenance "
            f"{format_decimal(result.maintenance, mk.valuation_decimals)} {mk.valuation_symbol}"
        )
    master = master or secrets.token_bytes(32)
    slots = account_slots(
        acc, mk, decoys=decoys, decoy_seed=secrets.token_bytes(16), file=str(account)
    )
    st, op = stm.issue_statement(
        venue=SELF_VENUE,
        epoch=epoch,
        market_digest=digest,
        account_id=acc.id,
        mode=acc.mode,
        slots=slots,
        master=master,
        secret_key=None,
    )
    values, blindings = stm.check_openings(st, op)
    return st, values, blindings


def prove_margin(
    *,
    market: str | Path,
    out: str | Path,
    statement: str | Path | None = None,
    openings: str | Path | None = None,
    account: str | Path | None = None,
    circuit: str = "auto",
    threshold: str = "1",
    context: str = "",
    decoys: int = 0,
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
    master: bytes | None = None,
) -> ProveResult:
    """Prove equity − θ·requirement ≥ 0 for an attested statement (``statement`` and
    ``openings``) or a self-committed ``account``; write the proof file to ``out``."""
    theta_ppm = parse_threshold(threshold)
    if len(context.encode()) > 1024:
        raise FormatError("the context string is longer than 1024 bytes")
    snap = load_snapshot(market)
    mk = compile_market(snap, str(market))
    digest = market_digest(snap)
    if (statement is None) == (account is None):
        raise FormatError("give either a statement with its openings, or an account")
    if statement is not None:
        if openings is None:
            raise FormatError("a statement needs its openings file (--openings)")
        if decoys:
            raise FormatError(
                "decoy slots of an attested statement are chosen by the venue "
                "(venue attest --decoys); --decoys is for self-committed accounts"
            )
        st = read_model(statement, AccountStatement)
        op = read_model(openings, AccountOpenings)
        if st.market_digest != digest.hex():
            raise FormatError(
                "the statement was issued for another market snapshot", file=str(statement)
            )
        try:
            values, blindings = stm.check_openings(st, op)
        except DecodeError as exc:
            raise FormatError(str(exc), file=str(openings)) from None
    else:
        assert account is not None
        st, values, blindings = _self_statement(
            mk, digest, snap.epoch, account, decoys, master, theta_ppm
        )
    theta_text = format_decimal(theta_ppm, 6).rstrip("0").rstrip(".")
    circ = choose_circuit(circuit, st.mode)
    try:
        inst = compile_statement(circ, mk, st, theta_ppm)
    except CircuitError as exc:
        raise FormatError(str(exc)) from None
    ctx = stm.proof_context(
        circuit_digest=circ.digest,
        market_digest=digest,
        theta_ppm=theta_ppm,
        epoch=st.epoch,
        context=context,
        statement=st,
    )
    try:
        proof = cproof.prove(inst, values, blindings, ctx, rng=rng, entropy=entropy)
    except ProvingError as exc:
        raise NotHealthy(f"the account does not meet θ = {theta_text}: {exc}") from None
    data = proof.to_bytes()
    doc = MarginProofFile(
        circuit=circ.name,
        circuit_digest=circ.digest.hex(),
        market_digest=digest.hex(),
        threshold=theta_text,
        epoch=st.epoch,
        context=context,
        statement=st,
        proof=data.hex(),
    )
    write_model(out, doc)
    return ProveResult(
        Path(out), circ.name, st.signature is not None, len(data), len(inst.range_items), theta_text
    )
