"""Aggregated Bulletproofs: completeness and every attack the issue lists, on both backends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from test_group import _bad_points

from zkmargin import api, group, rangeproof
from zkmargin.errors import DecodeError, ProvingError, ZkMarginError
from zkmargin.group import POINT_BYTES, SCALAR_BYTES, R
from zkmargin.rangeproof import RangeProof
from zkmargin.rangeproof.prover import Precommitment, precommit
from zkmargin.transcript import RANGEPROOF_TAG, SpongeRng, protocol_tag

CTX = b"epoch=7;market=BTC-PERP;account=alice"


def _prove(
    values: list[int], n: int, seed: bytes = b"seed", **kw: object
) -> tuple[RangeProof, list]:
    blindings = [(31 * i + 17) * 0x1234567 % R for i in range(len(values))]
    return rangeproof.prove(values, blindings, n, CTX, rng=SpongeRng.from_tag(seed), **kw)  # type: ignore[arg-type]


def _verify_bytes(data: bytes, commitments: list, n: int, m: int, ctx: bytes = CTX) -> bool:
    try:
        proof = RangeProof.from_bytes(data, n, m)
    except DecodeError:
        return False
    return rangeproof.verify(proof, commitments, n, ctx)


SMALL_SHAPES = [(8, [0]), (8, [255]), (8, [1, 2, 3]), (16, [65535])]
LARGE_SHAPES = [
    (16, [1, 65535]),
    (32, [2**32 - 1, 0, 12345]),
    (64, [2**64 - 1]),
    (64, [1, 2, 3, 4]),
]


@pytest.mark.parametrize("n,values", SMALL_SHAPES)
def test_completeness(backend: str, n: int, values: list[int]) -> None:
    _check_completeness(n, values)


@pytest.mark.parametrize("n,values", LARGE_SHAPES)
def test_completeness_large(n: int, values: list[int]) -> None:
    _check_completeness(n, values)


def _check_completeness(n: int, values: list[int]) -> None:
    proof, commitments = _prove(values, n)
    data = proof.to_bytes()
    assert len(data) == rangeproof.proof_size(n, len(values))
    assert rangeproof.verify(proof, commitments, n, CTX)
    assert _verify_bytes(data, commitments, n, len(values))


def test_proof_size_formula() -> None:
    assert rangeproof.proof_size(64, 1) == 928
    assert rangeproof.proof_size(64, 8) == (2 * 9 + 4) * 48 + 5 * 32
    assert rangeproof.proof_size(8, 3) == rangeproof.proof_size(8, 4)


def test_wider_shapes_complete() -> None:
    for n, m in [(64, 8), (32, 5), (8, 16)]:
        values = [(7**i) % (1 << n) for i in range(m)]
        proof, commitments = _prove(values, n)
        assert rangeproof.verify(proof, commitments, n, CTX)


def test_backends_produce_identical_bytes() -> None:
    outputs = {}
    for name in group.available_backends():
        with group.using(name):
            proof, commitments = _prove([200, 3], 8, seed=b"cross-backend")
            outputs[name] = (proof.to_bytes(), [group.encode_point(c) for c in commitments])
    assert outputs["native"] == outputs["reference"]


def test_honest_prover_refuses_out_of_range() -> None:
    for n, bad in [(8, 256), (8, -1), (64, 2**64)]:
        with pytest.raises(ProvingError, match="outside"):
            _prove([bad], n)
    with pytest.raises(ProvingError, match="bit width"):
        _prove([1], 12)
    with pytest.raises(ProvingError, match="blindings"):
        rangeproof.prove([1, 2], [1], 8)


@pytest.mark.parametrize("value", [256, 2**8 + 5, R - 1, R - 256])
def test_forged_out_of_range_proofs_fail(backend: str, value: int) -> None:
    proof, commitments = _prove([value], 8, _unsafe_skip_range_check=True)
    assert not rangeproof.verify(proof, commitments, 8, CTX)


def test_forged_in_aggregate(backend: str) -> None:
    proof, commitments = _prove([5, 2**8], 8, _unsafe_skip_range_check=True)
    assert not rangeproof.verify(proof, commitments, 8, CTX)


def test_every_changed_byte_is_rejected(backend: str) -> None:
    proof, commitments = _prove([200], 8)
    data = proof.to_bytes()
    step = 1 if backend == "native" else 23
    for i in range(0, len(data), step):
        for flip in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= flip
            assert not _verify_bytes(bytes(bad), commitments, 8, 1), f"byte {i} ^ {flip:#x}"


def test_wrong_statement_rejected(backend: str) -> None:
    proof, commitments = _prove([7, 9], 8)
    assert rangeproof.verify(proof, commitments, 8, CTX)
    other, _ = _prove([7], 8)
    assert not rangeproof.verify(proof, [commitments[1], commitments[0]], 8, CTX)
    assert not rangeproof.verify(proof, [commitments[0], group.generator()], 8, CTX)
    assert not rangeproof.verify(proof, commitments, 16, CTX)  # other n
    assert not rangeproof.verify(proof, commitments[:1], 8, CTX)  # other m
    assert not rangeproof.verify(proof, [*commitments, commitments[0]], 8, CTX)  # m=3, same m'
    assert not rangeproof.verify(proof, commitments, 8, CTX + b"!")  # other context
    assert not rangeproof.verify(proof, commitments, 8, CTX, tag=protocol_tag("other"))
    assert not rangeproof.verify(other, commitments[:1], 8, b"epoch=8")
    data = proof.to_bytes()
    assert not _verify_bytes(data, commitments, 16, 2)  # wrong length for n = 16
    assert not _verify_bytes(data, commitments[:1], 8, 1)


def test_swapped_messages_rejected(backend: str) -> None:
    proof, commitments = _prove([7, 9], 8)
    swaps = [
        dataclasses.replace(proof, A=proof.S, S=proof.A),
        dataclasses.replace(proof, T1=proof.T2, T2=proof.T1),
        dataclasses.replace(proof, L=proof.R, R=proof.L),
        dataclasses.replace(proof, L=(proof.R[0], *proof.L[1:]), R=(proof.L[0], *proof.R[1:])),
        dataclasses.replace(proof, a=proof.b, b=proof.a),
        dataclasses.replace(proof, tau_x=proof.mu, mu=proof.tau_x),
    ]
    for swapped in swaps:
        assert not rangeproof.verify(swapped, commitments, 8, CTX)


def test_truncated_extended_and_zero_proofs(backend: str) -> None:
    proof, commitments = _prove([7], 8)
    data = proof.to_bytes()
    for bad in (data[:-1], data + b"\x00", data[:-32], data + data[-32:], bytes(len(data)), b""):
        assert not _verify_bytes(bad, commitments, 8, 1)
        with pytest.raises(DecodeError):
            RangeProof.from_bytes(bad, 8, 1)


def test_non_canonical_scalars_rejected(backend: str) -> None:
    proof, _ = _prove([7], 8)
    data = proof.to_bytes()
    start = len(data) - 5 * SCALAR_BYTES
    for k in range(5):
        off = start + k * SCALAR_BYTES
        s = int.from_bytes(data[off : off + SCALAR_BYTES], "big")
        if s + R >= 1 << 256:
            continue
        bad = data[:off] + (s + R).to_bytes(32, "big") + data[off + SCALAR_BYTES :]
        with pytest.raises(DecodeError, match="canonical"):
            RangeProof.from_bytes(bad, 8, 1)


@pytest.mark.parametrize(
    "case",
    [
        "off_curve",
        "outside_subgroup",
        "compression_bit_cleared",
        "x_equal_p",
        "x_plus_p",
        "identity_with_sign_bit",
        "identity_with_nonzero_x",
    ],
)
def test_invalid_points_in_proofs_rejected(backend: str, case: str) -> None:
    proof, _ = _prove([7], 8)
    data = proof.to_bytes()
    bad_point = _bad_points()[case]
    n_points = (len(data) - 5 * SCALAR_BYTES) // POINT_BYTES
    for k in (0, 1, 2, 3, n_points - 1):
        bad = data[: k * POINT_BYTES] + bad_point + data[(k + 1) * POINT_BYTES :]
        with pytest.raises(DecodeError):
            RangeProof.from_bytes(bad, 8, 1)


def test_identity_points_in_proofs_rejected(backend: str) -> None:
    proof, commitments = _prove([7], 8)
    data = proof.to_bytes()
    identity = bytes([0xC0]) + bytes(47)
    for k in range(4):
        bad = data[: k * POINT_BYTES] + identity + data[(k + 1) * POINT_BYTES :]
        with pytest.raises(DecodeError, match="identity"):
            RangeProof.from_bytes(bad, 8, 1)
    forged = dataclasses.replace(proof, S=group.identity())
    assert not rangeproof.verify(forged, commitments, 8, CTX)
    assert not rangeproof.verify(proof, [group.identity()], 8, CTX)


def test_batch_verification(backend: str) -> None:
    shapes = [(8, [1]), (8, [2, 3]), (16, [4]), (8, [5, 6, 7])]
    if backend == "native":
        shapes += [(64, [2**63]), (32, [9, 10, 11, 12]), (16, [13] * 8)]
    items = []
    for i, (n, values) in enumerate(shapes):
        proof, commitments = _prove(values, n, seed=bytes([i]))
        items.append((proof, commitments, n, CTX))
    assert rangeproof.batch_verify(items)
    assert rangeproof.batch_verify([])
    for bad_index in range(len(items)):
        proof, commitments, n, ctx = items[bad_index]
        tampered = dataclasses.replace(proof, t_hat=(proof.t_hat + 1) % R)
        batch = [*items[:bad_index], (tampered, commitments, n, ctx), *items[bad_index + 1 :]]
        assert not rangeproof.batch_verify(batch)
    forged, fc = _prove([300], 8, _unsafe_skip_range_check=True)
    assert not rangeproof.batch_verify([*items, (forged, fc, 8, CTX)])


def test_large_batch_of_single_proofs() -> None:
    items = []
    for i in range(64):
        proof, commitments = _prove([i * 1000003 % 2**64], 64, seed=i.to_bytes(2, "little"))
        items.append((proof, commitments, 64, CTX))
    assert rangeproof.batch_verify(items)
    proof, commitments, n, ctx = items[40]
    items[40] = (proof, [group.mul(commitments[0], 2)], n, ctx)
    assert not rangeproof.batch_verify(items)


def _precommitment_like_rng(seed: bytes, size: int) -> Precommitment:
    """The precommitment a seeded prover would draw itself, to compare both code paths."""
    rng = SpongeRng.from_tag(seed)
    rng.random_scalars(3)
    return precommit(rng.random_scalar(), rng.random_scalars(size), rng.random_scalars(size))


def test_precommitment_path_matches_generic_path(backend: str) -> None:
    values = [11, 250]
    plain, _ = _prove(values, 8, seed=b"pre")
    pre = _precommitment_like_rng(b"pre", 16)
    fast, commitments = _prove(values, 8, seed=b"pre", precommitment=pre)
    assert fast.to_bytes() == plain.to_bytes()
    assert rangeproof.verify(fast, commitments, 8, CTX)
    with pytest.raises(ProvingError, match="single-use"):
        _prove(values, 8, seed=b"pre", precommitment=pre)


def test_prepare_then_prove() -> None:
    pre = rangeproof.prepare(64, 3)
    proof, commitments = rangeproof.prove([1, 2, 3], [4, 5, 6], 64, CTX, precommitment=pre)
    assert rangeproof.verify(proof, commitments, 64, CTX)
    with pytest.raises(ProvingError, match="must match"):
        rangeproof.prove([1], [4], 64, CTX, precommitment=rangeproof.prepare(64, 3))


def test_default_tag_is_the_rangeproof_tag() -> None:
    assert RANGEPROOF_TAG.startswith(b"zkmargin-V01-rangeproof")


def test_zero_challenge_rejects_instead_of_dividing(monkeypatch: pytest.MonkeyPatch) -> None:
    from zkmargin.transcript import Transcript, ZeroChallenge

    proof, commitments = _prove([7], 8)
    assert rangeproof.verify(proof, commitments, 8, CTX)

    def zero(self: Transcript) -> int:
        raise ZeroChallenge("forced")

    monkeypatch.setattr(Transcript, "challenge_short", zero)
    assert not rangeproof.verify(proof, commitments, 8, CTX)
    assert not rangeproof.batch_verify([(proof, commitments, 8, CTX)])


def test_a_stuck_entropy_source_never_repeats_a_precommitment() -> None:
    """With a source that always returns the same bytes, precommitments still differ (a
    per-process key and a counter), so proofs of one value stay unlinkable and the inner-product
    scalars of many proofs do not give the value away."""

    def stuck(n: int) -> bytes:
        return bytes(n)

    pres = [rangeproof.prepare(8, 1, _test_entropy=stuck) for _ in range(4)]
    assert len({group.encode_point(p.S) for p in pres}) == 4
    assert len({p.rho for p in pres}) == 4
    proofs = [
        rangeproof.prove([77], [1234], 8, CTX, precommitment=p, entropy=stuck)[0] for p in pres
    ]
    assert len({p.to_bytes() for p in proofs}) == 4
    assert len({(p.a, p.b) for p in proofs}) == 4
    # α (in A) and τ₁, τ₂ are fresh per proof too: A differs although value and blinding agree
    assert len({group.encode_point(p.A) for p in proofs}) == 4


@pytest.mark.parametrize(
    "call",
    [
        lambda: api.prove_range([5.0], 64),
        lambda: api.prove_range([5], 8.0),  # type: ignore[arg-type]
        lambda: api.prove_range([5], 64, "ctx"),  # type: ignore[arg-type]
        lambda: api.prove_range([5], 64, None),  # type: ignore[arg-type]
        lambda: api.prove_range("5", 64),  # type: ignore[arg-type]
        lambda: api.prove_range([True], 64),
        lambda: api.prove_range([5], 64, b"", blindings=[0]),
        lambda: api.prove_range([5], 64, b"", blindings=[R]),
        lambda: api.verify_range("proof"),  # type: ignore[arg-type]
        lambda: api.verify_range(api.RangeProofBundle(8.0, b"", (), b"")),  # type: ignore[arg-type]
        lambda: api.verify_range(api.RangeProofBundle(64, "c", (), b"")),  # type: ignore[arg-type]
        lambda: rangeproof.verify("x", [], 64),  # type: ignore[arg-type]
    ],
)
def test_wrongly_typed_input_raises_the_projects_error(call: Any) -> None:
    with pytest.raises(ZkMarginError):
        call()
