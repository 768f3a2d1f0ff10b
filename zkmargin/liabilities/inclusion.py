"""Inclusion: a user's leaf and its path of siblings up to the signed root.

An :class:`InclusionAttestation` (position, leaf proof, path, signed root) makes a statement
attested: the venue signed a root that the statement's leaf reaches, and the leaf proof
range-proves every slot of the statement, so a margin proof may rely on the slots' bounds. The
user's :class:`InclusionFile` adds the openings, so that they can see what was committed for them.

Checks of an attestation, in order (:func:`check_attestation`):

1. the root names the statement's venue, venue key, epoch and market, and is signed by that key
   (the caller decides whether that key is the venue's: it must be given, or be the
   publication's);
2. the statement is a leaf statement (unsigned, the leaf circuit's mode) and the market gives
   the root's columns;
3. the leaf proof verifies over the statement (every slot range-proven, every debt covered);
4. the liabilities are derived from the statement and the proof, the leaf hashed, and the path
   climbed: each parent's sums are its children's sums, its hash binds both children's sums and
   hashes; the top must be the root's totals and root hash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import group
from ..attest import statement as stm
from ..circuit import proof as cproof
from ..circuit.compiler import SlotSpec
from ..errors import DecodeError
from ..fileio import safe_stem
from ..formats.common import FormatError
from ..formats.jsonfile import parse_json, write_model
from ..formats.market import MarketSnapshot, market_digest
from ..formats.publication import ColumnOpening, InclusionFile
from ..formats.statement import (
    AccountOpenings,
    AccountStatement,
    InclusionAttestation,
    PathStep,
    SignedRoot,
    SlotOpening,
)
from ..margin.market import Market, compile_market, snapshot_from_json
from ..pedersen import commit
from . import leaf as lf
from . import vault
from .root import signature_item
from .store import Publication
from .tree import Node, root_from_path, sibling_index


class NotIncluded(Exception):
    """The attestation does not place the statement under the signed root (the reason)."""


@dataclass
class CheckedAttestation:
    """What a checked attestation gives a verifier to batch: the leaf proof's items, the root's
    signature item, and the leaf's liabilities commitments."""

    parts: tuple[Any, Any]
    signature: tuple[bytes, bytes, bytes]
    liabilities: list[group.Point]


def check_attestation(
    st: AccountStatement,
    att: InclusionAttestation,
    market: Market,
    snapshot: MarketSnapshot,
    venue_key: bytes | None,
) -> CheckedAttestation:
    """Checks 1–4 of the module docstring except the root's signature and the leaf proof's
    final check, returned as batchable items; raise :class:`NotIncluded` naming the failure."""
    root = att.root
    if venue_key is not None and bytes.fromhex(root.venue_key) != venue_key:
        raise NotIncluded("the root is signed by another venue key")
    if root.market_digest != market_digest(snapshot).hex():
        raise NotIncluded("the root was made for another market snapshot")
    why = lf.check_leaf_statement(st, root, market.accounting)
    if why:
        raise NotIncluded(why)
    try:
        columns = lf.liability_columns(market)
    except FormatError as exc:
        raise NotIncluded(f"the market has no liabilities columns: {exc}") from None
    if list(columns.symbols) != list(root.columns):
        raise NotIncluded("the root's columns are not the market's")
    if len(att.path) != root.height or att.position >= 1 << root.height:
        raise NotIncluded("the path does not have the root's height")
    specs = tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in st.slots)
    try:
        inst = lf.leaf_instance(market, st.mode, specs)
        points = stm.statement_points(st)
        proof = cproof.CircuitProof.from_bytes(bytes.fromhex(att.leaf_proof), inst)
        parts = cproof.batch_parts(inst, points, proof, lf.leaf_context(st, market.accounting))
        liabilities = lf.liability_points(lf.liability_terms(inst, columns), points, proof.aux)
        siblings = [
            Node.decode(
                b"".join(bytes.fromhex(h) for h in step.sums),
                bytes.fromhex(step.hash),
                len(columns),
            )
            for step in att.path
        ]
        totals = lf.decode_sums(b"".join(bytes.fromhex(h) for h in root.totals), len(columns))
    except FormatError as exc:
        raise NotIncluded(str(exc)) from None
    except (DecodeError, ValueError) as exc:
        raise NotIncluded(f"malformed attestation: {exc}") from None
    if any(group.is_identity(d) for d in parts[0][1]):
        raise NotIncluded("the leaf proof does not verify")
    sums = lf.encode_sums(liabilities)
    leaf = Node(tuple(liabilities), lf.leaf_hash(st, bytes.fromhex(att.leaf_proof), sums))
    top = root_from_path(leaf, att.position, siblings)
    if top.hash.hex() != root.root_hash or list(top.sums) != totals:
        raise NotIncluded("the path does not lead to the signed root")
    return CheckedAttestation(parts, signature_item(root), liabilities)


def attestation_of(
    pub: Publication, position: int
) -> tuple[AccountStatement, InclusionAttestation]:
    """The leaf at ``position`` and its attestation, read from a publication."""
    header = pub.header()
    _, st_bytes, proof, _, _ = pub.leaf(position)
    st = AccountStatement.model_validate_json(st_bytes)
    path = []
    for level in range(header.height):
        idx = sibling_index(position, level)
        if level == 0:
            _, _, _, sums, hash_ = pub.leaf(idx)
        else:
            rows = pub.nodes(level, idx, idx + 1)
            if not rows:
                raise DecodeError(f"the publication has no node {level}/{idx}")
            _, _, sums, hash_ = rows[0]
        n = len(header.columns)
        path.append(
            PathStep(
                sums=[sums[i * 48 : (i + 1) * 48].hex() for i in range(n)],
                hash=hash_.hex(),
            )
        )
    root = pub.root()
    att = InclusionAttestation(position=position, leaf_proof=proof.hex(), path=path, root=root)
    return st, att


def liability_openings_of(
    market: Market,
    st: AccountStatement,
    values: list[int],
    blindings: list[int],
    aux_blindings: list[int],
) -> list[ColumnOpening]:
    """The openings of a leaf's liabilities, from its slot openings and auxiliary blindings."""
    specs = tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in st.slots)
    inst = lf.leaf_instance(market, st.mode, specs)
    all_values = cproof.auxiliary_values(inst, values)
    aux_values = [all_values[k] for k, _, _ in inst.aux]
    columns = lf.liability_columns(market)
    openings = lf.liability_openings(
        lf.liability_terms(inst, columns), values, blindings, aux_values, aux_blindings
    )
    return [
        ColumnOpening(column=sym, value=str(v), blinding=f"{g:064x}")
        for sym, (v, g) in zip(columns.symbols, openings, strict=True)
    ]


def make_inclusion_file(
    pub: Publication,
    market: Market,
    snapshot: MarketSnapshot,
    account: str,
    position: int,
    salt: bytes,
    openings: list[SlotOpening],
    aux_blindings: list[int],
    written_off: bool = False,
) -> InclusionFile:
    """The user's file: statement, openings (checked), liabilities openings, attestation (and
    whether the account was published written off)."""
    st, att = attestation_of(pub, position)
    if st.account_tag != stm.account_tag(account, salt).hex():
        raise DecodeError(f"the leaf at position {position} is not account {json.dumps(account)}'s")
    doc = AccountOpenings(
        account=account,
        epoch=st.epoch,
        salt=salt.hex(),
        statement_digest=stm.statement_digest(st).hex(),
        openings=openings,
    )
    values, blindings = stm.check_openings(st, doc)
    liabilities = liability_openings_of(market, st, values, blindings, aux_blindings)
    return InclusionFile(
        market=snapshot,
        statement=st,
        openings=doc,
        liabilities=liabilities,
        attestation=att,
        written_off=written_off,
    )


def check_liability_openings(
    doc: InclusionFile, liabilities: list[group.Point]
) -> list[tuple[str, int]]:
    """Each column's committed liability, checked to open the leaf's derived commitment."""
    if [c.column for c in doc.liabilities] != list(doc.attestation.root.columns):
        raise NotIncluded("the liabilities' columns are not the root's")
    out = []
    for c, point in zip(doc.liabilities, liabilities, strict=True):
        v, g = int(c.value), int(c.blinding, 16)
        if g >= group.R or commit(v, g) != point:
            raise NotIncluded(f"the opening of your {c.column} liability does not open it")
        out.append((c.column, v))
    return out


__all__ = [
    "CheckedAttestation",
    "NotIncluded",
    "SignedRoot",
    "attestation_of",
    "check_attestation",
    "check_liability_openings",
    "make_inclusion_file",
]


def inclusion_file_of(pub: Publication, secrets: Path, account: str) -> InclusionFile:
    """``account``'s inclusion file, from the publication and its secrets; raise
    :class:`FormatError` naming the secrets when they belong to another publication."""
    header = pub.header()
    found = vault.read_header(secrets)
    if not found.same_epoch(header):
        raise FormatError("belongs to another publication", file=str(secrets))
    secret = vault.account_secret(secrets, account)
    if secret.position >= 1 << header.height:
        raise FormatError(
            f"belongs to another publication: it puts account {json.dumps(account)} at leaf "
            f"{secret.position}, beyond this tree of {1 << header.height} leaves",
            file=str(secrets),
        )
    snap = snapshot_from_json(parse_json(pub.market_text(), str(pub.path)))
    mk = compile_market(snap, str(pub.path))
    try:
        return make_inclusion_file(
            pub,
            mk,
            snap,
            account,
            secret.position,
            bytes.fromhex(secret.salt),
            secret.openings,
            [int(g, 16) for g in secret.aux_blindings],
            secret.written_off,
        )
    except DecodeError as exc:
        raise FormatError(
            f"belongs to another publication of venue {json.dumps(header.venue)} and epoch "
            f"{header.epoch}: {exc}",
            file=str(secrets),
        ) from None


def inclusion_path(out_dir: Path, account: str) -> Path:
    """Where ``exchange inclusion --all`` writes an account's file."""
    return out_dir / f"{safe_stem(account)}.inclusion.json"


def write_inclusion_files(
    backend: str, publication: str, secrets: str, accounts: Sequence[str], out_dir: str
) -> list[str]:
    """A worker's task: write the inclusion file of each account (owner-only, atomically) into
    ``out_dir``; return the accounts done."""
    if group.backend().name != backend:
        group.set_backend(backend)
    with Publication.open(publication) as pub:
        for account in accounts:
            doc = inclusion_file_of(pub, Path(secrets), account)
            write_model(inclusion_path(Path(out_dir), account), doc, secret=True)
    return list(accounts)
