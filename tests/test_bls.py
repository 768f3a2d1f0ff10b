"""Ethereum's BLS test suite (ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_), every file
found in ../shared/data/bls, on both backends; plus the properties the suite does not cover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, load_json

from zkmargin import group
from zkmargin.attest import bls
from zkmargin.errors import DecodeError
from zkmargin.group import pairing

BLS_DIR = DATA / "bls"
CASES = sorted(BLS_DIR.glob("*/*.json"))
#: The hash_to_G2 vectors are RFC 9380's, under the RFC's own test DST.
H2C_DST = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_"


def _b(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _run(kind: str, inp: Any) -> Any:
    if kind == "sign":
        try:
            return "0x" + bls.sign(int(inp["privkey"], 16), _b(inp["message"])).hex()
        except ValueError:
            return None
    if kind == "verify":
        return bls.verify(_b(inp["pubkey"]), _b(inp["message"]), _b(inp["signature"]))
    if kind == "aggregate":
        try:
            return "0x" + bls.aggregate([_b(s) for s in inp]).hex()
        except (ValueError, DecodeError):
            return None
    if kind == "fast_aggregate_verify":
        return bls.fast_aggregate_verify(
            [_b(p) for p in inp["pubkeys"]], _b(inp["message"]), _b(inp["signature"])
        )
    if kind == "aggregate_verify":
        return bls.aggregate_verify(
            [_b(p) for p in inp["pubkeys"]],
            [_b(m) for m in inp["messages"]],
            _b(inp["signature"]),
        )
    if kind == "batch_verify":
        return bls.batch_verify(
            [
                (_b(p), _b(m), _b(s))
                for p, m, s in zip(inp["pubkeys"], inp["messages"], inp["signatures"], strict=True)
            ]
        )
    if kind == "hash_to_G2":
        x0, x1, y0, y1 = pairing.g2_affine(pairing.hash_to_g2(inp["msg"].encode(), H2C_DST))
        return {"x": f"{x0:#098x},{x1:#098x}", "y": f"{y0:#098x},{y1:#098x}"}
    if kind == "deserialization_G1":
        try:
            group.decode_point(_b(inp["pubkey"]), allow_identity=True)
        except DecodeError:
            return False
        return True
    if kind == "deserialization_G2":
        try:
            pairing.decode_g2(_b(inp["signature"]), allow_identity=True)
        except DecodeError:
            return False
        return True
    raise AssertionError(f"unknown BLS vector kind {kind}")


def test_the_suite_is_there() -> None:
    kinds = {p.parent.name for p in CASES}
    assert kinds >= {
        "sign",
        "verify",
        "aggregate",
        "fast_aggregate_verify",
        "aggregate_verify",
        "batch_verify",
        "hash_to_G2",
        "deserialization_G1",
        "deserialization_G2",
    }
    assert len(CASES) > 100


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_ethereum_vector(backend: str, path: Path) -> None:
    case = load_json(path)
    got = _run(path.parent.name, case["input"])
    expected = case["output"]
    if path.parent.name == "hash_to_G2":
        expected = {k: v.lower() for k, v in expected.items()}
    assert got == expected


def test_sign_verify_round_trip_and_tamper(backend: str) -> None:
    sk = bls.key_gen(b"\x07" * 32)
    pk = bls.sk_to_pk(sk)
    sig = bls.sign(sk, b"statement")
    assert bls.verify(pk, b"statement", sig)
    assert not bls.verify(pk, b"statement!", sig)
    other = bls.sk_to_pk(bls.key_gen(b"\x08" * 32))
    assert not bls.verify(other, b"statement", sig)
    flipped = bytearray(sig)
    flipped[10] ^= 1
    assert not bls.verify(pk, b"statement", bytes(flipped))
    assert not bls.verify(pk, b"statement", bytes(96))


def test_backends_give_identical_signatures() -> None:
    sk = bls.key_gen(b"\x11" * 32)
    out = []
    for name in ("native", "reference"):
        with group.using(name):
            out.append((bls.sk_to_pk(sk), bls.sign(sk, b"epoch 7")))
    assert out[0] == out[1]


def test_key_gen_rejects_short_ikm() -> None:
    with pytest.raises(ValueError):
        bls.key_gen(b"short")
