"""The tasks a publication is split into, as module-level functions a worker process or a Dask
worker can run: prove a batch of leaves, build a subtree's nodes, check a batch of leaves.
Arguments and results are plain data (ints, strings, bytes); each task sets the curve backend
it is given and compiles the market snapshot once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from .. import group
from ..attest import statement as stm
from ..circuit import proof as cproof
from ..circuit.compiler import SlotSpec
from ..circuit.slots import SlotValue
from ..errors import DecodeError, ProvingError, ZkMarginError
from ..formats.common import FormatError
from ..formats.jsonfile import model_from_json, parse_json
from ..formats.publication import PublicationHeader
from ..formats.statement import AccountStatement
from ..margin.market import Market, compile_market, snapshot_from_json
from ..transcript import derived_rng
from . import leaf as lf
from .store import LeafRow, NodeRow
from .tree import Node, build_levels

#: (position, tag, margin mode, slot specs (name, of, bits, signed), values, blindings,
#: aux blindings)
LeafTask = tuple[
    int,
    bytes,
    str,
    tuple[tuple[str, str, int, bool], ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
]


@functools.lru_cache(maxsize=4)
def load_market(text: bytes) -> Market:
    """The compiled market of a stored snapshot (cached per process)."""
    return compile_market(snapshot_from_json(parse_json(text, "market"), "market"), "market")


@functools.lru_cache(maxsize=4)
def _header(text: str) -> PublicationHeader:
    return PublicationHeader.model_validate_json(text)


def _use(backend: str) -> None:
    if group.backend().name != backend:
        group.set_backend(backend)


def prove_leaves(
    backend: str, market_text: bytes, header_json: str, nonce_key: bytes, tasks: Sequence[LeafTask]
) -> list[LeafRow]:
    """Commit, prove and hash each leaf of the batch.

    Nonces are derived from ``nonce_key`` and everything proven (instance, statement, witness),
    so the same leaf always gives the same bytes."""
    _use(backend)
    market = load_market(market_text)
    header = _header(header_json)
    columns = lf.liability_columns(market)
    out: list[LeafRow] = []
    for position, tag, mode, specs, values, blindings, aux_blindings in tasks:
        slot_specs = tuple(SlotSpec(*s) for s in specs)
        slots = [SlotValue(s, v) for s, v in zip(slot_specs, values, strict=True)]
        st = stm.build_statement(
            venue=header.venue,
            epoch=header.epoch,
            market_digest=bytes.fromhex(header.market_digest),
            tag=tag,
            mode=mode,
            slots=slots,
            blindings=blindings,
            venue_key=bytes.fromhex(header.venue_key),
        )
        inst = lf.leaf_instance(market, mode, slot_specs)
        ctx = lf.leaf_context(st, market.accounting)
        witness = b"".join(group.encode_scalar(x) for x in (*values, *blindings, *aux_blindings))
        rng = derived_rng(nonce_key, cproof.instance_digest(inst), ctx, witness)
        try:
            proof = cproof.prove(inst, values, blindings, ctx, rng=rng, aux_blindings=aux_blindings)
        except ProvingError as exc:
            raise ProvingError(f"leaf {position}: {exc}") from None
        points = stm.statement_points(st)
        sums = lf.encode_sums(
            lf.liability_points(lf.liability_terms(inst, columns), points, proof.aux)
        )
        data = proof.to_bytes()
        out.append((position, lf.statement_bytes(st), data, sums, lf.leaf_hash(st, data, sums)))
    return out


def subtree_nodes(
    backend: str, columns: int, first: int, rows: Sequence[tuple[bytes, bytes]], levels: int
) -> list[NodeRow]:
    """The nodes of levels 1..``levels`` above the leaves ``first`` … ``first + len(rows) − 1``
    (stored sums and hashes)."""
    _use(backend)
    nodes = [Node.decode(s, h, columns) for s, h in rows]
    out: list[NodeRow] = []
    for level, layer in enumerate(build_levels(nodes, levels), start=1):
        base = first >> level
        out += [(level, base + i, n.sums_bytes(), n.hash) for i, n in enumerate(layer)]
    return out


@dataclass(frozen=True)
class LeafVerdict:
    """What the audit of a batch found: the bad leaves (position, reason) and every tag."""

    bad: list[tuple[int, str]]
    tags: list[tuple[int, bytes]]


def _prepare_leaf(
    row: LeafRow, market: Market, header: PublicationHeader, columns: lf.Columns
) -> tuple[cproof.BatchParts, bytes]:
    position, st_bytes, proof_bytes, sums, leaf_hash = row
    where = f"leaf {position}"
    try:
        st = model_from_json(parse_json(st_bytes, where), AccountStatement, where)
    except ZkMarginError as exc:
        raise DecodeError(f"unreadable statement: {exc}") from None
    why = lf.check_leaf_statement(st, header, market.accounting)
    if why:
        raise DecodeError(why)
    if lf.statement_bytes(st) != bytes(st_bytes):
        raise DecodeError("its statement is not stored in canonical form")
    specs = tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in st.slots)
    inst = lf.leaf_instance(market, st.mode, specs)
    points = stm.statement_points(st)
    proof = cproof.CircuitProof.from_bytes(proof_bytes, inst)
    derived = lf.encode_sums(
        lf.liability_points(lf.liability_terms(inst, columns), points, proof.aux)
    )
    if derived != sums:
        raise DecodeError("its stored liabilities are not those its statement and proof give")
    if lf.leaf_hash(st, proof_bytes, sums) != leaf_hash:
        raise DecodeError("its hash is not the hash of its statement, proof and liabilities")
    parts = cproof.batch_parts(inst, points, proof, lf.leaf_context(st, market.accounting))
    if any(group.is_identity(d) for d in parts[0][1]):
        raise DecodeError("a derived commitment is the identity")
    return parts, bytes.fromhex(st.account_tag)


def _parts_ok(parts: Sequence[cproof.BatchParts]) -> bool:
    return cproof.batch_verify(parts)


def check_leaves(
    backend: str, market_text: bytes, header_json: str, rows: Sequence[LeafRow]
) -> LeafVerdict:
    """Check every leaf of the batch: its statement belongs to this publication, its stored
    liabilities and hash are recomputed, and its proof verifies (all proofs batch-verified
    together; one by one only to name a bad one)."""
    _use(backend)
    market = load_market(market_text)
    header = _header(header_json)
    try:
        columns = lf.liability_columns(market)
    except FormatError as exc:
        return LeafVerdict([(row[0], str(exc)) for row in rows], [])
    bad: list[tuple[int, str]] = []
    if list(columns.symbols) != header.columns or list(columns.decimals) != header.decimals:
        return LeafVerdict(
            [(row[0], "the header's columns are not the market's") for row in rows], []
        )
    tags: list[tuple[int, bytes]] = []
    ready: list[tuple[int, cproof.BatchParts]] = []
    for row in rows:
        try:
            parts, tag = _prepare_leaf(row, market, header, columns)
        except (DecodeError, ZkMarginError, ValueError) as exc:
            bad.append((row[0], str(exc)))
            continue
        tags.append((row[0], tag))
        ready.append((row[0], parts))
    if ready and not _parts_ok([p for _, p in ready]):
        for position, parts in ready:
            if not _parts_ok([parts]):
                bad.append((position, "its proof does not verify"))
    bad.sort()
    return LeafVerdict(bad, tags)
