"""The Fiat–Shamir layer against every vector of draft-irtf-cfrg-fiat-shamir in ../shared."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DATA, load_json

from zkmargin.errors import DecodeError
from zkmargin.transcript import (
    DuplexSponge,
    SpongeRng,
    Transcript,
    ZeroChallenge,
    decode_uint,
    derive_session_id,
    deserialize_field,
    deserialize_uint,
    deserialize_varlen,
    hedged_rng,
    le2ip,
    protocol_tag,
    seeded_entropy,
    serialize_field,
    serialize_uint,
    serialize_varlen,
)

SHAKE = load_json(DATA / "cfrg" / "fiatShamirShake128Vectors.json")
CODEC = load_json(DATA / "cfrg" / "fiatShamirCodecVectors.json")


def _int(v: str | int) -> int:
    return v if isinstance(v, int) else int(v, 0)


def _run_sponge(session_id: bytes, operations: list[dict[str, Any]]) -> bytes:
    sponge = DuplexSponge(session_id)
    out = b""
    for op in operations:
        if op["type"] == "absorb":
            sponge.absorb(bytes.fromhex(op["data"]))
        elif op["type"] == "squeeze":
            out += sponge.squeeze(op["length"])
        else:
            raise AssertionError(f"unknown operation {op['type']}")
    return out


# The draft's toy sumcheck protocol (its appendix), built on the library's codecs.
def sumcheck_verify(session_id: bytes, p: int, v: int, claimed: int, narg: bytes) -> int:
    """SumcheckVerify without the final oracle check; returns the final claim or raises."""
    sponge = DuplexSponge(session_id)
    sponge.absorb(serialize_uint(v, 2**32) + serialize_field([claimed], p))
    s = claimed
    ns = 4
    for _ in range(v):
        (a0, a1), narg = deserialize_field(narg, p, 2)
        if (2 * a0 + a1) % p != s:
            raise DecodeError("round polynomial does not match the running claim")
        sponge.absorb(serialize_field([a0, a1], p))
        r = le2ip(sponge.squeeze(ns)) % p
        s = (a0 + a1 * r) % p
    if narg:
        raise DecodeError("trailing bytes")
    return s


def sumcheck_prove(session_id: bytes, p: int, v: int, w: list[int]) -> tuple[bytes, int]:
    s = sum(w) % p
    sponge = DuplexSponge(session_id)
    sponge.absorb(serialize_uint(v, 2**32) + serialize_field([s], p))
    narg = b""
    for _ in range(v):
        a0 = sum(w[0::2]) % p
        a1 = (sum(w[1::2]) - a0) % p
        msg = serialize_field([a0, a1], p)
        sponge.absorb(msg)
        narg += msg
        r = le2ip(sponge.squeeze(4)) % p
        w = [(w[2 * i] + r * (w[2 * i + 1] - w[2 * i])) % p for i in range(len(w) // 2)]
    return narg, w[0]


def _sumcheck_case(v: dict[str, Any]) -> None:
    p, nv, claimed = _int(v["Modulus"]), _int(v["NumVariables"]), _int(v["ClaimedSum"])
    if "Tag" in v:
        sid = derive_session_id(bytes.fromhex(v["Tag"]))
        if "SessionId" in v:
            assert sid.hex() == v["SessionId"]
    else:
        sid = bytes.fromhex(v["SessionId"])
    narg = bytes.fromhex(v["Narg"])
    if v.get("Expected") == "reject":
        with pytest.raises(DecodeError):
            sumcheck_verify(sid, p, nv, claimed, narg)
        return
    final = sumcheck_verify(sid, p, nv, claimed, narg)
    assert final == _int(v["FinalEvaluation"])
    if "Witness" in v:
        proved, y = sumcheck_prove(sid, p, nv, [_int(x) for x in v["Witness"]])
        assert (proved, y) == (narg, final)


@pytest.mark.parametrize("v", SHAKE, ids=[v["Id"] for v in SHAKE])
def test_shake128_vector(v: dict[str, Any]) -> None:
    assert v.get("Hash", "SHAKE128") == "SHAKE128"
    fn = v["Function"]
    if fn == "DuplexSponge":
        out = _run_sponge(bytes.fromhex(v["SessionId"]), v["Operations"])
        assert out.hex() == v["Output"]
    elif fn == "DeriveSessionID":
        assert derive_session_id(bytes.fromhex(v["Tag"])).hex() == v["Output"]
    elif fn == "DecodeUint":
        out = _run_sponge(bytes.fromhex(v["SessionId"]), v["Operations"])
        assert out.hex() == v["Output"]
        assert decode_uint(out, _int(v["Modulus"])) == _int(v["Challenge"])
    elif fn == "Sumcheck":
        _sumcheck_case(v)
    else:
        raise AssertionError(f"no runner for {fn}")


@pytest.mark.parametrize("v", CODEC, ids=[v["Id"] for v in CODEC])
def test_codec_vector(v: dict[str, Any]) -> None:
    fn = v["Function"]
    reject = v.get("Expected") == "reject"
    if fn == "SerializeVarLenString":
        assert serialize_varlen(bytes.fromhex(v["Input"])).hex() == v["Output"]
    elif fn == "DeserializeVarLenString":
        data = bytes.fromhex(v["Input"])
        if reject:
            with pytest.raises(DecodeError):
                deserialize_varlen(data)
        else:
            assert deserialize_varlen(data)[0].hex() == v["Output"]
    elif fn in ("SerializeUint", "SerializeField"):
        big = v.get("ByteOrder") == "big-endian"
        out = serialize_uint(_int(v["Value"]), _int(v["Modulus"]), big_endian=big)
        assert out.hex() == v["Output"]
    elif fn == "DeserializeUint":
        data = bytes.fromhex(v["Input"])
        if reject:
            with pytest.raises(DecodeError):
                deserialize_uint(data, _int(v["Modulus"]))
        else:
            assert deserialize_uint(data, _int(v["Modulus"]))[0] == _int(v["Value"])
    elif fn == "DeserializeField":
        data, p, m = bytes.fromhex(v["Input"]), _int(v["Modulus"]), _int(v["ExtensionDegree"])
        if reject:
            with pytest.raises(DecodeError):
                deserialize_field(data, p, m)
        else:
            coords, rest = deserialize_field(data, p, m)
            assert coords == [_int(c) for c in v["Coordinates"]] and rest == b""
    elif fn == "DecodeUint":
        assert decode_uint(bytes.fromhex(v["Input"]), _int(v["Modulus"])) == _int(v["Challenge"])
    elif fn == "Sumcheck":
        _sumcheck_case(v)
    else:
        raise AssertionError(f"no runner for {fn}")


def test_every_vector_ran() -> None:
    assert len(SHAKE) >= 13 and len(CODEC) >= 13


def test_session_id_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        DuplexSponge(b"short")


class _ZeroSponge(DuplexSponge):
    """A sponge whose output is all zero bytes, to force zero challenges."""

    def squeeze(self, n: int) -> bytes:
        return bytes(n)


def test_zero_challenges_are_rejected() -> None:
    t = Transcript(protocol_tag("test"))
    t._sponge = _ZeroSponge(bytes(32))
    with pytest.raises(ZeroChallenge):
        t.challenge_scalar()
    with pytest.raises(ZeroChallenge):
        t.challenge_short()


def test_challenges_bind_every_absorbed_byte() -> None:
    def challenge(parts: list[bytes]) -> int:
        t = Transcript(protocol_tag("test"))
        for part in parts:
            t.absorb_varlen(part)
        return t.challenge_scalar()

    base = challenge([b"ab", b"c"])
    assert base == challenge([b"ab", b"c"])
    assert base != challenge([b"a", b"bc"])  # prefix-free encoding
    assert base != challenge([b"ab", b"d"])
    assert (
        Transcript(protocol_tag("one")).challenge_scalar()
        != Transcript(protocol_tag("two")).challenge_scalar()
    )


def test_protocol_tags_are_unambiguous() -> None:
    with pytest.raises(ValueError):
        protocol_tag("range-proof")
    assert protocol_tag("rangeproof").startswith(b"zkmargin-V01-rangeproof-DSFS-with-")


def test_hedged_nonces() -> None:
    t = Transcript(protocol_tag("test"))
    fixed = seeded_entropy(b"seed")
    same = hedged_rng(t, b"witness", seeded_entropy(b"seed")).random_scalars(3)
    assert hedged_rng(t, b"witness", fixed).random_scalars(3) == same
    # A broken entropy source that always repeats still gives different nonces for different
    # witnesses or statements.
    assert hedged_rng(t, b"other witness", seeded_entropy(b"seed")).random_scalars(3) != same
    t2 = Transcript(protocol_tag("test"))
    t2.absorb_u32(1)
    assert hedged_rng(t2, b"witness", seeded_entropy(b"seed")).random_scalars(3) != same
    # Fresh system entropy makes two runs differ.
    assert (
        hedged_rng(t, b"witness", None).random_scalar()
        != hedged_rng(t, b"witness", None).random_scalar()
    )


def test_sponge_rng_is_the_drafts_prng() -> None:
    rng = SpongeRng.from_tag(b"tag")
    sponge = DuplexSponge(derive_session_id(b"tag"))
    from zkmargin.group import R

    assert rng.random_scalars(2) == [
        le2ip(sponge.squeeze(48)) % R,
        le2ip(sponge.squeeze(48)) % R,
    ]
