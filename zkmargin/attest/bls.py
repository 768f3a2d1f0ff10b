"""BLS signatures, draft-irtf-cfrg-bls-signature, ciphersuite
``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`` (public keys in G1, signatures in G2), as
Ethereum uses it.

One implementation over :mod:`zkmargin.group` and :mod:`zkmargin.group.pairing`, so both curve
backends (py_ecc's primitives, arkworks) give byte-identical keys and signatures and the same
decisions. Every byte string from outside goes through the validating decoders.

* SkToPk(SK) = SK·P1; KeyValidate(PK): a canonical, non-identity point of the G1 subgroup.
* Sign(SK, m) = SK·H(m), with H = hash_to_G2 under DST_SIG.
* Verify(PK, m, σ): e(PK, H(m)) · e(−P1, σ) = 1.
* Aggregate(σ_1…σ_n) = Σ σ_i; AggregateVerify: Π e(PK_i, H(m_i)) · e(−P1, σ) = 1 (proof of
  possession makes distinct messages unnecessary); FastAggregateVerify: one message, Σ PK_i.
* BatchVerify (Ethereum's): Σ random 64-bit weights r_i; Π e(r_i·PK_i, H(m_i)) · e(−P1, Σ r_i·σ_i).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from .. import group
from ..errors import DecodeError
from ..group import R, pairing

DST_SIG = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
DST_POP = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
PUBLIC_KEY_BYTES = 48
SIGNATURE_BYTES = 96


def key_gen(ikm: bytes, key_info: bytes = b"") -> int:
    """KeyGen(IKM, key_info) of the draft (HKDF-SHA-256, salt re-hashed until SK ≠ 0)."""
    if len(ikm) < 32:
        raise ValueError("KeyGen needs at least 32 bytes of input keying material")
    salt = b"BLS-SIG-KEYGEN-SALT-"
    sk = 0
    while sk == 0:
        salt = hashlib.sha256(salt).digest()
        prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()
        info = key_info + (48).to_bytes(2, "big")
        okm, block = b"", b""
        counter = 1
        while len(okm) < 48:
            block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
            okm += block
            counter += 1
        sk = int.from_bytes(okm[:48], "big") % R
    return sk


def generate_secret_key() -> int:
    """A fresh secret key from 32 bytes of operating-system entropy."""
    return key_gen(secrets.token_bytes(32))


def _check_sk(sk: int) -> None:
    if not isinstance(sk, int) or not 0 < sk < R:
        raise ValueError("a BLS secret key is an integer in [1, r)")


def sk_to_pk(sk: int) -> bytes:
    """SkToPk(SK): the 48-byte compressed SK·P1."""
    _check_sk(sk)
    return group.encode_point(group.mul(group.generator(), sk))


def decode_public_key(pk: bytes) -> group.Point:
    """KeyValidate then decode: raise DecodeError unless a valid non-identity key."""
    return group.decode_point(bytes(pk), allow_identity=False)


def key_validate(pk: bytes) -> bool:
    """KeyValidate(PK)."""
    try:
        decode_public_key(pk)
    except DecodeError:
        return False
    return True


def decode_signature(sig: bytes) -> object:
    """signature_to_point with subgroup check (the identity decodes; it never verifies)."""
    return pairing.decode_g2(bytes(sig), allow_identity=True)


def _h(msg: bytes, dst: bytes = DST_SIG) -> object:
    return pairing.hash_to_g2(msg, dst)


def sign(sk: int, msg: bytes) -> bytes:
    """Sign(SK, message) = SK·H(message), 96 bytes."""
    _check_sk(sk)
    return pairing.encode_g2(pairing.g2_mul(_h(msg), sk))


def verify(pk: bytes, msg: bytes, sig: bytes) -> bool:
    """Verify(PK, message, signature)."""
    try:
        p = decode_public_key(pk)
        s = decode_signature(sig)
    except DecodeError:
        return False
    return pairing.pairing_check([p, -group.generator()], [_h(msg), s])


def aggregate(signatures: Sequence[bytes]) -> bytes:
    """Aggregate(σ_1, …, σ_n); raise ValueError on an empty list or an invalid signature."""
    if not signatures:
        raise ValueError("nothing to aggregate")
    acc = pairing.g2_identity()
    for sig in signatures:
        acc = pairing.g2_add(acc, decode_signature(sig))
    return pairing.encode_g2(acc)


def aggregate_verify(pks: Sequence[bytes], msgs: Sequence[bytes], sig: bytes) -> bool:
    """AggregateVerify((PK_i), (m_i), σ) of the proof-of-possession scheme."""
    if not pks or len(pks) != len(msgs):
        return False
    try:
        points = [decode_public_key(pk) for pk in pks]
        s = decode_signature(sig)
    except DecodeError:
        return False
    return pairing.pairing_check([*points, -group.generator()], [*(_h(m) for m in msgs), s])


def fast_aggregate_verify(pks: Sequence[bytes], msg: bytes, sig: bytes) -> bool:
    """FastAggregateVerify((PK_i), m, σ): Verify under Σ PK_i."""
    if not pks:
        return False
    try:
        points = [decode_public_key(pk) for pk in pks]
        s = decode_signature(sig)
    except DecodeError:
        return False
    total = points[0]
    for p in points[1:]:
        total = total + p
    if group.is_identity(total):
        return False
    return pairing.pairing_check([total, -group.generator()], [_h(msg), s])


def batch_verify(
    items: Sequence[tuple[bytes, bytes, bytes]], weights: Sequence[int] | None = None
) -> bool:
    """Whether every (PK, message, σ) verifies, as one pairing product with random weights.

    Σ over i of e(r_i·PK_i, H(m_i)), minus e(P1, Σ r_i·σ_i): a false signature survives with
    probability about 2^−64 per item. Identity signatures are refused outright.
    """
    if not items:
        return False
    rs = list(weights) if weights is not None else [secrets.randbits(64) | 1 for _ in items]
    g1s: list[group.Point] = []
    g2s: list[object] = []
    total = pairing.g2_identity()
    try:
        for (pk, msg, sig), r in zip(items, rs, strict=True):
            p = decode_public_key(pk)
            s = decode_signature(sig)
            if pairing.g2_is_identity(s):
                return False
            g1s.append(group.mul(p, r))
            g2s.append(_h(msg))
            total = pairing.g2_add(total, pairing.g2_mul(s, r))
    except DecodeError:
        return False
    return pairing.pairing_check([*g1s, -group.generator()], [*g2s, total])


__all__ = [
    "DST_POP",
    "DST_SIG",
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "aggregate",
    "aggregate_verify",
    "batch_verify",
    "decode_public_key",
    "decode_signature",
    "fast_aggregate_verify",
    "generate_secret_key",
    "key_gen",
    "key_validate",
    "sign",
    "sk_to_pk",
    "verify",
]
