"""Sigma proofs: every vector of the draft in ../shared, and adversarial cases, on both backends."""

from __future__ import annotations

import string
from typing import Any

import pytest
from conftest import DATA, load_json

from zkmargin import group, pedersen
from zkmargin.errors import DecodeError, ProvingError
from zkmargin.generators import pedersen_bases
from zkmargin.group import R
from zkmargin.sigma import (
    InvalidInstance,
    LinearRelation,
    RelationBuilder,
    batch_verify,
    deserialize_relation,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_compact,
)
from zkmargin.transcript import SIGMA_CIPHERSUITE, SpongeRng, derive_session_id, sigma_tag

VECTOR_FILES = sorted((DATA / "cfrg").glob("sigma-proofs*"))
VECTORS = [(f.name, v) for f in VECTOR_FILES for v in load_json(f)]


def _flavor(v: dict[str, Any]) -> str:
    if "Flavor" in v:
        return {"batchable": "DSFS", "compact": "CMPT"}[v["Flavor"]]
    return "DSFS" if "DSFS" in v["Tag"] else "CMPT"


def _tag(v: dict[str, Any]) -> bytes:
    """The tag's bytes: US-ASCII as the draft writes it (hex if that is what SessionId matches)."""
    tag = v["Tag"].encode()
    sid = v.get("SessionId")
    if sid and derive_session_id(tag).hex() != sid and all(c in string.hexdigits for c in v["Tag"]):
        alt = bytes.fromhex(v["Tag"])
        if derive_session_id(alt).hex() == sid:
            return alt
    return tag


def verify_vector(v: dict[str, Any]) -> bool:
    try:
        relation = deserialize_relation(bytes.fromhex(v["Instance"]))
        narg = bytes.fromhex(v["NargString"])
        verify = verify_batchable if _flavor(v) == "DSFS" else verify_compact
        return verify(_tag(v), relation, narg)
    except (DecodeError, ValueError):
        return False


def test_vector_files_present() -> None:
    assert VECTOR_FILES, "no sigma-proofs vector file in ../shared/data/cfrg"
    assert sum(1 for _, v in VECTORS if v.get("Ciphersuite") == SIGMA_CIPHERSUITE) >= 14


@pytest.mark.parametrize("name,v", VECTORS, ids=[f"{n}:{v['Id']}" for n, v in VECTORS])
def test_sigma_vector(backend: str, name: str, v: dict[str, Any]) -> None:
    if v.get("Ciphersuite", SIGMA_CIPHERSUITE) != SIGMA_CIPHERSUITE:
        pytest.skip(f"ciphersuite {v['Ciphersuite']} is not implemented (only {SIGMA_CIPHERSUITE})")
    expected = v["Expected"] == "accept"
    if expected and "SessionId" in v:
        assert derive_session_id(_tag(v)).hex() == v["SessionId"]
    assert verify_vector(v) is expected
    if expected and "Witness" in v and "Relation" in v:
        relation = deserialize_relation(bytes.fromhex(v["Instance"]))
        w = bytes.fromhex(v["Witness"])
        witness = [group.decode_scalar(w[i : i + 32]) for i in range(0, len(w), 32)]
        flavor = _flavor(v)
        rng = SpongeRng.from_tag(
            f"TestDRNG-SIGMA-PROOFS-{flavor}-{v['Ciphersuite']}-{v['Relation']}".encode()
        )
        prove = prove_batchable if flavor == "DSFS" else prove_compact
        assert prove(_tag(v), relation, witness, rng=rng).hex() == v["NargString"]
        assert relation.serialize().hex() == v["Instance"]


def test_vectors_batch_verify(backend: str) -> None:
    batchable = [
        (
            _tag(v),
            deserialize_relation(bytes.fromhex(v["Instance"])),
            bytes.fromhex(v["NargString"]),
        )
        for _, v in VECTORS
        if v.get("Ciphersuite") == SIGMA_CIPHERSUITE
        and _flavor(v) == "DSFS"
        and v["Expected"] == "accept"
    ]
    assert len(batchable) >= 7
    assert batch_verify(batchable)
    assert batch_verify([])
    for i in range(len(batchable)):
        tag, rel, narg = batchable[i]
        bad = bytearray(narg)
        bad[-1] ^= 1
        tampered = [*batchable[:i], (tag, rel, bytes(bad)), *batchable[i + 1 :]]
        assert not batch_verify(tampered)


# ----- our own relations -----


def _opening_relation(value: int, blinding: int) -> LinearRelation:
    G, H = pedersen_bases()
    b = RelationBuilder("PedersenOpening")
    v, r = b.witness("v", "r")
    g_i = b.element("G", G)
    h_i = b.element("H", H)
    c_i = b.element("C", pedersen.commit(value, blinding))
    b.equation([(1, c_i)], [(1, v, g_i), (1, r, h_i)])
    return b.build()


TAG_B = sigma_tag("test_opening", "DSFS")
TAG_C = sigma_tag("test_opening", "CMPT")


def test_builder_notation() -> None:
    rel = _opening_relation(5, 7)
    assert rel.notation() == "PK{(v, r): C = v·G + r·H}"


@pytest.mark.parametrize("flavor", ["DSFS", "CMPT"])
def test_prove_verify_and_tamper(backend: str, flavor: str) -> None:
    rel = _opening_relation(5, 7)
    tag = TAG_B if flavor == "DSFS" else TAG_C
    prove, verify = (
        (prove_batchable, verify_batchable) if flavor == "DSFS" else (prove_compact, verify_compact)
    )
    narg = prove(tag, rel, [5, 7])
    assert verify(tag, rel, narg)
    step = 1 if backend == "native" else 9
    for i in range(0, len(narg), step):
        bad = bytearray(narg)
        bad[i] ^= 0x01
        assert not verify(tag, rel, bytes(bad)), f"accepted a proof with byte {i} changed"
    assert not verify(tag, rel, narg[:-1])
    assert not verify(tag, rel, narg + b"\x00")
    assert not verify(tag, rel, bytes(len(narg)))
    assert not verify(tag.replace(b"test_opening", b"other_app"), rel, narg)
    assert not verify(tag, _opening_relation(6, 7), narg)


def test_flavor_is_bound_to_the_tag() -> None:
    rel = _opening_relation(1, 2)
    with pytest.raises(ValueError, match="flavor"):
        prove_batchable(TAG_C, rel, [1, 2])
    with pytest.raises(ValueError, match="flavor"):
        verify_compact(TAG_B, rel, prove_compact(TAG_C, rel, [1, 2]))
    with pytest.raises(ValueError, match="ciphersuite"):
        verify_batchable(b"zkmargin-DSFS", rel, b"")


def test_non_canonical_response_rejected(backend: str) -> None:
    rel = _opening_relation(3, 4)
    narg = prove_batchable(TAG_B, rel, [3, 4])
    s = int.from_bytes(narg[-32:], "big")
    forged = narg[:-32] + (s + R).to_bytes(32, "big")
    assert not verify_batchable(TAG_B, rel, forged)


def test_prover_refuses_a_false_statement() -> None:
    rel = _opening_relation(5, 7)
    with pytest.raises(ProvingError, match="does not satisfy"):
        prove_batchable(TAG_B, rel, [6, 7])
    with pytest.raises(ProvingError, match="witness scalars"):
        prove_batchable(TAG_B, rel, [5])


def test_invalid_instances_rejected(backend: str) -> None:
    G, H = pedersen_bases()
    g = group.generator()
    # An element that is the identity.
    b = RelationBuilder()
    (x,) = b.witness("x")
    e = b.element("X", group.identity())
    b.equation([(1, e)], [(1, x, 0)])
    with pytest.raises(InvalidInstance, match="identity"):
        b.build().validate()
    # An unused element.
    b = RelationBuilder()
    (x,) = b.witness("x")
    e = b.element("X", g)
    b.element("Unused", H)
    b.equation([(1, e)], [(1, x, 0)])
    with pytest.raises(InvalidInstance, match="appear in no equation"):
        b.build().validate()
    # A column that cancels: x·H − x·H.
    b = RelationBuilder()
    (x,) = b.witness("x")
    e = b.element("X", G)
    h = b.element("H", H)
    b.equation([(1, e)], [(1, x, h), (-1, x, h)])
    with pytest.raises(InvalidInstance, match="column"):
        b.build().validate()
    # An image that evaluates to the identity.
    b = RelationBuilder()
    (x,) = b.witness("x")
    e = b.element("X", G)
    b.equation([(1, e), (-1, e)], [(1, x, 0)])
    with pytest.raises(InvalidInstance, match="image"):
        b.build().validate()


def test_hostile_length_prefix_is_rejected() -> None:
    with pytest.raises(DecodeError):
        deserialize_relation(b"\xff\xff\xff\xff" + bytes(40))
    with pytest.raises(DecodeError):
        deserialize_relation(b"\x01\x00\x00\x00" + b"\xff\xff\xff\xff")


def test_batch_with_one_bad_proof(backend: str) -> None:
    count = 6 if backend == "native" else 3
    proofs = []
    for k in range(count):
        rel = _opening_relation(k, k + 1)
        proofs.append((TAG_B, rel, prove_batchable(TAG_B, rel, [k, k + 1])))
    assert batch_verify(proofs)
    tag, rel, narg = proofs[1]
    other = _opening_relation(99, 100)
    assert not batch_verify([*proofs[:1], (tag, other, narg), *proofs[2:]])


def test_validation_is_linear_in_the_relation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 129-byte relation naming scalar index 2^32 − 1 must not allocate 2^32 of anything, and
    a wide relation must not cost scalars × equations multi-scalar multiplications."""
    from zkmargin.sigma import relation as relation_module
    from zkmargin.transcript import le

    g = group.generator()
    data = (
        le(1, 4)
        + le(1, 4)
        + le(1, 4)
        + group.encode_scalar(1)
        + le(1, 4)
        + le((1 << 32) - 1, 4)
        + le(1, 4)
        + group.encode_scalar(1)
        + group.encode_point(g)
    )
    rel = deserialize_relation(data)
    with pytest.raises(InvalidInstance, match="beyond"):
        rel.validate()
    assert not sigma_verify_batchable(rel)
    # 64 equations × 64 scalars, one term each: 64 column sums, not 64 × 64.
    b = RelationBuilder()
    xs = b.witness(*(f"x{i}" for i in range(64)))
    es = [b.element(f"X{i}", group.mul(g, i + 2)) for i in range(64)]
    for i in range(64):
        b.equation([(1, es[i])], [(1, xs[i], 0)])
    calls = []
    real_msm = relation_module.group.msm

    def counting_msm(points: Any, scalars: Any) -> Any:
        calls.append(len(points))
        return real_msm(points, scalars)

    monkeypatch.setattr(relation_module.group, "msm", counting_msm)
    b.build().validate()
    assert len(calls) <= 2 * 64  # one per image and one per (equation, scalar) cell with terms


def sigma_verify_batchable(rel: LinearRelation) -> bool:
    from zkmargin.sigma import verify_batchable
    from zkmargin.transcript import sigma_tag

    return verify_batchable(sigma_tag("t", "DSFS"), rel, bytes(80))


def test_tags_must_name_one_flavor_in_its_field() -> None:
    from zkmargin.sigma import check_tag

    check_tag(b"app-DSFS-with-sigma-proofs_Shake128_BLS12381", "DSFS")
    for bad in (
        b"app-CMPT-v2-DSFS-with-sigma-proofs_Shake128_BLS12381",
        b"app-CMPTDSFS-with-sigma-proofs_Shake128_BLS12381",
        b"app-DSFS-with-sigma-proofs_Shake128_BLS12381-v2",
        b"DSFS sigma-proofs_Shake128_BLS12381",
    ):
        with pytest.raises(ValueError):
            check_tag(bad, "DSFS")
