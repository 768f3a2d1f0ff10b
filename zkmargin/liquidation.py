"""The liquidation story: the venue proves that an account it liquidated was below θ times its
maintenance; anyone verifies against the venue's key and the market snapshot; the trader checks
the proof is about the statement the venue gave them; two signed statements of one account and
epoch are evidence of equivocation that anyone can check.

The venue proves over its own signed statement with the openings it holds, so its signature
vouches for nothing the proof shows: every slot is range-proven (``trusted_slots=False``), and
the liquidation circuits (``circuits/liquidation_*.toml``) turn every auxiliary value so that
a dishonest choice can only make the venue's claim harder to prove (docs/liquidation.md). A
verifier takes the circuit, the market snapshot, the venue key and θ from its own side, compares
what the file states with them and refuses a difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .attest import bls
from .attest import statement as stm
from .attest.keys import VenueKey
from .circuit import proof as cproof
from .circuit.compiler import (
    LIQUIDATION_CIRCUITS,
    compile_instance,
    liquidation_circuit,
    load_circuit,
    statement_slots,
)
from .circuit.lang import CircuitError
from .errors import DecodeError, ProvingError, ZkMarginError
from .fileio import atomic_write_text
from .formats.common import FormatError, format_decimal, parse_threshold
from .formats.jsonfile import model_from_json, parse_json, read_json, read_model, write_model
from .formats.liquidation import MAX_LOG_ENTRIES, LiquidationLogHeader, LiquidationProofFile
from .formats.market import MarketSnapshot, market_digest
from .formats.statement import AccountOpenings, AccountStatement, VenueKeyFile
from .margin.market import Market, compile_market, load_snapshot
from .transcript import EntropySource, Rng

#: The context string every liquidation proof binds (with the liquidation circuit's digest, so
#: neither a margin proof nor a leaf proof can stand in for one).
LIQUIDATION_CONTEXT = "zkmargin liquidation"


class NotBelow(ZkMarginError):
    """The account is not below θ·maintenance: no liquidation proof is written (exit 1)."""


def _theta_text(ppm: int) -> str:
    return format_decimal(ppm, 6).rstrip("0").rstrip(".")


def _load_key(path: str | Path) -> VenueKey:
    try:
        return VenueKey.from_file(read_model(path, VenueKeyFile))
    except ValueError as exc:
        raise FormatError(str(exc), file=str(path)) from None


def _market(path: str | Path) -> tuple[MarketSnapshot, Market, bytes]:
    snap = load_snapshot(path)
    return snap, compile_market(snap, str(path)), market_digest(snap)


def liquidation_context(
    circuit_digest: bytes, digest: bytes, theta_ppm: int, st: AccountStatement
) -> bytes:
    """What every transcript of a liquidation proof absorbs first: the liquidation circuit, the
    market snapshot, θ, the epoch, :data:`LIQUIDATION_CONTEXT` and the whole statement."""
    return stm.proof_context(
        circuit_digest=circuit_digest,
        market_digest=digest,
        theta_ppm=theta_ppm,
        epoch=st.epoch,
        context=LIQUIDATION_CONTEXT,
        statement=st,
    )


def instruments_of(st: AccountStatement) -> list[str]:
    """The instruments a statement holds slots for (decoys included), in its order."""
    out: list[str] = []
    for s in st.slots:
        if s.name == "long" and s.of not in out:
            out.append(s.of)
    return out


# ----- the venue proves ---------------------------------------------------------------------


@dataclass(frozen=True)
class LiquidationResult:
    out: Path
    circuit: str
    account_tag: str
    proof_bytes: int
    threshold: str


def _prove_doc(
    vk: VenueKey,
    snap: MarketSnapshot,
    mk: Market,
    digest: bytes,
    st: AccountStatement,
    op: AccountOpenings,
    theta_ppm: int,
    where: str,
    rng: Rng | None,
    entropy: EntropySource | None,
) -> LiquidationProofFile:
    if st.signature is None or st.venue_key != vk.public_key.hex():
        raise FormatError("the statement is not signed by this venue key", file=where)
    if not stm.verify_signature(st):
        raise FormatError("the statement's signature does not verify", file=where)
    if st.market_digest != digest.hex() or st.epoch != snap.epoch:
        raise FormatError(
            f"the statement is for epoch {st.epoch} over another market snapshot than the one "
            f"given (epoch {snap.epoch})"
            if st.epoch != snap.epoch
            else "the statement was issued for another market snapshot",
            file=where,
        )
    try:
        values, blindings = stm.check_openings(st, op)
    except DecodeError as exc:
        raise FormatError(str(exc), file=where) from None
    circ = load_circuit(liquidation_circuit(st.mode, mk.accounting))
    try:
        inst = compile_instance(circ, mk, statement_slots(st), theta_ppm, trusted_slots=False)
    except CircuitError as exc:
        raise FormatError(str(exc), file=where) from None
    ctx = liquidation_context(circ.digest, digest, theta_ppm, st)
    try:
        proof = cproof.prove(inst, values, blindings, ctx, rng=rng, entropy=entropy)
    except ProvingError as exc:
        raise NotBelow(
            f"account {op.account} is not below θ = {_theta_text(theta_ppm)} × maintenance ({exc})"
        ) from None
    return LiquidationProofFile(
        circuit=circ.name,
        circuit_digest=circ.digest.hex(),
        market_digest=digest.hex(),
        threshold=_theta_text(theta_ppm),
        epoch=st.epoch,
        statement=st,
        proof=proof.to_bytes().hex(),
    )


def prove_liquidation(
    *,
    key: str | Path,
    market: str | Path,
    statement: str | Path,
    openings: str | Path,
    out: str | Path,
    threshold: str = "1",
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
) -> LiquidationResult:
    """The venue proves that the account of its signed ``statement`` (opened by ``openings``)
    is below θ·maintenance under ``market``; writes the proof to ``out``. Raises
    :class:`NotBelow` (nothing written) when it is not."""
    theta_ppm = parse_threshold(threshold)
    vk = _load_key(key)
    snap, mk, digest = _market(market)
    st = read_model(statement, AccountStatement)
    op = read_model(openings, AccountOpenings)
    doc = _prove_doc(vk, snap, mk, digest, st, op, theta_ppm, str(statement), rng, entropy)
    write_model(out, doc)
    return LiquidationResult(
        Path(out), doc.circuit, st.account_tag, len(doc.proof) // 2, doc.threshold
    )


@dataclass
class BatchResult:
    proved: list[Path] = field(default_factory=list)
    #: Statement files whose account is not below θ·maintenance (no proof).
    not_below: list[Path] = field(default_factory=list)
    log: Path | None = None


def prove_liquidations(
    *,
    key: str | Path,
    market: str | Path,
    batch: str | Path,
    out_dir: str | Path,
    threshold: str = "1",
    log: str | Path | None = None,
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
) -> BatchResult:
    """Every account of ``batch`` (a ``venue attest`` output folder: ``X.statement.json`` beside
    ``X.openings.json``) that is below θ·maintenance gets a proof ``X.liquidation.json`` in
    ``out_dir``; with ``log``, also the epoch's liquidation log (JSON lines). Every proof is
    made before any file is written."""
    theta_ppm = parse_threshold(threshold)
    vk = _load_key(key)
    snap, mk, digest = _market(market)
    folder = Path(batch)
    if not folder.is_dir():
        raise FormatError("is not a folder of statements", file=str(folder))
    statements = sorted(folder.glob("*.statement.json"))
    if not statements:
        raise FormatError("holds no *.statement.json file", file=str(folder))
    res = BatchResult()
    made: list[tuple[Path, LiquidationProofFile]] = []
    for path in statements:
        stem = path.name.removesuffix(".statement.json")
        op_path = path.with_name(f"{stem}.openings.json")
        if not op_path.is_file():
            raise FormatError(f"has no openings file {op_path.name}", file=str(path))
        st = read_model(path, AccountStatement)
        op = read_model(op_path, AccountOpenings)
        try:
            doc = _prove_doc(vk, snap, mk, digest, st, op, theta_ppm, str(path), rng, entropy)
        except NotBelow:
            res.not_below.append(path)
            continue
        made.append((Path(out_dir) / f"{stem}.liquidation.json", doc))
    if made:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    for out, doc in made:
        write_model(out, doc)
        res.proved.append(out)
    if log is not None:
        header = LiquidationLogHeader(
            venue=vk.venue,
            venue_key=vk.public_key.hex(),
            epoch=snap.epoch,
            market_digest=digest.hex(),
            threshold=_theta_text(theta_ppm),
            count=len(made),
        )
        lines = [header.model_dump_json()] + [d.model_dump_json() for _, d in made]
        atomic_write_text(Path(log), "\n".join(lines) + "\n")
        res.log = Path(log)
    return res


# ----- anyone verifies ----------------------------------------------------------------------


@dataclass
class LiquidationVerdict:
    """What a verifier concludes about one liquidation proof."""

    path: str
    valid: bool
    reason: str = ""
    circuit: str = ""
    threshold: str = ""
    epoch: int = 0
    venue: str = ""
    account_tag: str = ""
    #: The instruments the statement holds slots for (decoys included): public in any case.
    instruments: list[str] = field(default_factory=list)


class _Invalid(Exception):
    pass


@dataclass
class _Item:
    verdict: LiquidationVerdict
    parts: cproof.BatchParts | None = None
    signature: tuple[bytes, bytes, bytes] | None = None


def _prepare(
    path: str,
    doc: LiquidationProofFile,
    mk: Market,
    digest: bytes,
    venue_key: bytes,
    theta_ppm: int,
) -> _Item:
    st = doc.statement
    v = LiquidationVerdict(
        path,
        False,
        circuit=doc.circuit,
        threshold=doc.threshold,
        epoch=doc.epoch,
        venue=st.venue,
        account_tag=st.account_tag,
        instruments=instruments_of(st),
    )
    item = _Item(v)
    try:
        if doc.market_digest != digest.hex() or st.market_digest != digest.hex():
            raise _Invalid("it was made for another market snapshot")
        if doc.epoch != st.epoch:
            raise _Invalid("its epoch differs from its statement's")
        if st.epoch != mk.epoch:
            raise _Invalid(f"it is for epoch {st.epoch}, the market snapshot is epoch {mk.epoch}")
        try:
            stated = parse_threshold(doc.threshold)
        except FormatError as exc:
            raise _Invalid(str(exc)) from None
        if stated != theta_ppm:
            raise _Invalid(
                f"it states θ = {doc.threshold}; the liquidation threshold you gave is "
                f"θ = {_theta_text(theta_ppm)} (--threshold)"
            )
        if doc.circuit not in LIQUIDATION_CIRCUITS:
            raise _Invalid(f"{doc.circuit} is not a liquidation circuit")
        if doc.circuit != liquidation_circuit(st.mode, mk.accounting):
            raise _Invalid(
                f"circuit {doc.circuit} does not prove {st.mode}-margin liquidations under the "
                f"market's {mk.accounting} accounting"
            )
        circ = load_circuit(doc.circuit)
        if circ.digest.hex() != doc.circuit_digest:
            raise _Invalid(f"it was made with another version of circuit {doc.circuit}")
        if st.signature is None or st.venue_key is None:
            raise _Invalid("its statement is not signed by a venue")
        if bytes.fromhex(st.venue_key) != venue_key:
            raise _Invalid("its statement is signed by another venue key")
        item.signature = stm.signature_item(st)
        try:
            inst = compile_instance(circ, mk, statement_slots(st), theta_ppm, trusted_slots=False)
        except CircuitError as exc:
            raise _Invalid(f"the statement does not fit the circuit: {exc}") from None
        try:
            points = stm.statement_points(st)
            proof = cproof.CircuitProof.from_bytes(bytes.fromhex(doc.proof), inst)
            item.parts = cproof.batch_parts(
                inst, points, proof, liquidation_context(circ.digest, digest, theta_ppm, st)
            )
        except DecodeError as exc:
            raise _Invalid(f"malformed proof: {exc}") from None
    except _Invalid as exc:
        v.reason = str(exc)
    return item


def _crypto_ok(items: Sequence[_Item]) -> bool:
    """Every proof in one batch, every venue signature in one pairing product."""
    parts = [i.parts for i in items if i.parts is not None]
    atts = [i.signature for i in items if i.signature is not None]
    return cproof.batch_verify(parts) and (not atts or bls.batch_verify(atts))


def _verify_docs(
    docs: Sequence[tuple[str, LiquidationProofFile]],
    mk: Market,
    digest: bytes,
    venue_key: bytes,
    theta_ppm: int,
) -> list[LiquidationVerdict]:
    items = [_prepare(p, d, mk, digest, venue_key, theta_ppm) for p, d in docs]
    ready = [i for i in items if i.parts is not None]
    if ready and _crypto_ok(ready):
        for i in ready:
            i.verdict.valid = True
    else:
        for i in ready:
            i.verdict.valid = _crypto_ok([i])
            if not i.verdict.valid:
                i.verdict.reason = (
                    "the venue's signature does not verify"
                    if i.signature is not None and not bls.verify(*i.signature)
                    else "the proof does not verify"
                )
    return [i.verdict for i in items]


def verify_liquidation_proofs(
    paths: Sequence[str | Path],
    *,
    market: str | Path,
    venue_key: bytes,
    threshold: str = "1",
) -> list[LiquidationVerdict]:
    """One verdict per liquidation proof file, batch-verified (one multi-scalar multiplication
    for every range proof, one pairing product for every signature; one by one to name the bad
    ones if the batch fails). Unreadable input raises :class:`FormatError` (exit 2)."""
    theta_ppm = parse_threshold(threshold)
    _, mk, digest = _market(market)
    docs = [(str(p), read_model(p, LiquidationProofFile)) for p in paths]
    return _verify_docs(docs, mk, digest, venue_key, theta_ppm)


# ----- the liquidation log ------------------------------------------------------------------


def read_log(path: str | Path) -> tuple[LiquidationLogHeader, list[LiquidationProofFile]]:
    """A liquidation log: its header line and its proofs, as many as the header counts."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=file) from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise FormatError("is empty: a liquidation log starts with its header line", file=file)
    if len(lines) > MAX_LOG_ENTRIES + 1:
        raise FormatError(f"holds more than {MAX_LOG_ENTRIES} proofs", file=file)

    def parse(k: int, model: type[BaseModel]) -> Any:
        where = f"{file} line {k + 1}"
        return model_from_json(parse_json(lines[k], where), model, where)

    header: LiquidationLogHeader = parse(0, LiquidationLogHeader)
    if len(lines) - 1 != header.count:
        raise FormatError(
            f"its header counts {header.count} proofs but {len(lines) - 1} follow", file=file
        )
    return header, [parse(k, LiquidationProofFile) for k in range(1, len(lines))]


@dataclass
class LogReport:
    """An auditor's summary of a liquidation log."""

    path: str
    valid: bool
    reason: str = ""
    venue: str = ""
    epoch: int = 0
    threshold: str = ""
    verdicts: list[LiquidationVerdict] = field(default_factory=list)
    #: How many proofs hold slots for each instrument (decoys included).
    per_instrument: dict[str, int] = field(default_factory=dict)


def verify_liquidation_log(
    path: str | Path, *, market: str | Path, venue_key: bytes, threshold: str = "1"
) -> LogReport:
    """Verify every proof of a liquidation log in one batch; the header must name the venue key,
    the epoch, the market snapshot and θ the auditor gives, and no account appear twice."""
    theta_ppm = parse_threshold(threshold)
    _, mk, digest = _market(market)
    header, docs = read_log(path)
    rep = LogReport(str(path), False, venue=header.venue, epoch=header.epoch)
    rep.threshold = header.threshold
    named = [(f"{path}#{k + 1}", d) for k, d in enumerate(docs)]
    rep.verdicts = _verify_docs(named, mk, digest, venue_key, theta_ppm)
    rep.per_instrument = dict(
        sorted(Counter(i for v in rep.verdicts for i in v.instruments).items())
    )
    tags = Counter(str(d.statement.account_tag) for d in docs)
    twice = [t for t, n in tags.items() if n > 1]
    if header.venue_key != venue_key.hex():
        rep.reason = "its header names another venue key"
    elif header.market_digest != digest.hex() or header.epoch != mk.epoch:
        rep.reason = "its header names another epoch or market snapshot"
    elif parse_threshold(header.threshold) != theta_ppm:
        rep.reason = f"its header states θ = {header.threshold}, not {_theta_text(theta_ppm)}"
    elif twice:
        rep.reason = f"account tag {twice[0][:16]}… appears {tags[twice[0]]} times"
    elif not all(v.valid for v in rep.verdicts):
        bad = [v.path for v in rep.verdicts if not v.valid]
        rep.reason = f"{len(bad)} of {len(docs)} proofs are invalid"
    else:
        rep.valid = True
    return rep


# ----- the trader checks, and equivocation --------------------------------------------------


def _statement_of(path: str | Path) -> AccountStatement:
    """A statement file, or the statement inside a liquidation proof file."""
    raw = read_json(path)
    if (
        isinstance(raw, dict)
        and raw.get("format") == LiquidationProofFile.model_fields["format"].default
    ):
        return model_from_json(raw, LiquidationProofFile, str(path)).statement
    return model_from_json(raw, AccountStatement, str(path))


@dataclass
class EquivocationVerdict:
    """Whether two statements are evidence that the venue signed two different statements for
    one account and epoch."""

    equivocation: bool
    reason: str
    account_tag: str = ""
    epoch: int = 0


def equivocation(a: AccountStatement, b: AccountStatement, venue_key: bytes) -> EquivocationVerdict:
    """Both signed under ``venue_key`` (the verifier's), for the same account tag and epoch, and
    different: the venue equivocated. Anything else is no evidence, and the reason says why."""
    for name, st in (("A", a), ("B", b)):
        if st.signature is None or st.venue_key is None:
            return EquivocationVerdict(False, f"statement {name} is not signed")
        if bytes.fromhex(st.venue_key) != venue_key:
            return EquivocationVerdict(False, f"statement {name} is signed by another venue key")
        if not stm.verify_signature(st):
            return EquivocationVerdict(False, f"statement {name}'s signature does not verify")
    if a.epoch != b.epoch:
        return EquivocationVerdict(False, f"the statements are of epochs {a.epoch} and {b.epoch}")
    if str(a.account_tag) != str(b.account_tag):
        return EquivocationVerdict(False, "the statements are of different accounts")
    if stm.statement_message(a) == stm.statement_message(b):
        return EquivocationVerdict(False, "the two statements are the same", a.account_tag, a.epoch)
    return EquivocationVerdict(
        True,
        f"the venue signed two different statements for account tag {str(a.account_tag)[:16]}… "
        f"in epoch {a.epoch}",
        a.account_tag,
        a.epoch,
    )


def check_equivocation(a: str | Path, b: str | Path, *, venue_key: bytes) -> EquivocationVerdict:
    """:func:`equivocation` of two files (statements, or liquidation proofs holding one)."""
    return equivocation(_statement_of(a), _statement_of(b), venue_key)


@dataclass
class TraderCheck:
    """What the trader learns from a liquidation proof about their account."""

    valid: bool
    reason: str = ""
    account: str = ""
    equivocation: bool = False
    verdict: LiquidationVerdict | None = None
    unchecked: list[str] = field(default_factory=list)


def check_liquidation(
    *,
    proof: str | Path,
    statement: str | Path,
    openings: str | Path,
    market: str | Path | None = None,
    venue_key: bytes | None = None,
    threshold: str = "1",
) -> TraderCheck:
    """The trader's check: the proof's statement is the one the venue gave them (their openings
    open it, its account tag is theirs); with ``market`` and ``venue_key`` the proof is also
    verified. A proof over another statement of theirs for the same epoch, both signed by the
    venue, is reported as equivocation."""
    doc = read_model(proof, LiquidationProofFile)
    mine = read_model(statement, AccountStatement)
    op = read_model(openings, AccountOpenings)
    try:
        stm.check_openings(mine, op)
    except DecodeError as exc:
        raise FormatError(
            f"your openings do not open your statement: {exc}", file=str(openings)
        ) from None
    if mine.account_tag != stm.account_tag(op.account, bytes.fromhex(op.salt)).hex():
        raise FormatError("the statement is not the openings' account's", file=str(statement))
    rep = TraderCheck(False, account=op.account)
    theirs = doc.statement
    if stm.statement_message(theirs) != stm.statement_message(mine):
        if mine.venue_key is not None and theirs.venue_key == mine.venue_key:
            ev = equivocation(mine, theirs, bytes.fromhex(mine.venue_key))
            if ev.equivocation:
                rep.equivocation = True
                rep.reason = (
                    "the proof is over another statement the venue signed for your account and "
                    "epoch: evidence of equivocation (zkmargin equivocation)"
                )
                return rep
        other = []
        if str(theirs.account_tag) != str(mine.account_tag):
            other.append("another account")
        if theirs.epoch != mine.epoch:
            other.append(f"epoch {theirs.epoch}, yours is {mine.epoch}")
        rep.reason = "the proof is not about your statement" + (
            f" ({'; '.join(other)})" if other else ""
        )
        return rep
    if market is not None and venue_key is not None:
        (rep.verdict,) = verify_liquidation_proofs(
            [proof], market=market, venue_key=venue_key, threshold=threshold
        )
        if not rep.verdict.valid:
            rep.reason = f"the proof is about your statement but invalid: {rep.verdict.reason}"
            return rep
    else:
        rep.unchecked.append(
            "proof not verified: give --market (the snapshot at the liquidation) and --venue-key"
        )
    rep.valid = True
    return rep


__all__ = [
    "LIQUIDATION_CONTEXT",
    "BatchResult",
    "EquivocationVerdict",
    "LiquidationResult",
    "LiquidationVerdict",
    "LogReport",
    "NotBelow",
    "TraderCheck",
    "check_equivocation",
    "check_liquidation",
    "equivocation",
    "instruments_of",
    "liquidation_context",
    "prove_liquidation",
    "prove_liquidations",
    "read_log",
    "verify_liquidation_log",
    "verify_liquidation_proofs",
]
