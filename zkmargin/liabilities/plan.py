"""The plan of a publication: every leaf's position, slots, values and blindings, decided before
anything is proven, and a function of the venue key, the epoch and the inputs only.

* Accounts are taken in order of their ids, so the order of the accounts file does not matter.
* Positions: a permutation of the 2^h leaf slots drawn from the KDF (``positions`` stream),
  the accounts first, then the padding leaves.
* Padding leaf k has the id ``"\\x00padding\\x00k"`` (no real id holds a control character), the
  slot layout of a real account drawn from the KDF, and zero in every slot: its commitments,
  proof and liabilities look like any account's.
* Blindings: the statement KDF of :mod:`zkmargin.attest.statement` (so the leaf's commitments are
  the ones ``venue attest`` gives), slot j → γ_j, auxiliary value k → γ_{slots + k}.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..attest import statement as stm
from ..attest.keys import VenueKey
from ..circuit import proof as cproof
from ..circuit.compiler import SlotSpec
from ..circuit.slots import account_slots
from ..errors import ZkMarginError
from ..formats.common import FormatError, format_decimal
from ..formats.publication import PublicationHeader
from ..formats.statement import MAX_HEIGHT
from ..group import R
from ..margin.market import Market
from ..margin.scalar import CompiledAccount
from ..transcript import le
from . import leaf as lf
from .work import LeafTask

PADDING_PREFIX = "\x00padding\x00"


class CannotPublish(ZkMarginError):
    """The exchange's books do not support the publication (an account below maintenance,
    reserves short of the liabilities): nothing is written."""


def _stream(master: bytes, epoch: int, label: bytes) -> Iterator[int]:
    """An unbounded KDF stream, read 64 bytes at a time."""
    counter = 0
    while True:
        yield from hashlib.sha512(
            b"zkmargin-V01-kdf/" + label + master + le(epoch, 8) + le(counter, 8)
        ).digest()
        counter += 1


def _below(stream: Iterator[int], n: int) -> int:
    """Uniform in [0, n) by rejection from 8-byte draws."""
    limit = (1 << 64) - (1 << 64) % n
    while True:
        x = int.from_bytes(bytes(next(stream) for _ in range(8)), "little")
        if x < limit:
            return x % n


def derive_permutation(master: bytes, epoch: int, size: int) -> list[int]:
    """Fisher–Yates over [0, size) driven by the KDF's ``positions`` stream."""
    stream = _stream(master, epoch, b"positions")
    perm = list(range(size))
    for i in range(size - 1, 0, -1):
        j = _below(stream, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def tree_size(accounts: int, pad_to: int | None) -> int:
    """2^h leaves: ``pad_to`` (a power of two, at least the accounts) or the next power of two."""
    if pad_to is None:
        size = 2
        while size < accounts:
            size *= 2
    else:
        size = pad_to
        if size < 2 or size & (size - 1):
            raise FormatError(f"--pad-to {size} is not a power of two of at least 2")
        if size < accounts:
            raise FormatError(f"--pad-to {size} is below the {accounts} accounts")
    if size > 1 << MAX_HEIGHT:
        raise FormatError(f"a tree of more than 2^{MAX_HEIGHT} leaves is not supported")
    return size


@dataclass
class AccountPlan:
    """What the secrets file holds for one account."""

    account: str
    position: int
    openings: list[tuple[int, int]]
    aux_blindings: list[int]
    salt: bytes


@dataclass
class Plan:
    header: PublicationHeader
    market_text: bytes
    tasks: list[LeafTask]  # indexed by position
    accounts: list[AccountPlan]
    totals: list[tuple[int, int]]  # per column: Σ L_c and Σ blindings (mod r)
    reserves: list[int]
    digest: bytes
    nonce_key: bytes = field(repr=False, default=b"")
    min_ratio: tuple[int, int] = (1, 1)  # reserves ≥ num/den × liabilities, per column


def _leaf(
    market: Market,
    columns: lf.Columns,
    key: VenueKey,
    epoch: int,
    leaf_id: str,
    slot_specs: tuple[SlotSpec, ...],
    values: list[int],
) -> tuple[LeafTask, list[int], list[int], list[tuple[int, int]], bytes, list[str]]:
    inst = lf.leaf_instance(market, slot_specs)
    all_values = cproof.auxiliary_values(inst, values)
    failed = cproof.check_witness(inst, all_values)
    aux_values = [all_values[k] for k, _, _ in inst.aux]
    n = len(slot_specs)
    blindings = [stm.derive_blinding(key.master_secret, epoch, leaf_id, j) for j in range(n)]
    aux_blindings = [
        stm.derive_blinding(key.master_secret, epoch, leaf_id, n + k)
        for k in range(len(aux_values))
    ]
    salt = stm.derive_salt(key.master_secret, epoch, leaf_id)
    tag = stm.account_tag(leaf_id, salt)
    liabilities = lf.liability_openings(
        lf.liability_terms(inst, columns), values, blindings, aux_values, aux_blindings
    )
    task: LeafTask = (
        -1,
        tag,
        tuple((s.name, s.of, s.bits, s.signed) for s in slot_specs),
        tuple(values),
        tuple(blindings),
        tuple(aux_blindings),
    )
    return task, blindings, aux_blindings, liabilities, salt, failed


def make_plan(
    *,
    key: VenueKey,
    market: Market,
    market_text: bytes,
    market_digest: bytes,
    epoch: int,
    accounts: Sequence[CompiledAccount],
    reserves: Sequence[int],
    pad_to: int | None,
    decoys: int,
    file: str,
    min_ratio: tuple[int, int] = (1, 1),
) -> Plan:
    """Every leaf of the publication, checked: refuse (FormatError) an account the leaf circuit
    cannot take, and (CannotPublish) accounts below maintenance or reserves short of the
    liabilities, naming them."""
    columns = lf.liability_columns(market)
    by_id: dict[str, CompiledAccount] = {}
    for acc in accounts:
        if acc.id in by_id:
            raise FormatError(f"account {acc.id!r} appears twice", file=file)
        if acc.mode not in lf.leaf_circuit().modes:
            raise FormatError(
                f"account {acc.id!r} is in {acc.mode} mode; the liabilities tree takes "
                f"{', '.join(lf.leaf_circuit().modes)}-margin accounts",
                file=file,
            )
        by_id[acc.id] = acc
    if not by_id:
        raise FormatError("holds no account", file=file)
    size = tree_size(len(by_id), pad_to)
    height = size.bit_length() - 1
    perm = derive_permutation(key.master_secret, epoch, size)
    tasks: list[LeafTask | None] = [None] * size
    plans: list[AccountPlan] = []
    shapes: list[tuple[SlotSpec, ...]] = []
    totals = [(0, 0)] * len(columns)
    below: list[str] = []

    def add(task: LeafTask, position: int, liabilities: list[tuple[int, int]]) -> None:
        nonlocal totals
        tasks[position] = (position, *task[1:])
        totals = [(t + v, (b + g)) for (t, b), (v, g) in zip(totals, liabilities, strict=True)]

    for n, account_id in enumerate(sorted(by_id)):
        acc = by_id[account_id]
        seed = stm.derive_decoy_seed(key.master_secret, epoch, account_id)
        slots = account_slots(acc, market, decoys=decoys, decoy_seed=seed, file=file)
        specs = tuple(s.spec for s in slots)
        shapes.append(specs)
        task, blindings, aux_b, liabilities, salt, failed = _leaf(
            market, columns, key, epoch, account_id, specs, [s.value for s in slots]
        )
        if failed:
            below.append(account_id)
            continue
        add(task, perm[n], liabilities)
        plans.append(
            AccountPlan(
                account_id, perm[n], list(zip(task[3], blindings, strict=True)), aux_b, salt
            )
        )
    if below:
        shown = ", ".join(repr(a) for a in below[:5]) + (" …" if len(below) > 5 else "")
        raise CannotPublish(
            f"{len(below)} account(s) below maintenance: {shown}; their debts are not covered, "
            "so no leaf proof exists for them (liquidate them, or publish after the next mark)"
        )
    stream = _stream(key.master_secret, epoch, b"padding-shapes")
    for k in range(size - len(by_id)):
        pad_id = f"{PADDING_PREFIX}{k}"
        specs = shapes[_below(stream, len(shapes))]
        task, *_, liabilities, _salt, failed = _leaf(
            market, columns, key, epoch, pad_id, specs, [0] * len(specs)
        )
        if failed:
            raise FormatError(
                "an empty account fails the leaf circuit in this market ("
                + ", ".join(failed)
                + "): padding leaves cannot be proven"
            )
        add(task, perm[len(by_id) + k], liabilities)
    totals = [(t, b % R) for t, b in totals]
    if len(reserves) != len(columns):
        raise FormatError(f"{len(columns)} reserves needed, got {len(reserves)}")
    num, den = min_ratio
    times = "" if min_ratio == (1, 1) else f"{num}/{den} × "
    short = [
        f"{sym}: reserve {format_decimal(res, dec)} < {times}liabilities {format_decimal(t, dec)}"
        for sym, dec, res, (t, _) in zip(
            columns.symbols, columns.decimals, reserves, totals, strict=True
        )
        if den * res < num * t
    ]
    if short:
        raise CannotPublish("reserves fall short of the liabilities: " + "; ".join(short))
    header = PublicationHeader(
        venue=key.venue,
        venue_key=key.public_key.hex(),
        epoch=epoch,
        market_digest=market_digest.hex(),
        height=height,
        columns=list(columns.symbols),
        decimals=list(columns.decimals),
    )
    h = hashlib.sha256(b"zkmargin-V01-publication-plan")
    h.update(hashlib.sha256(b"zkmargin-V01-plan-key" + key.master_secret).digest())
    h.update(lf.leaf_circuit().digest + header.model_dump_json().encode() + b"\x00")
    h.update(market_text + b"\x00")
    h.update(",".join(map(str, reserves)).encode() + b"\x00")
    if min_ratio != (1, 1):  # the plan of ρ = 1 keeps its digest
        h.update(f"min-ratio {num}/{den}".encode() + b"\x00")
    done: list[LeafTask] = []
    for t in tasks:
        assert t is not None
        done.append(t)
        h.update(repr((t[0], t[1].hex(), t[2], t[3])).encode())
    return Plan(
        header,
        market_text,
        done,
        plans,
        totals,
        list(reserves),
        h.digest(),
        stm.derive_nonce_key(key.master_secret, epoch),
        min_ratio,
    )
