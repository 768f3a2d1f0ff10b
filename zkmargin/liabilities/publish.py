"""Build a publication from a plan: secrets first, then the leaves (in parallel batches), the
nodes (in parallel subtrees), the signed root and the reserves proof, each stored as it finishes;
then the final file. A run stopped at any moment resumes where it stopped and ends with the same
bytes (see :mod:`.store`).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import group
from ..attest.keys import VenueKey
from ..fileio import OutputError
from ..formats.common import FormatError
from ..formats.publication import AccountSecret, SecretsHeader
from ..formats.statement import LiabilitiesTree, SignedRoot, SlotOpening, VenueEpoch
from ..pedersen import commit
from ..transcript import derived_rng
from . import reserves as rsv
from . import vault
from .parallel import Runner
from .plan import Plan
from .root import root_message, sign_root, verify_root
from .store import Publication, work_path
from .tree import Node, build_levels, subtree_height
from .work import prove_leaves, subtree_nodes

#: progress(phase, done, total)
Progress = Callable[[str, int, int], None]


@dataclass
class PublishResult:
    out: Path
    secrets: Path
    accounts: int
    leaves: int
    height: int
    columns: list[str]
    resumed: bool
    where: str
    seconds: dict[str, float] = field(default_factory=dict)
    #: accounts published written off (bankrupt: their debts left out of the totals)
    bankrupt: int = 0
    #: the least number of accounts sharing one slot layout (k-anonymity by layout)
    min_share: int = 0
    #: the output was already this plan's finished publication: nothing was done
    complete: bool = False
    #: the minimum reserve ratio proven (num, den)
    min_ratio: tuple[int, int] = (1, 1)
    #: where the cash shares an asset's column, the sentence that says so (else empty)
    cash_note: str = ""


def _fields(model: type[VenueEpoch]) -> set[str]:
    """The fields ``model`` shares with every file of a publication (``format`` aside)."""
    return set(model.model_fields) - {"format"}


def _secrets(plan: Plan, path: Path) -> None:
    """Write the secrets file, or check that the one at ``path`` is this plan's."""
    header = SecretsHeader(
        **plan.header.model_dump(include=_fields(VenueEpoch)), plan=plan.digest.hex()
    )
    if path.exists():
        found = vault.read_header(path)
        if not found.same_epoch(header):
            raise OutputError(
                f"{path}: holds the secrets of another publication (epoch {found.epoch}, venue "
                f"key {str(found.venue_key)[:16]}…); refusing to overwrite it"
            )
        if str(found.plan) != str(header.plan):
            raise OutputError(
                f"{path}: holds the secrets of epoch {found.epoch} made from other inputs "
                "(accounts, market, reserves or padding); refusing to overwrite it"
            )
        return
    rows = []
    for a in plan.accounts:
        doc = AccountSecret(
            account=a.account,
            position=a.position,
            salt=a.salt.hex(),
            openings=[SlotOpening(value=str(v), blinding=f"{g:064x}") for v, g in a.openings],
            aux_blindings=[f"{g:064x}" for g in a.aux_blindings],
            written_off=a.written_off,
        )
        rows.append((a.account, doc))
    vault.write_secrets(path, header, rows)


def _not_another(plan: Plan, out: Path) -> None:
    """Refuse (before anything is written) an ``out`` that is another file: a finished
    publication of another venue, epoch, market or tree, or no publication at all. One of this
    plan's header (a damaged or interrupted one) is rebuilt."""
    if not out.exists() or work_path(out).exists():
        return
    try:
        with Publication.open(out) as pub:
            header = pub.header()
    except (FormatError, OutputError, OSError, sqlite3.DatabaseError):
        raise OutputError(
            f"{out}: exists and is not a publication; choose another --out or remove it"
        ) from None
    if header == plan.header:
        return
    names = {
        "venue": "venue",
        "venue_key": "venue key",
        "epoch": "epoch",
        "market_digest": "market snapshot",
        "height": "tree height",
        "columns": "columns",
        "decimals": "column decimals",
    }
    differ = [what for f, what in names.items() if getattr(header, f) != getattr(plan.header, f)]
    raise OutputError(
        f"{out}: holds another publication (venue {header.venue}, epoch {header.epoch}) whose "
        f"{', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} from this one's "
        "(other inputs); choose another --out or remove it"
    )


def already_complete(plan: Plan, out: Path, secrets_out: Path) -> bool:
    """Whether ``out`` is already the finished publication of ``plan``: no partial beside it,
    the secrets file made from the same plan (its digest), and the output holding this plan's
    header and market, every leaf, the root node, and a root whose totals are the plan's and
    whose signature holds, with a reserves proof. No proof is checked again: that is the
    audit's work (``exchange verify``)."""
    if not out.is_file() or work_path(out).exists() or not secrets_out.is_file():
        return False
    try:
        if str(vault.read_header(secrets_out).plan) != plan.digest.hex():
            return False
        with Publication.open(out) as pub:
            if pub.header() != plan.header or pub.market_text() != plan.market_text:
                return False
            height = plan.header.height
            if len(pub.leaf_positions()) != 1 << height:
                return False
            top = pub.nodes(height)
            root = pub.root()
            pub.reserves()
    except (FormatError, OutputError, OSError):
        return False
    totals = [group.encode_point(commit(v, g)).hex() for v, g in plan.totals]
    same = plan.header.model_dump(include=_fields(LiabilitiesTree))
    return (
        len(top) == 1
        and top[0][3].hex() == root.root_hash
        and root.model_dump(include=set(same)) == same
        and root.totals == totals
        and verify_root(root)
    )


def reserves_proof(
    nonce_key: bytes,
    root: SignedRoot,
    totals: list[group.Point],
    openings: list[tuple[int, int]],
    reserves: list[int],
    *,
    min_ratio: tuple[int, int] = (1, 1),
    reveal: list[str] | None = None,
) -> rsv.AnyReserveProof:
    """The reserves proof of a signed root at the ratio ρ = ``min_ratio`` (opening the totals of
    the columns ``reveal`` names). Its nonces derive from the nonce key and everything proven:
    the root, ρ, every reserve and what is revealed (instance), and the totals' openings (the
    whole witness), so two proofs that differ in anything share no nonce."""
    message = root_message(root)
    instance = message + repr((reserves, min_ratio, reveal)).encode()
    witness = repr((openings, reserves)).encode()
    rng = derived_rng(nonce_key, b"reserves", instance, witness)
    return rsv.prove_reserves(
        totals, openings, reserves, root.height, message, rng, min_ratio, reveal=reveal
    )


def _batches(positions: list[int], size: int) -> list[list[int]]:
    return [positions[i : i + size] for i in range(0, len(positions), size)]


def publish(
    plan: Plan,
    key: VenueKey,
    *,
    out: Path,
    secrets_out: Path,
    runner: Runner,
    progress: Progress | None = None,
    batch: int | None = None,
    reveal_totals: bool = False,
) -> PublishResult:
    """Build (or resume) the publication of ``plan`` at ``out``; see the module docstring.
    ``reveal_totals`` opens every column's total in the reserves proof."""
    seconds: dict[str, float] = {}
    report = progress or (lambda *_: None)
    if out.resolve() == secrets_out.resolve():
        raise FormatError("the publication and its secrets need two different paths")
    for path in (out, secrets_out):  # checked before the secrets are written: nothing half-done
        if not path.parent.is_dir():
            raise OutputError(f"{path}: the folder {path.parent} does not exist")
    if already_complete(plan, out, secrets_out):
        size = 1 << plan.header.height
        return PublishResult(
            out,
            secrets_out,
            len(plan.accounts),
            size,
            plan.header.height,
            list(plan.header.columns),
            resumed=False,
            where=runner.where,
            complete=True,
        )
    _not_another(plan, out)
    t0 = time.perf_counter()
    _secrets(plan, secrets_out)
    seconds["secrets"] = time.perf_counter() - t0
    backend = group.backend().name
    header_json = plan.header.model_dump_json()
    columns = len(plan.header.columns)
    height = plan.header.height
    size = 1 << height
    pub, resumed = Publication.open_work(out, plan.digest)
    try:
        if not resumed or not pub.has("header"):
            pub.put_one("market", plan.market_text)
            pub.put_one("header", header_json)

        # Leaves: batches of positions, in position order, skipping finished ones.
        t0 = time.perf_counter()
        done = pub.leaf_positions()
        todo = [p for p in range(size) if p not in done]
        per = batch or max(1, min(16, math.ceil(len(todo) / (4 * runner.workers)) or 1))
        tasks = [
            (backend, plan.market_text, header_json, plan.nonce_key, [plan.tasks[p] for p in b])
            for b in _batches(todo, per)
        ]
        count = len(done)
        report("leaves", count, size)
        for rows in runner.run(prove_leaves, tasks):
            pub.put_leaves(rows)
            count += len(rows)
            report("leaves", count, size)
        seconds["leaves"] = time.perf_counter() - t0

        # Nodes: subtrees of 2^k leaves (one per task), then the top levels here.
        t0 = time.perf_counter()
        k = subtree_height(height, runner.workers)
        split = height - k
        node_tasks = [
            (backend, columns, j << k, pub.leaf_sums(j << k, (j + 1) << k), k)
            for j in range(1 << split)
            if not pub.has_node(k, j)
        ]
        finished = (1 << split) - len(node_tasks)
        report("nodes", finished, 1 << split)
        for nodes in runner.run(subtree_nodes, node_tasks):
            pub.put_nodes(nodes)
            finished += 1
            report("nodes", finished, 1 << split)
        if not pub.has_node(height, 0):
            tops = [Node.decode(r[2], r[3], columns) for r in pub.nodes(k)]
            rows2 = []
            for level, layer in enumerate(build_levels(tops, split), start=k + 1):
                rows2 += [(level, i, n.sums_bytes(), n.hash) for i, n in enumerate(layer)]
            pub.put_nodes(rows2)
        seconds["nodes"] = time.perf_counter() - t0

        # Root: the totals must open to the plan's sums (a check against a damaged work file).
        t0 = time.perf_counter()
        ((_, _, sums, root_hash),) = pub.nodes(height)
        totals = Node.decode(sums, root_hash, columns).sums
        for c, (t, (v, g)) in enumerate(zip(totals, plan.totals, strict=True)):
            if commit(v, g) != t:
                raise OutputError(
                    f"{pub.path}: column {plan.header.columns[c]}'s total is not the plan's "
                    "(a damaged partial publication); remove it to start over"
                )
        unsigned = SignedRoot(
            **plan.header.model_dump(include=_fields(LiabilitiesTree)),
            totals=[group.encode_point(t).hex() for t in totals],
            root_hash=root_hash.hex(),
            signature="00" * 96,
        )
        root = sign_root(unsigned, key.secret_key)
        pub.put_one("root", root.model_dump_json())
        seconds["root"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        reveal = list(plan.header.columns) if reveal_totals else None
        proof = reserves_proof(
            plan.nonce_key,
            root,
            list(totals),
            plan.totals,
            plan.reserves,
            min_ratio=plan.min_ratio,
            reveal=reveal,
        )
        pub.put_one("reserves", proof.model_dump_json())
        seconds["reserves"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        pub.finalize(out)
        seconds["finalize"] = time.perf_counter() - t0
    finally:
        pub.close()
    return PublishResult(
        out,
        secrets_out,
        len(plan.accounts),
        size,
        height,
        list(plan.header.columns),
        resumed,
        runner.where,
        seconds,
        plan.bankrupt,
        plan.min_share,
    )
