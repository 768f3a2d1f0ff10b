"""The trader's story: prove that an account's equity is at least θ times its requirement.

From a venue-attested statement and its openings (the usual case), or from the trader's own
books (self-committed: every slot is then range-proven, and the verifier is told the commitments
are not attested). The honest prover refuses an account that is not healthy enough: it never
writes a proof that would fail.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from . import rangeproof, sigma
from .attest import bls
from .attest import statement as stm
from .circuit import proof as cproof
from .circuit.compiler import (
    MARGIN_CIRCUITS,
    MODE_CIRCUIT,
    Circuit,
    Instance,
    SlotSpec,
    compile_instance,
    load_circuit,
    margin_circuit,
    statement_slots,
)
from .circuit.lang import CircuitError, Linear
from .circuit.params import linear_scale, mark_terms
from .circuit.slots import account_slots
from .errors import DecodeError, ProvingError, ZkMarginError
from .formats.common import MAX_THRESHOLD_PPM, PPM, FormatError, format_decimal, parse_threshold
from .formats.jsonfile import read_model, write_model
from .formats.market import market_digest
from .formats.publication import InclusionFile
from .formats.statement import (
    AccountOpenings,
    AccountStatement,
    InclusionAttestation,
    MarginProofFile,
    SignedRoot,
)
from .formats.verdicts import HoldingResult, InclusionResult, OwedResult, strict_verdict
from .liabilities.inclusion import NotIncluded, check_attestation, check_liability_openings
from .liabilities.leaf import liability_columns
from .liabilities.store import Publication
from .margin.market import Market, compile_market, load_snapshot
from .margin.scalar import evaluate
from .margin.table_io import load_table
from .transcript import EntropySource, Rng

#: The circuit ``--circuit auto`` picks for each margin mode.
AUTO_CIRCUIT = MODE_CIRCUIT
SELF_VENUE = "self-committed"


class NotHealthy(ZkMarginError):
    """The account does not meet the asked threshold; no proof is written (exit 1)."""


def choose_circuit(name: str, mode: str, accounting: str = "standard") -> Circuit:
    """The circuit to prove with: ``auto`` picks by the statement's margin mode and the market's
    accounting."""
    if name == "auto":
        name = margin_circuit(mode, accounting)
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


def _theta_text(theta_ppm: int) -> str:
    return format_decimal(theta_ppm, 6).rstrip("0").rstrip(".")


def _holds(inst: Instance, values: Sequence[int]) -> bool:
    return not cproof.check_witness(inst, cproof.auxiliary_values(inst, list(values)))


def highest_threshold(
    circ: Circuit, mk: Market, layout: tuple[SlotSpec, ...], values: Sequence[int], trusted: bool
) -> int | None:
    """The largest θ on a grid of 0.01 in [1, 1000] that the committed values prove with
    ``circ`` (in ppm), or None when even θ = 1 fails. Health only falls as θ rises, so a binary
    search over the grid finds it."""

    def holds(hundredths: int) -> bool:
        inst = compile_instance(circ, mk, layout, hundredths * 10_000, trusted_slots=trusted)
        return _holds(inst, values)

    lo, hi = 100, MAX_THRESHOLD_PPM // 10_000
    if not holds(lo):
        return None
    if holds(hi):
        return hi * 10_000
    while hi - lo > 1:  # holds(lo) and not holds(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if holds(mid) else (lo, mid)
    return lo * 10_000


def margin_ratio(inst: Instance, values: Sequence[int]) -> str | None:
    """equity ÷ requirement as the circuit counts them (its ``equity`` and ``requirement``),
    to three decimals as ``margin report`` prints it; None when the circuit names no such
    figures."""
    scope = inst.scope
    if scope is None or not {"equity", "requirement"} <= set(scope.lets):
        return None
    known = cproof.auxiliary_values(inst, list(values))

    def value(name: str) -> Fraction:
        form = Linear.of(scope.lets[name])
        return sum((c * known[k] for k, c in form.terms.items()), form.const)

    equity, requirement = value("equity"), value("requirement")
    if requirement <= 0:
        return "unbounded (nothing is required)"
    return f"{float(equity / requirement):.3f}"


def prove_margin(
    *,
    market: str | Path,
    out: str | Path,
    statement: str | Path | None = None,
    openings: str | Path | None = None,
    account: str | Path | None = None,
    inclusion: str | Path | None = None,
    circuit: str = "auto",
    threshold: str = "1",
    context: str = "",
    decoys: int = 0,
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
    master: bytes | None = None,
) -> ProveResult:
    """Prove equity − θ·requirement ≥ 0 for an attested statement (``statement`` and
    ``openings``; or ``inclusion``, a user's inclusion file from the exchange's publication) or
    a self-committed ``account``; write the proof file to ``out``."""
    best = threshold.strip().lower() == "max"
    theta_ppm = PPM if best else parse_threshold(threshold)
    if len(context.encode()) > 1024:
        raise FormatError("the context string is longer than 1024 bytes")
    snap = load_snapshot(market)
    mk = compile_market(snap, str(market))
    digest = market_digest(snap)
    attestation: InclusionAttestation | None = None
    if sum(x is not None for x in (statement, account, inclusion)) != 1:
        raise FormatError(
            "give one of: a statement with its openings, an inclusion file, or an account"
        )
    if inclusion is not None:
        if openings is not None or decoys:
            raise FormatError(
                "an inclusion file holds its openings; give neither --openings nor --decoys with it"
            )
        inc = read_model(inclusion, InclusionFile)
        if market_digest(inc.market) != digest:
            raise FormatError(
                "the inclusion file was made for another market snapshot", file=str(inclusion)
            )
        report = check_inclusion(inc)
        if not report.valid:
            raise FormatError(f"not a valid inclusion: {report.reason}", file=str(inclusion))
        st, attestation = inc.statement, inc.attestation
        values, blindings = stm.check_openings(st, inc.openings)
    elif statement is not None:
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
    circ = choose_circuit(circuit, st.mode, mk.accounting)
    trusted = st.signature is not None or attestation is not None
    layout = statement_slots(st)
    try:
        inst = compile_instance(circ, mk, layout, theta_ppm, trusted_slots=trusted)
    except CircuitError as exc:
        raise FormatError(str(exc)) from None
    if best or not _holds(inst, values):
        highest = highest_threshold(circ, mk, layout, values, trusted)
        if best and highest is not None:
            theta_ppm = highest
            inst = compile_instance(circ, mk, layout, theta_ppm, trusted_slots=trusted)
        else:
            asked = "any θ ≥ 1" if best else f"θ = {_theta_text(theta_ppm)}"
            ratio = margin_ratio(inst, values)
            figures = f"its margin ratio (equity ÷ requirement) is {ratio}; " if ratio else ""
            can = (
                f"the highest θ it can prove is {_theta_text(highest)} (--threshold max)"
                if highest is not None
                else "it is below maintenance (θ = 1 fails)"
            )
            raise NotHealthy(f"the account does not meet {asked}: {figures}{can}")
    theta_text = _theta_text(theta_ppm)
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
    except ProvingError as exc:  # the witness was checked above: a limb bound, say
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
        inclusion=attestation,
    )
    write_model(out, doc)
    return ProveResult(Path(out), circ.name, trusted, len(data), len(inst.range_items), theta_text)


# ----- the user's check of their inclusion in the exchange's publication ----------------------


@dataclass
class InclusionReport:
    """What one user learns from their inclusion file."""

    valid: bool
    reason: str = ""
    account: str = ""
    venue: str = ""
    epoch: int = 0
    root_hash: str = ""
    key_given: bool = False
    #: (column, decimals, committed liability in the column's units)
    balances: list[tuple[str, int, int]] = field(default_factory=list)
    #: What could not be checked because an option was omitted, one line each.
    unchecked: list[str] = field(default_factory=list)
    mode: str = ""
    #: What the statement holds, slot by slot, labelled: (slot, of, value text, what it is)
    holdings: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: What the exchange owes per column, labelled: (column, value text, what it is)
    owed: list[tuple[str, str, str]] = field(default_factory=list)
    #: The exchange says it published the account written off (its debts left out)
    written_off: bool = False


def describe_holdings(
    market: Market, st: AccountStatement, values: list[int], written_off: bool = False
) -> list[tuple[str, str, str, str]]:
    """The statement's slots as a person reads them: each balance (held or borrowed) in its
    asset, each position (long or short, its size and entry), each isolated margin, the cash.
    ``written_off``: a zero slot may then be a debt or a position the leaf left out."""
    hidden = (
        "nothing counted (a debt left out, or a slot that hides what you hold)"
        if written_off
        else "nothing held (a slot that hides what you hold)"
    )
    by = {(s.name, s.of): v for s, v in zip(st.slots, values, strict=True)}
    assets = {a.symbol: a for a in market.assets}
    insts = {i.symbol: i for i in market.instruments}
    out: list[tuple[str, str, str, str]] = []
    for s in st.slots:
        v = by[(s.name, s.of)]
        if s.name in ("balance_pos", "balance_neg"):
            a = assets[s.of]
            amount = format_decimal(v, a.decimals)
            empty = not by.get(("balance_pos", s.of)) and not by.get(("balance_neg", s.of))
            if empty:
                what = hidden
            elif s.name == "balance_pos":
                what = "balance held" if v else "none held"
            else:
                what = "borrowed (a debt)" if v else "no debt"
            out.append((s.name, s.of, f"{amount} {s.of}", what))
        elif s.name in ("long", "short"):
            i = insts[s.of]
            flat = not by.get(("long", s.of)) and not by.get(("short", s.of))
            what = hidden.replace("nothing", "no position", 1) if flat else f"size {s.name}"
            out.append((s.name, s.of, format_decimal(v, i.size_decimals), what))
        elif s.name == "quote":
            i = insts[s.of]
            size = by.get(("long", s.of), 0) - by.get(("short", s.of), 0)
            settle = market.assets[i.settle_index]
            if size and i.kind != "inverse":
                # the engine's quote, or ⌊k·quote⌋ settle units where its unit is finer
                unit = mark_terms(i, market)[1] / linear_scale(i, market)
                exact = Fraction(-v, size) * unit
                approx = "" if exact.denominator == 1 else "≈ "
                entry = format_decimal(round(exact), i.price_decimals)
                out.append(
                    ("quote", s.of, f"entry {approx}{entry}", "entry price (from the quote)")
                )
            elif size:
                out.append(
                    (
                        "quote",
                        s.of,
                        f"{format_decimal(v, settle.decimals)} {settle.symbol}",
                        "contracts' value at entry",
                    )
                )
            else:
                out.append(("quote", s.of, "0", "no position"))
        elif s.name == "isolated_margin":
            settle = market.assets[insts[s.of].settle_index]
            out.append(
                (
                    s.name,
                    s.of,
                    f"{format_decimal(v, settle.decimals)} {settle.symbol}",
                    "isolated margin",
                )
            )
        else:
            out.append(
                (
                    s.name,
                    "",
                    f"{format_decimal(v, market.valuation_decimals)} {market.valuation_symbol}",
                    "cash",
                )
            )
    return out


def describe_owed(
    market: Market, st: AccountStatement, values: list[int], owed: list[tuple[str, int]]
) -> list[tuple[str, str, str]]:
    """What the exchange owes per column, with what it is made of: the balance, and in a
    settlement asset the positions' value at mark (rounded up in your favour)."""
    by = {(s.name, s.of): v for s, v in zip(st.slots, values, strict=True)}
    columns = liability_columns(market)
    decimals = dict(zip(columns.symbols, columns.decimals, strict=True))
    cash = by.get(("cash", ""), 0)
    out = []
    for column, value in owed:
        dec = decimals[column]
        here = columns.symbols.index(column) == columns.cash
        if here and columns.cash_column:
            out.append((column, format_decimal(value, dec), "your cash"))
            continue
        balance = by.get(("balance_pos", column), 0) - by.get(("balance_neg", column), 0)
        # the valuation currency listed as an asset holds the cash too, m units of the column
        # per valuation unit (leaf.liability_columns)
        in_column = columns.cash_factor * cash if here else 0
        at_mark = value - balance - in_column
        what = f"balance {format_decimal(balance, dec)}"
        if at_mark:
            what += f" + positions at mark {format_decimal(at_mark, dec)}"
        if in_column:
            what += f" + your cash {format_decimal(in_column, dec)}"
            if columns.cash_factor != 1:
                what += (
                    f" (your {format_decimal(cash, market.valuation_decimals)} "
                    f"{market.valuation_symbol} of cash, at {columns.cash_factor} of this "
                    "column's units each)"
                )
        out.append((column, format_decimal(value, dec), what))
    return out


def check_inclusion(
    doc: InclusionFile,
    *,
    venue_key: bytes | None = None,
    root_hash: str | None = None,
    root: SignedRoot | None = None,
    account: str | None = None,
    epoch: int | None = None,
) -> InclusionReport:
    """Check an inclusion file: the openings open the statement, which is ``account``'s; the
    leaf proof verifies; the path leads to the signed root (the one named by ``root_hash`` or
    ``root``), whose signature verifies under ``venue_key`` (else the root's own key)."""
    st, att = doc.statement, doc.attestation
    rep = InclusionReport(
        False,
        account=doc.openings.account,
        venue=st.venue,
        epoch=st.epoch,
        root_hash=att.root.root_hash,
        key_given=venue_key is not None,
    )
    if account is None:
        rep.unchecked.append(
            f"account not checked: the file says it is {json.dumps(doc.openings.account)} "
            "(--account)"
        )
    if epoch is None:
        rep.unchecked.append(f"epoch not checked: the file is for epoch {st.epoch} (--epoch)")
    if venue_key is None:
        rep.unchecked.append(
            "venue key not checked: the root's own key (fingerprint "
            f"{hashlib.sha256(bytes.fromhex(att.root.venue_key)).hexdigest()[:16]}…) was used "
            "(--venue-key)"
        )
    try:
        if account is not None and doc.openings.account != account:
            raise NotIncluded(
                f"the file is account {json.dumps(doc.openings.account)}'s, "
                f"not {json.dumps(account)}'s"
            )
        if epoch is not None and st.epoch != epoch:
            raise NotIncluded(f"the file is for epoch {st.epoch}, not {epoch}")
        if root_hash is not None and att.root.root_hash != root_hash.lower():
            raise NotIncluded("its root is not the root you named")
        if root is not None and att.root != root:
            raise NotIncluded("its root is not the publication's root")
        salt = bytes.fromhex(doc.openings.salt)
        if st.account_tag != stm.account_tag(doc.openings.account, salt).hex():
            raise NotIncluded("the statement is not this account's (account tag)")
        try:
            stm.check_openings(st, doc.openings)
        except DecodeError as exc:
            raise NotIncluded(str(exc)) from None
        mk = compile_market(doc.market, "inclusion file (market)")
        checked = check_attestation(st, att, mk, doc.market, venue_key)
        if not bls.verify(*checked.signature):
            raise NotIncluded("the root's signature does not verify")
        rp, sg = checked.parts
        if not rangeproof.verify(*rp) or (sg is not None and not sigma.verify_batchable(*sg)):
            raise NotIncluded("the leaf proof does not verify")
        balances = check_liability_openings(doc, checked.liabilities)
        decimals = dict(zip(att.root.columns, liability_columns(mk).decimals, strict=True))
        rep.balances = [(c, decimals[c], v) for c, v in balances]
        values, _ = stm.check_openings(st, doc.openings)
        rep.mode = st.mode
        rep.written_off = doc.written_off
        rep.holdings = describe_holdings(mk, st, values, doc.written_off)
        rep.owed = describe_owed(mk, st, values, balances)
        rep.valid = True
    except NotIncluded as exc:
        rep.reason = str(exc)
    return rep


def verify_inclusion(
    path: str | Path,
    *,
    root_hash: str | None = None,
    publication: str | Path | None = None,
    venue_key: bytes | None = None,
    account: str | None = None,
    epoch: int | None = None,
) -> InclusionReport:
    """Check ``path`` (a user's inclusion file) against a root hash the user trusts, or the
    root of a publication file."""
    if (root_hash is None) == (publication is None):
        raise FormatError("give the root hash (--root) or the publication (--publication)")
    if root_hash is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", root_hash):
        raise FormatError("--root must be the 32-byte root hash in hexadecimal")
    doc = read_model(path, InclusionFile)
    root = None
    if publication is not None:
        with Publication.open(publication) as pub:
            root = pub.root()
    return check_inclusion(
        doc, venue_key=venue_key, root_hash=root_hash, root=root, account=account, epoch=epoch
    )


def inclusion_result(rep: InclusionReport, file: str, *, strict: bool) -> InclusionResult:
    """The ``--json`` document of one user's check."""
    valid, reason = strict_verdict(rep.valid, rep.reason, rep.unchecked, strict)
    return InclusionResult(
        file=file,
        valid=valid,
        strict=strict,
        reason=reason,
        account=rep.account,
        venue=rep.venue,
        epoch=rep.epoch,
        root_hash=rep.root_hash,
        mode=rep.mode,
        written_off=rep.written_off,
        holdings=[HoldingResult(slot=a, of=b, value=c, what=d) for a, b, c, d in rep.holdings],
        owed=[OwedResult(column=a, value=b, what=c) for a, b, c in rep.owed],
        not_checked=rep.unchecked,
    )
