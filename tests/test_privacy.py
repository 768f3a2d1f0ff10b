"""Privacy of what the venue and the exchange publish: blindings bound to the content they hide
(two statements of one account and epoch never differ by a small multiple of G), and nonces
derived from the whole witness (two proofs that differ in anything share no point)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import pytest

from zkmargin import group
from zkmargin.attest import statement as stm
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.slots import account_slots
from zkmargin.formats.market import MarketSnapshot, canonical_market, market_digest
from zkmargin.formats.publication import PublicationHeader
from zkmargin.formats.statement import AccountStatement, SignedRoot
from zkmargin.generators import pedersen_bases
from zkmargin.group import Point
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities.publish import reserves_proof
from zkmargin.liabilities.work import prove_leaves
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition
from zkmargin.margin.synthetic import exchange_market, exchange_market_document
from zkmargin.pedersen import commit
from zkmargin.rangeproof import RangeProof

MASTER = bytes(range(32))
EPOCH = 7
#: |k| below this is found by a baby-step search in a blink; a lender would try it first.
SMALL = 1 << 14


def _small_multiples() -> set[bytes]:
    G, _ = pedersen_bases()
    out = set()
    acc = group.identity()
    for _ in range(1, SMALL):
        acc = acc + G
        out.add(group.encode_point(acc))
        out.add(group.encode_point(-acc))
    return out


def _statement(acc: CompiledAccount, decoys: int = 0) -> AccountStatement:
    market = exchange_market(EPOCH)
    seed = stm.derive_decoy_seed(MASTER, EPOCH, acc.id)
    slots = account_slots(acc, market, decoys=decoys, decoy_seed=seed)
    st, _ = stm.issue_statement(
        venue="V",
        epoch=EPOCH,
        market_digest=b"\x00" * 32,
        account_id=acc.id,
        mode=acc.mode,
        slots=slots,
        master=MASTER,
        secret_key=None,
    )
    return st


def _account(usdt: int, btc: int, size: int = 0) -> CompiledAccount:
    positions = (CompiledPosition(0, size, -size * 650000, 0, None),) if size else ()
    return CompiledAccount("alice", "cross", 0, (usdt, 0, btc, 0), positions)


def _points(st: AccountStatement) -> dict[tuple[str, str], Point]:
    return {(s.name, s.of): p for s, p in zip(st.slots, stm.statement_points(st), strict=True)}


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"usdt": 1_000_000_001, "btc": 50_000_000}, id="one-unit-more-usdt"),
        pytest.param({"usdt": 1_000_000_000, "btc": 49_999_000}, id="a-withdrawal"),
        pytest.param({"usdt": 1_000_000_000, "btc": 50_000_000, "size": 3}, id="a-new-position"),
        pytest.param({"usdt": 1_000_000_000, "btc": 50_000_000, "decoys": 3}, id="with-decoys"),
    ],
)
def test_two_statements_of_one_account_and_epoch_hide_their_difference(
    other: dict[str, int],
) -> None:
    """A lender holding one statement and the public publication holding another (same account,
    same epoch, same tag) finds no commitment difference that is a small multiple of G: every
    blinding is bound to the whole content, so no slot shares its blinding."""
    first = _statement(_account(1_000_000_000, 50_000_000))
    decoys = other.pop("decoys", 0)
    second = _statement(_account(**other), decoys=decoys)
    assert first.account_tag == second.account_tag  # one account, one epoch: the same tag
    small = _small_multiples()
    a, b = _points(first), _points(second)
    for p in a.values():
        for q in b.values():
            diff = p - q
            assert not group.is_identity(diff)
            assert group.encode_point(diff) not in small


def test_the_same_content_gives_the_same_bytes() -> None:
    acc = _account(1_000_000_000, 50_000_000, 2)
    assert _statement(acc) == _statement(acc)
    assert _statement(acc, decoys=2) == _statement(acc, decoys=2)


def test_blinding_labels_are_separate() -> None:
    content = secrets.token_bytes(32)
    seen = {stm.derive_blinding(MASTER, EPOCH, "a", lab, content, 0) for lab in stm.BLINDING_LABELS}
    assert len(seen) == len(stm.BLINDING_LABELS)
    with pytest.raises(ValueError):
        stm.derive_blinding(MASTER, EPOCH, "a", "limb?", content, 0)


# ----- nonces over the whole witness ---------------------------------------------------------


def _proof_points(proof: RangeProof) -> set[bytes]:
    return {
        group.encode_point(p) for p in (proof.A, proof.S, proof.T1, proof.T2, *proof.L, *proof.R)
    }


def _no_shared_point(proofs: Iterable[set[bytes]]) -> None:
    seen: set[bytes] = set()
    for pts in proofs:
        assert not pts & seen
        seen |= pts


def _root(totals: list[Point]) -> SignedRoot:
    return SignedRoot(
        venue="V",
        venue_key="aa" * 48,
        epoch=EPOCH,
        market_digest="00" * 32,
        height=3,
        columns=[f"C{c}" for c in range(len(totals))],
        totals=[group.encode_point(t).hex() for t in totals],
        root_hash="11" * 32,
        signature="00" * 96,
    )


def test_reserves_proofs_differing_in_anything_share_no_nonce() -> None:
    """Found by review: two publications of one epoch differing in one reserve reused α, ρ, τ₁,
    τ₂ and the limb blindings (S byte-identical). Each witness and instance component changed in
    turn gives proofs with no point in common."""
    key = secrets.token_bytes(32)
    openings = [(5_000, 77), (123_456, 99)]
    totals = [commit(v, g) for v, g in openings]
    base = ([10_000, 200_000], openings, _root(totals))
    variants = [
        base,
        ([10_001, 200_000], openings, _root(totals)),  # one reserve
        ([10_000, 200_000], [(5_000, 78), (123_456, 99)], _root([commit(5_000, 78), totals[1]])),
        ([10_000, 200_000], openings, _root(totals).model_copy(update={"root_hash": "22" * 32})),
    ]
    proofs = []
    for reserves, op, root in variants:
        doc = reserves_proof(key, root, [commit(v, g) for v, g in op], op, reserves)
        rp = RangeProof.from_bytes(bytes.fromhex(doc.proof), 64, sum(doc.limbs))
        limbs = {bytes.fromhex(h) for h in doc.limb_commitments}
        proofs.append(_proof_points(rp) | limbs)
    _no_shared_point(proofs)
    again = reserves_proof(key, base[2], totals, openings, base[0])
    assert again == reserves_proof(key, base[2], totals, openings, base[0])  # deterministic


def test_leaf_nonces_change_with_every_witness_component() -> None:
    """The exchange's leaf proofs: a change of any slot value, slot blinding or auxiliary
    blinding gives a proof sharing no point with the others."""

    market = exchange_market(EPOCH)

    snap = MarketSnapshot.model_validate(exchange_market_document(EPOCH))
    columns = lf.liability_columns(market)
    header = PublicationHeader(
        venue="V",
        venue_key="aa" * 48,
        epoch=EPOCH,
        market_digest=market_digest(snap).hex(),
        height=3,
        columns=list(columns.symbols),
        decimals=list(columns.decimals),
    )
    slots = account_slots(_account(1_000_000_000, 50_000_000, 2), market)
    specs = tuple((s.name, s.of, s.bits, s.signed) for s in slots)
    values = tuple(s.value for s in slots)
    inst = lf.leaf_instance(market, "cross", tuple(s.spec for s in slots))
    blind = tuple(range(11, 11 + len(slots)))
    aux = tuple(range(101, 101 + len(inst.aux)))
    tag = b"\x05" * 32
    bumped = list(values)
    bumped[0] += 1
    tasks = [
        (0, tag, "cross", specs, values, blind, aux),
        (0, tag, "cross", specs, tuple(bumped), blind, aux),
        (0, tag, "cross", specs, values, (blind[0] + 1, *blind[1:]), aux),
        (0, tag, "cross", specs, values, blind, (aux[0] + 1, *aux[1:])),
    ]
    key = secrets.token_bytes(32)
    rows = [
        prove_leaves("native", canonical_market(snap), header.model_dump_json(), key, [t])[0]
        for t in tasks
    ]
    proofs = []
    for _, _, data, _, _ in rows:
        p = cproof.CircuitProof.from_bytes(data, inst)
        proofs.append(_proof_points(p.range_proof) | {group.encode_point(x) for x in p.limbs})
    _no_shared_point(proofs)
