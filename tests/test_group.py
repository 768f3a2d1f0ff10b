"""The group layer: one validating decoder, identical behaviour on both backends."""

from __future__ import annotations

import pytest
from conftest import DATA, load_json

from zkmargin import group
from zkmargin.errors import DecodeError
from zkmargin.group import P, R

B = 4  # the curve y^2 = x^3 + 4


def _sqrt(a: int) -> int | None:
    y = pow(a, (P + 1) // 4, P)
    return y if y * y % P == a % P else None


def _encode_x(x: int, sign: int = 0) -> bytes:
    return (x | (1 << 383) | (sign << 381)).to_bytes(48, "big")


def _off_curve_x() -> int:
    x = 1
    while _sqrt(x**3 + B) is not None:
        x += 1
    return x


def _non_subgroup_x() -> int:
    """An x whose point is on the curve but outside the prime-order subgroup."""
    from py_ecc.optimized_bls12_381 import FQ, is_inf, multiply

    x = 1
    while True:
        y = _sqrt(x**3 + B)
        if y is not None and not is_inf(multiply((FQ(x), FQ(y), FQ(1)), R)):
            return x
        x += 1


def test_roundtrip_and_arithmetic(backend: str) -> None:
    g = group.generator()
    p = group.mul(g, 123456789)
    assert group.decode_point(group.encode_point(p)) == p
    assert group.msm([g, p], [2, 3]) == group.mul(g, 2 + 3 * 123456789)
    assert group.mul(g, R) == group.identity()
    assert group.mul(g, -1) == -g
    assert group.is_identity(p - p)


def test_encodings_identical_across_backends() -> None:
    encodings = {}
    for name in group.available_backends():
        with group.using(name):
            g = group.generator()
            pts = [group.mul(g, k) for k in (1, 2, 3, R - 1, 2**200 + 17)]
            encodings[name] = [group.encode_point(p) for p in pts]
            encodings[name].append(group.encode_point(group.msm(pts, [5, 7, 11, 13, 17])))
    assert encodings["native"] == encodings["reference"]


def test_msm_length_mismatch_is_an_error(backend: str) -> None:
    g = group.generator()
    with pytest.raises(ValueError, match="as many scalars as points"):
        group.msm([g, g], [1])
    with pytest.raises(ValueError, match="as many scalars as points"):
        group.msm([g], [1, 2])


def test_rfc9380_vectors(backend: str) -> None:
    data = load_json(DATA / "rfc9380_BLS12381G1_XMD_SHA-256_SSWU_RO_.json")
    assert data["suite"] == "BLS12381G1_XMD:SHA-256_SSWU_RO_"
    assert data["vectors"]
    for v in data["vectors"]:
        p = group.hash_to_curve(v["msg"].encode(), data["dst"].encode())
        assert group.affine(p) == (int(v["P.x"], 16), int(v["P.y"], 16))


def _bad_points() -> dict[str, bytes]:
    good = bytes.fromhex(
        "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    )
    x_of_g = int.from_bytes(good, "big") & ((1 << 381) - 1)
    cleared = bytes([good[0] & 0x7F]) + good[1:]
    return {
        "off_curve": _encode_x(_off_curve_x()),
        "outside_subgroup": _encode_x(_non_subgroup_x()),
        "compression_bit_cleared": cleared,
        "x_equal_p": _encode_x(P),
        "x_plus_p": _encode_x(x_of_g + P) if x_of_g + P < 1 << 381 else _encode_x(P + 1),
        "x_all_ones": _encode_x((1 << 381) - 1),
        "identity_with_sign_bit": bytes([0xE0]) + bytes(47),
        "identity_with_nonzero_x": bytes([0xC0]) + bytes(46) + b"\x01",
        "identity_without_compression": bytes(48),
        "uncompressed_identity_flag": bytes([0x40]) + bytes(47),
        "short": good[:47],
        "long": good + b"\x00",
        "empty": b"",
    }


@pytest.mark.parametrize("case", sorted(_bad_points()))
def test_decoder_rejects(backend: str, case: str) -> None:
    with pytest.raises(DecodeError):
        group.decode_point(_bad_points()[case], allow_identity=True)


def test_identity_only_where_allowed(backend: str) -> None:
    canonical = bytes([0xC0]) + bytes(47)
    with pytest.raises(DecodeError, match="identity"):
        group.decode_point(canonical)
    assert group.is_identity(group.decode_point(canonical, allow_identity=True))


def test_decoder_accepts_both_signs(backend: str) -> None:
    g = group.generator()
    for p in (g, -g, group.mul(g, 99)):
        enc = group.encode_point(p)
        assert group.decode_point(enc) == p


def test_scalar_codec(backend: str) -> None:
    assert group.decode_scalar(group.encode_scalar(R - 1)) == R - 1
    for bad in ((R).to_bytes(32, "big"), (R + 5).to_bytes(32, "big"), b"\xff" * 32):
        with pytest.raises(DecodeError, match="canonical"):
            group.decode_scalar(bad)
    for bad_len in (b"", b"\x00" * 31, b"\x00" * 33):
        with pytest.raises(DecodeError, match="32 bytes"):
            group.decode_scalar(bad_len)


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        group.set_backend("gpu")
