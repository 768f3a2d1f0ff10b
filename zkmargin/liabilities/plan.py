"""The plan of a publication: every leaf's position, slots, values and blindings, decided before
anything is proven, and a function of the venue key, the epoch and the inputs only.

* Accounts are taken in order of their ids, so the order of the accounts file does not matter.
* Positions: a permutation of the 2^h leaf slots drawn from the KDF (``positions`` stream),
  the accounts first, then the padding leaves.
* Padding leaf k has the id ``"\\x00padding\\x00k"`` (no real id holds a control character), the
  slot layout of a real account drawn from the KDF, and zero in every slot: its commitments,
  proof and liabilities look like any account's.
* Blindings: the statement KDF of :mod:`zkmargin.attest.statement`, bound to the leaf's whole
  content (so the leaf's commitments are the ones ``venue attest`` gives for the same content,
  and two different contents of one account and epoch share no blinding); the leaf proof's
  auxiliary values take the KDF's "aux" label, bound to the content, the leaf circuit and the
  market snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..attest import statement as stm
from ..attest.keys import VenueKey
from ..circuit import proof as cproof
from ..circuit.compiler import SlotSpec, load_circuit
from ..circuit.params import mark_terms
from ..circuit.slots import SlotValue, account_slots, committed_quote
from ..errors import ZkMarginError
from ..formats.common import FormatError, format_decimal
from ..formats.publication import PublicationHeader
from ..formats.statement import MAX_HEIGHT
from ..group import R
from ..margin.market import Market
from ..margin.scalar import CompiledAccount
from ..transcript import le
from . import leaf as lf
from .layouts import LAYOUT_POLICIES, MIN_SHARE, Layout, own_layout, shared_layouts, smallest_share
from .reserves import ratio_text
from .work import LeafTask

PADDING_PREFIX = "\x00padding\x00"


class CannotPublish(ZkMarginError):
    """The exchange's books do not support the publication (reserves short of the
    liabilities): nothing is written."""


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
    #: published written off (its debts were not covered by its own holdings)
    written_off: bool = False


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
    #: accounts published written off (bankrupt); the least number of accounts sharing a layout
    bankrupt: int = 0
    min_share: int = 0
    min_ratio: tuple[int, int] = (1, 1)  # reserves ≥ num/den × liabilities, per column


def _leaf(
    market: Market,
    market_digest: bytes,
    columns: lf.Columns,
    key: VenueKey,
    epoch: int,
    leaf_id: str,
    mode: str,
    slots: Sequence[SlotValue],
) -> tuple[LeafTask, list[int], list[int], list[tuple[int, int]], bytes, list[str]]:
    slot_specs = tuple(s.spec for s in slots)
    values = [s.value for s in slots]
    inst = lf.leaf_instance(market, mode, slot_specs)
    all_values = cproof.auxiliary_values(inst, values)
    failed = cproof.check_witness(inst, all_values)
    aux_values = [all_values[k] for k, _, _ in inst.aux]
    master = key.master_secret
    blindings = stm.slot_blindings(master, epoch, leaf_id, mode, slots)
    aux_blindings = stm.aux_blindings(
        master,
        epoch,
        leaf_id,
        stm.content_digest(leaf_id, mode, slots),
        lf.leaf_circuit(mode, market.accounting).digest,
        market_digest,
        len(aux_values),
    )
    salt = stm.derive_salt(key.master_secret, epoch, leaf_id)
    tag = stm.account_tag(leaf_id, salt)
    liabilities = lf.liability_openings(
        lf.liability_terms(inst, columns), values, blindings, aux_values, aux_blindings
    )
    task: LeafTask = (
        -1,
        tag,
        mode,
        tuple((s.name, s.of, s.bits, s.signed) for s in slot_specs),
        tuple(values),
        tuple(blindings),
        tuple(aux_blindings),
    )
    return task, blindings, aux_blindings, liabilities, salt, failed


def write_off(account: CompiledAccount, market: Market) -> CompiledAccount:
    """A bankrupt account as its leaf holds it: every debt left out (negative balances and cash
    set to zero, positions worth less than nothing at mark removed), every holding kept. Its
    liabilities are then at least what the exchange owes it in every column, and its debts,
    none left, are covered: the exchange never nets a debt it cannot collect."""
    kept = []
    for pos in account.positions:
        inst = market.instruments[pos.instrument]
        mark, quote_unit, _ = mark_terms(inst, market)
        value = quote_unit * committed_quote(pos, market) + mark * pos.size
        if account.mode == "isolated":
            value += pos.isolated_margin
        if value >= 0:
            kept.append(pos)
    return CompiledAccount(
        account.id,
        account.mode,
        max(account.cash, 0),
        tuple(max(b, 0) for b in account.balances),
        tuple(kept),
    )


def _layouts(
    accounts: Sequence[CompiledAccount], market: Market, policy: str, min_share: int
) -> dict[str, Layout]:
    if policy == "shared":
        return shared_layouts(accounts, market, min_share)
    if policy == "own":
        return {a.id: own_layout(a, market) for a in accounts}
    raise FormatError(f"unknown layout policy {policy!r}; choose {', '.join(LAYOUT_POLICIES)}")


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
    layout: str = "shared",
    min_share: int = MIN_SHARE,
    min_ratio: tuple[int, int] = (1, 1),
) -> Plan:
    """Every leaf of the publication, checked: refuse (FormatError) an account no leaf circuit
    can take, and (CannotPublish) reserves short of the liabilities. An account whose debts are
    not covered by its own holdings (bankrupt: haircut equity at mark below zero) is published
    written off (:func:`write_off`) and counted, never named."""
    columns = lf.liability_columns(market)
    by_id: dict[str, CompiledAccount] = {}
    for acc in accounts:
        if acc.id in by_id:
            raise FormatError(f"account {acc.id!r} appears twice", file=file)
        if (market.accounting, acc.mode) not in lf.LEAF_CIRCUITS:
            under = "" if market.accounting == "standard" else f" under {market.accounting}"
            raise FormatError(
                f"account {acc.id!r} is in {acc.mode} mode, which no liabilities leaf takes"
                + under,
                file=file,
            )
        by_id[acc.id] = acc
    if not by_id:
        raise FormatError("holds no account", file=file)
    if decoys and layout != "own":
        raise FormatError(
            "--decoys applies to --layout own; shared layouts already hide what each account "
            "holds among at least --min-share accounts"
        )
    layouts = _layouts(list(by_id.values()), market, layout, min_share)
    size = tree_size(len(by_id), pad_to)
    height = size.bit_length() - 1
    perm = derive_permutation(key.master_secret, epoch, size)
    tasks: list[LeafTask | None] = [None] * size
    plans: list[AccountPlan] = []
    shapes: list[tuple[str, tuple[SlotSpec, ...]]] = []
    totals = [(0, 0)] * len(columns)
    bankrupt = 0

    def add(task: LeafTask, position: int, liabilities: list[tuple[int, int]]) -> None:
        nonlocal totals
        tasks[position] = (position, *task[1:])
        totals = [(t + v, (b + g)) for (t, b), (v, g) in zip(totals, liabilities, strict=True)]

    def slots_of(acc: CompiledAccount) -> list[SlotValue]:
        if layout == "own":
            seed = stm.derive_decoy_seed(key.master_secret, epoch, acc.id)
            return account_slots(acc, market, decoys=decoys, decoy_seed=seed, file=file)
        lay = layouts[acc.id]
        return account_slots(acc, market, layout=(lay.assets, lay.instruments), file=file)

    for n, account_id in enumerate(sorted(by_id)):
        acc = by_id[account_id]
        slots = slots_of(acc)
        leaf = _leaf(market, market_digest, columns, key, epoch, account_id, acc.mode, slots)
        written_off = bool(leaf[-1])
        if written_off:
            bankrupt += 1
            slots = slots_of(write_off(acc, market))
            leaf = _leaf(market, market_digest, columns, key, epoch, account_id, acc.mode, slots)
            if leaf[-1]:
                raise FormatError(
                    f"account {account_id!r}: even written off, its leaf fails "
                    + ", ".join(leaf[-1])
                )
        task, blindings, aux_b, liabilities, salt, _ = leaf
        shapes.append((acc.mode, tuple(s.spec for s in slots)))
        add(task, perm[n], liabilities)
        plans.append(
            AccountPlan(
                account_id,
                perm[n],
                list(zip(task[4], blindings, strict=True)),
                aux_b,
                salt,
                written_off,
            )
        )
    stream = _stream(key.master_secret, epoch, b"padding-shapes")
    for k in range(size - len(by_id)):
        pad_id = f"{PADDING_PREFIX}{k}"
        mode, specs = shapes[_below(stream, len(shapes))]
        task, *_, liabilities, _salt, failed = _leaf(
            market,
            market_digest,
            columns,
            key,
            epoch,
            pad_id,
            mode,
            [SlotValue(s, 0) for s in specs],
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
    times = "" if min_ratio == (1, 1) else f"{ratio_text(min_ratio)} × "
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
    for circuit in lf.leaf_circuits(market.accounting):
        h.update(load_circuit(circuit).digest)
    h.update(header.model_dump_json().encode() + b"\x00")
    h.update(market_text + b"\x00")
    h.update(",".join(map(str, reserves)).encode() + b"\x00")
    if min_ratio != (1, 1):  # the plan of ρ = 1 keeps its digest
        h.update(f"min-ratio {num}/{den}".encode() + b"\x00")
    done: list[LeafTask] = []
    for t in tasks:
        assert t is not None
        done.append(t)
        h.update(repr((t[0], t[1].hex(), t[2], t[3], t[4])).encode())
    return Plan(
        header,
        market_text,
        done,
        plans,
        totals,
        list(reserves),
        h.digest(),
        stm.derive_nonce_key(key.master_secret, epoch),
        bankrupt=bankrupt,
        min_share=smallest_share(layouts[a] for a in by_id),
        min_ratio=min_ratio,
    )
