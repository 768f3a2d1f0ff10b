"""The verifier's story (a lender, a counterparty, an auditor): check margin proofs, and audit
an exchange's publication.

Each proof is checked against the market snapshot the verifier trusts and, when given, the
venue's public key: the statement must be vouched for by that key (signed, or included in a
liabilities tree whose root that key signed), made for that market, and the proof must bind
that θ, epoch and context. Many proofs are batch-verified: one multi-scalar multiplication for
every range proof, one batched Sigma check, one pairing product for every signature; if the
batch fails, each proof is checked alone to name the bad ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .attest import bls
from .attest import statement as stm
from .circuit import proof as cproof
from .circuit.compiler import (
    MARGIN_CIRCUITS,
    Instance,
    compile_instance,
    load_circuit,
    statement_slots,
)
from .circuit.lang import CircuitError
from .errors import DecodeError
from .formats.common import FormatError, format_decimal, parse_threshold
from .formats.jsonfile import read_model
from .formats.market import MarketSnapshot, market_digest
from .formats.statement import MarginProofFile
from .formats.verdicts import (
    AddressResult,
    AuditResult,
    CheckResult,
    ColumnResult,
    ProofResult,
    VerifyResult,
    strict_verdict,
)
from .liabilities.assets import ChainData
from .liabilities.audit import AuditReport, audit
from .liabilities.audit import Progress as AuditProgress
from .liabilities.inclusion import NotIncluded, check_attestation
from .liabilities.parallel import make_runner
from .liabilities.reserves import ONE, parse_ratio
from .margin.market import Market, compile_market, load_snapshot


@dataclass
class Verdict:
    """What a verifier concludes about one proof file."""

    path: str
    valid: bool
    reason: str = ""
    attested: bool = False
    circuit: str = ""
    threshold: str = ""
    epoch: int = 0
    venue: str = ""
    context: str = ""
    notes: list[str] = field(default_factory=list)
    #: What the verifier could not check because an option was omitted, one line each; with
    #: ``--strict`` each is a failure.
    unchecked: list[str] = field(default_factory=list)


class _Invalid(Exception):
    pass


@dataclass
class _Checked:
    verdict: Verdict
    parts: cproof.BatchParts | None = None
    signature: tuple[bytes, bytes, bytes] | None = None
    leaf_parts: cproof.BatchParts | None = None


def _prepare(
    path: str,
    doc: MarginProofFile,
    mk: Market,
    snap: MarketSnapshot,
    digest: bytes,
    venue_key: bytes | None,
    context: str | None,
    min_threshold_ppm: int | None,
) -> _Checked:
    st = doc.statement
    v = Verdict(
        path,
        False,
        circuit=doc.circuit,
        threshold=doc.threshold,
        epoch=doc.epoch,
        venue=st.venue,
        context=doc.context,
    )
    out = _Checked(v)
    try:
        if doc.market_digest != digest.hex() or st.market_digest != digest.hex():
            raise _Invalid("it was made for another market snapshot")
        if st.epoch != doc.epoch:
            raise _Invalid("its epoch differs from its statement's")
        if st.epoch != mk.epoch:
            raise _Invalid(f"it is for epoch {st.epoch}, the market snapshot is epoch {mk.epoch}")
        if context is not None and doc.context != context:
            raise _Invalid(f"it is bound to the context {doc.context!r}, not {context!r}")
        if context is None:
            v.unchecked.append(f"context not checked: it is {json.dumps(doc.context)} (--context)")
        try:
            theta_ppm = parse_threshold(doc.threshold)
        except FormatError as exc:
            raise _Invalid(str(exc)) from None
        if min_threshold_ppm is not None and theta_ppm < min_threshold_ppm:
            raise _Invalid(
                f"it proves θ = {doc.threshold}, below the required minimum "
                f"θ = {format_decimal(min_threshold_ppm, 6).rstrip('0').rstrip('.')}"
            )
        if min_threshold_ppm is None:
            v.unchecked.append(
                f"minimum θ not checked: the proof states θ = {doc.threshold} (--min-threshold)"
            )
        if doc.circuit not in MARGIN_CIRCUITS:
            raise _Invalid(f"{doc.circuit} is not a margin-proof circuit")
        try:
            circ = load_circuit(doc.circuit)
        except CircuitError:
            raise _Invalid(f"unknown circuit {doc.circuit}") from None
        if circ.digest.hex() != doc.circuit_digest:
            raise _Invalid(f"it was made with another version of circuit {doc.circuit}")
        if st.mode not in circ.modes:
            raise _Invalid(f"circuit {circ.name} does not prove {st.mode}-margin accounts")
        trusted = st.signature is not None
        if doc.inclusion is not None:
            if venue_key is None:
                raise _Invalid(
                    f"its commitments are vouched for by venue key "
                    f"{str(doc.inclusion.root.venue_key)[:16]}… (a signed liabilities root), which "
                    "you did not name: pass --venue-key with the venue's public key"
                )
            try:
                att = check_attestation(st, doc.inclusion, mk, snap, venue_key)
            except NotIncluded as exc:
                raise _Invalid(f"its inclusion attestation fails: {exc}") from None
            out.signature = att.signature
            out.leaf_parts = att.parts
            trusted = True
            v.attested = True
            v.notes.append(
                f"attested by inclusion in the epoch {st.epoch} liabilities tree "
                f"(root {str(doc.inclusion.root.root_hash)[:16]}…)"
            )
        elif st.signature is not None:
            if st.venue_key is None:
                raise _Invalid("the statement has a signature but no venue key")
            if venue_key is None:
                # The slots' bounds are trusted because a venue vouches for them; a key the
                # verifier did not name could be anyone's, the prover's own included.
                raise _Invalid(
                    f"its commitments are vouched for by venue key {st.venue_key[:16]}…, which "
                    "you did not name: pass --venue-key with the venue's public key"
                )
            if bytes.fromhex(st.venue_key) != venue_key:
                raise _Invalid("its statement is signed by another venue key")
            out.signature = stm.signature_item(st)
            v.attested = True
        else:
            if st.venue_key is not None:
                raise _Invalid("the statement names a venue key but carries no signature")
            if venue_key is not None:
                raise _Invalid("its commitments are not attested by the venue (self-committed)")
            v.unchecked.append(
                "venue not checked: the commitments are self-committed, vouched for by no venue "
                "(--venue-key requires a venue's)"
            )
        try:
            inst: Instance = compile_instance(
                circ, mk, statement_slots(st), theta_ppm, trusted_slots=trusted
            )
        except CircuitError as exc:
            raise _Invalid(f"the statement does not fit the circuit: {exc}") from None
        ctx = stm.proof_context(
            circuit_digest=circ.digest,
            market_digest=digest,
            theta_ppm=theta_ppm,
            epoch=st.epoch,
            context=doc.context,
            statement=st,
        )
        try:
            points = stm.statement_points(st)
            proof = cproof.CircuitProof.from_bytes(bytes.fromhex(doc.proof), inst)
            parts = cproof.batch_parts(inst, points, proof, ctx)
        except DecodeError as exc:
            raise _Invalid(f"malformed proof: {exc}") from None
        out.parts = parts
    except _Invalid as exc:
        v.reason = str(exc)
    return out


def _crypto_ok(items: Sequence[_Checked]) -> bool:
    """Every proof (and inclusion leaf proof) in one batch, every venue signature in one
    pairing product."""
    parts = [c.parts for c in items if c.parts is not None]
    parts += [c.leaf_parts for c in items if c.leaf_parts is not None]
    atts = [c.signature for c in items if c.signature is not None]
    return cproof.batch_verify(parts) and (not atts or bls.batch_verify(atts))


def verify_margin_proofs(
    paths: Sequence[str | Path],
    *,
    market: str | Path,
    venue_key: bytes | None = None,
    context: str | None = None,
    min_threshold: str | None = None,
) -> list[Verdict]:
    """One verdict per proof file. Unreadable input raises :class:`FormatError` (exit 2)."""
    snap = load_snapshot(market)
    mk = compile_market(snap, str(market))
    digest = market_digest(snap)
    min_ppm = None
    if min_threshold is not None:
        try:
            min_ppm = parse_threshold(min_threshold)
        except FormatError:
            raise FormatError(
                f"--min-threshold {min_threshold!r} must be a decimal θ between 1 and 1000"
            ) from None
    docs = [(str(p), read_model(p, MarginProofFile)) for p in paths]
    checked = [_prepare(p, d, mk, snap, digest, venue_key, context, min_ppm) for p, d in docs]
    ready = [c for c in checked if c.parts is not None]
    if ready and _crypto_ok(ready):
        for c in ready:
            c.verdict.valid = True
    else:
        for c in ready:
            c.verdict.valid = _crypto_ok([c])
            if not c.verdict.valid:
                c.verdict.reason = (
                    "the venue's signature does not verify"
                    if c.signature is not None and not bls.verify(*c.signature)
                    else "the leaf proof of its inclusion does not verify"
                    if c.leaf_parts is not None
                    and not _crypto_ok([_Checked(c.verdict, c.leaf_parts)])
                    else "the proof does not verify"
                )
    return [c.verdict for c in checked]


def audit_publication(
    path: str | Path,
    *,
    venue_key: bytes | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: AuditProgress | None = None,
    chain_data: ChainData | None = None,
    min_ratio: str | None = None,
) -> AuditReport:
    """The full audit of an exchange's publication (every leaf, node, the root and its
    signature, the reserves, the proof of assets with the auditor's ``chain_data``),
    batch-verified on a local pool or a Dask cluster; ``min_ratio`` (a decimal, "1.05"): the
    reserves proof must show at least that ratio. Unreadable input raises
    :class:`FormatError` (exit 2); a failed check gives an invalid report naming the first bad
    leaf, node or address (exit 1)."""
    ratio = ONE
    if min_ratio is not None:
        try:
            ratio = parse_ratio(min_ratio)
        except ValueError as exc:
            raise FormatError(f"--min-ratio: {exc}") from None
    runner = make_runner(workers, scheduler)
    try:
        return audit(
            path,
            venue_key=venue_key,
            runner=runner,
            progress=progress,
            chain_data=chain_data,
            min_ratio=ratio,
        )
    finally:
        runner.close()


def verify_result(verdicts: Sequence[Verdict], *, market: str | Path, strict: bool) -> VerifyResult:
    """The ``--json`` document of ``zkmargin verify``."""
    proofs = []
    for v in verdicts:
        valid, reason = strict_verdict(v.valid, v.reason, v.unchecked, strict)
        proofs.append(
            ProofResult(
                path=v.path,
                valid=valid,
                reason=reason,
                circuit=v.circuit,
                threshold=v.threshold,
                epoch=v.epoch,
                venue=v.venue,
                attested=v.attested,
                context=v.context,
                notes=v.notes,
                not_checked=v.unchecked,
            )
        )
    return VerifyResult(
        valid=all(p.valid for p in proofs), strict=strict, market=str(market), proofs=proofs
    )


def column_statements(rep: AuditReport) -> list[ColumnResult]:
    """What the audit proved about each column, as a sentence and as figures."""
    num, den = rep.min_ratio
    rho = (
        ""
        if (num, den) == (1, 1)
        else f"{format_decimal(num * 10**6 // den, 6).rstrip('0').rstrip('.')} × "
    )
    out = []
    for j, c in enumerate(rep.columns):
        reserve = format_decimal(c.reserve, c.decimals)
        owed = rep.revealed[j] if rep.revealed is not None else None
        proven = declared = None
        if rep.assets is not None:
            proven = format_decimal(rep.assets.proven(c.symbol), c.decimals)
            declared = format_decimal(rep.assets.off_chain(c.symbol), c.decimals)
        if owed is None:
            statement = (
                f"reserve {reserve} {c.symbol} ≥ {rho}total liabilities (the total stays hidden)"
            )
            ratio = None
        else:
            statement = (
                f"reserve {reserve} {c.symbol} against revealed liabilities "
                f"{format_decimal(owed, c.decimals)}"
            )
            ratio = format_decimal(100_000 * c.reserve // owed, 3) if owed > 0 else None
        out.append(
            ColumnResult(
                symbol=c.symbol,
                decimals=c.decimals,
                reserve=reserve,
                statement=statement,
                liabilities=None if owed is None else format_decimal(owed, c.decimals),
                ratio_percent=ratio,
                proven_on_chain=proven,
                declared_off_chain=declared,
            )
        )
    return out


def audit_result(rep: AuditReport, *, strict: bool) -> AuditResult:
    """The ``--json`` document of ``zkmargin exchange verify``."""
    decimals = {c.symbol: c.decimals for c in rep.columns}
    num, den = rep.min_ratio
    valid, reason = strict_verdict(rep.valid, rep.reason, rep.unchecked, strict)
    return AuditResult(
        publication=rep.path,
        valid=valid,
        strict=strict,
        reason=reason,
        venue=rep.venue,
        venue_key=rep.venue_key,
        venue_key_fingerprint=rep.venue_key_fingerprint,
        venue_key_given=rep.key_given,
        epoch=rep.epoch,
        root_hash=rep.root_hash,
        tree_height=rep.height,
        leaves=rep.leaves,
        min_ratio=f"{num}/{den}",
        required_ratio="{}/{}".format(*rep.required_ratio),
        totals_revealed=rep.revealed is not None,
        checks=[
            CheckResult(name=c.name, ok=c.ok, detail=c.detail, seconds=round(c.seconds, 6))
            for c in rep.checks
        ],
        not_checked=rep.unchecked,
        failures=rep.failures,
        columns=column_statements(rep),
        addresses=[
            AddressResult(
                chain=chain,
                asset=asset,
                address=address,
                amount=format_decimal(amount, decimals.get(asset, 0)),
            )
            for chain, asset, address, amount in rep.address_amounts
        ],
    )
