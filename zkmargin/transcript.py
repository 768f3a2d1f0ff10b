"""The Fiat–Shamir transcript (draft-irtf-cfrg-fiat-shamir, SHAKE128 suite) and every label.

Layers of this module, from the draft up:

* :class:`DuplexSponge` — ``Init(session_id)``, ``Absorb(x)``, ``Squeeze(n)`` over SHAKE128
  (rate R = 168 bytes; the 32-byte session identifier is zero-padded to one rate block).
* codecs — ``LE``/``LE2IP``, ``SerializeUint``/``DeserializeUint``, field and variable-length string
  (de)serialization, and ``DecodeUint`` (squeeze Ns + 16 bytes, reduce mod M).
* :func:`derive_session_id` — ``DeriveSessionID(tag)``.
* :class:`Transcript` — what zkmargin's protocols use: typed absorbs of points, scalars and
  integers, wide challenges (48 bytes reduced mod r, zero rejected) and short 128-bit challenges
  for the inner-product rounds.
* nonce sources — :class:`HedgedRng` mixes the transcript state, the witness and fresh entropy, so
  a broken random source cannot leak a witness; :class:`SpongeRng` is the draft's seeded test PRNG.

Every domain-separation string zkmargin hashes into a transcript is defined here, in the block
"Labels" below, so that a reviewer can audit them in one place.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from typing import Protocol

from .errors import DecodeError, ZkMarginError
from .group import SCALAR_BYTES, Point, R, encode_point, encode_scalar

# ---------------------------------------------------------------------------------------------
# Labels: every tag and domain string absorbed into a zkmargin transcript.
# ---------------------------------------------------------------------------------------------

#: The draft's domain separator for DeriveSessionID (exactly 32 bytes).
SESSION_ID_DOMAIN = b"irtf-cfrg-fiat-shamir/session-id"
#: The Sigma-protocol draft's session tag for deterministic batch-verification weights.
SIGMA_BATCH_TAG = b"irtf-cfrg-sigma-protocols/batch-verify"
#: The Sigma-protocol ciphersuite zkmargin implements.
SIGMA_CIPHERSUITE = "sigma-proofs_Shake128_BLS12381"
#: zkmargin's own ciphersuite: SHAKE128 duplex sponge over BLS12-381 G1, draft codecs.
ZKMARGIN_CIPHERSUITE = "Shake128_BLS12381G1"
#: Protocol version carried by every zkmargin tag.
ZKMARGIN_VERSION = "V01"


def protocol_tag(protocol: str, flavor: str = "DSFS") -> bytes:
    """The session tag of a zkmargin protocol: ``zkmargin-V01-{protocol}-{flavor}-with-{suite}``.

    Fixed-width fields separated by ``-`` with no ``-`` inside ``protocol`` keep the encoding
    unambiguous, as the draft requires of composite tags.
    """
    if "-" in protocol or not protocol.isascii() or not protocol:
        raise ValueError(f"protocol name must be non-empty ASCII without '-': {protocol!r}")
    return f"zkmargin-{ZKMARGIN_VERSION}-{protocol}-{flavor}-with-{ZKMARGIN_CIPHERSUITE}".encode()


#: Aggregated Bulletproofs range proofs (rangeproof/).
RANGEPROOF_TAG = protocol_tag("rangeproof_bulletproofs_asymfold")
#: Weights of batch verification of range proofs.
RANGEPROOF_BATCH_TAG = protocol_tag("rangeproof_batch_weights")
#: Hedged nonce derivation.
HEDGED_RNG_TAG = protocol_tag("hedged_nonces")
#: Seeded entropy source for reproducible tests and demos (never for production proofs).
SEEDED_ENTROPY_TAG = protocol_tag("seeded_entropy_for_tests")
#: Deterministic nonces of an exchange publication (keyed by the venue's master secret).
DERIVED_NONCE_TAG = protocol_tag("derived_nonces")
#: The context of a reserves proof: reserve − total ≥ 0 per column of a signed root.
RESERVES_TAG = protocol_tag("reserves_proof")


def sigma_tag(application: str, flavor: str) -> bytes:
    """A Sigma-proof tag holding the flavor marker and the ciphersuite verbatim (draft §5.1)."""
    if flavor not in ("DSFS", "CMPT"):
        raise ValueError(f"flavor must be DSFS or CMPT, got {flavor!r}")
    return f"zkmargin-{ZKMARGIN_VERSION}-{application}-{flavor}-with-{SIGMA_CIPHERSUITE}".encode()


# ---------------------------------------------------------------------------------------------
# The duplex sponge (SHAKE128).
# ---------------------------------------------------------------------------------------------

RATE = 168


class DuplexSponge:
    """The XOF duplex sponge over SHAKE128.

    ``Absorb(x); Absorb(y)`` equals ``Absorb(x ‖ y)``; consecutive squeezes continue one output
    stream; absorbing a non-empty string after a squeeze starts a new stream over everything
    absorbed so far.
    """

    __slots__ = ("_ctx", "_out", "_pos")

    def __init__(self, session_id: bytes) -> None:
        if len(session_id) != 32:
            raise ValueError(f"a session identifier is 32 bytes, got {len(session_id)}")
        self._ctx = hashlib.shake_128(session_id + bytes(RATE - 32))
        self._out: bytes | None = None
        self._pos = 0

    def absorb(self, data: bytes) -> None:
        """Absorb(x)."""
        if data:
            self._ctx.update(data)
            self._out = None

    def squeeze(self, n: int) -> bytes:
        """Squeeze(n): the next n bytes of the output stream."""
        if n < 0:
            raise ValueError("cannot squeeze a negative number of bytes")
        if self._out is None:
            self._out = b""
            self._pos = 0
        end = self._pos + n
        if end > len(self._out):
            self._out = self._ctx.copy().digest(max(end, 2 * len(self._out), 64))
        chunk = self._out[self._pos : end]
        self._pos = end
        return chunk

    def copy(self) -> DuplexSponge:
        """An independent copy of the state."""
        twin = DuplexSponge.__new__(DuplexSponge)
        twin._ctx = self._ctx.copy()
        twin._out = self._out
        twin._pos = self._pos
        return twin


def derive_session_id(tag: bytes) -> bytes:
    """DeriveSessionID(tag) = Squeeze(32) after Init(SESSION_ID_DOMAIN) and Absorb(tag)."""
    sponge = DuplexSponge(SESSION_ID_DOMAIN)
    sponge.absorb(tag)
    return sponge.squeeze(32)


# ---------------------------------------------------------------------------------------------
# Codecs.
# ---------------------------------------------------------------------------------------------


def byte_length(modulus: int) -> int:
    """Ns: the smallest integer with 256^Ns >= M."""
    if modulus < 2:
        raise ValueError("modulus must be at least 2")
    return ((modulus - 1).bit_length() + 7) // 8


def le(n: int, width: int) -> bytes:
    """LE(n, w): n as a w-byte little-endian string; fails unless 0 <= n < 256^w."""
    if n < 0 or n >= 1 << (8 * width):
        raise ValueError(f"{n} does not fit in {width} bytes")
    return n.to_bytes(width, "little")


def le2ip(data: bytes) -> int:
    """LE2IP(x)."""
    return int.from_bytes(data, "little")


def serialize_uint(x: int, modulus: int, *, big_endian: bool = False) -> bytes:
    """SerializeUint(x, M): the Ns-byte encoding of x in [0, M)."""
    if not 0 <= x < modulus:
        raise ValueError(f"{x} is not in [0, {modulus})")
    return x.to_bytes(byte_length(modulus), "big" if big_endian else "little")


def deserialize_uint(data: bytes, modulus: int, *, big_endian: bool = False) -> tuple[int, bytes]:
    """DeserializeUint(input, M): read Ns bytes; reject short input and values >= M."""
    ns = byte_length(modulus)
    if len(data) < ns:
        raise DecodeError(f"need {ns} bytes for an integer mod M, got {len(data)}")
    x = int.from_bytes(data[:ns], "big" if big_endian else "little")
    if x >= modulus:
        raise DecodeError("integer is not canonical (>= modulus)")
    return x, data[ns:]


def serialize_field(coords: Sequence[int], p: int, *, big_endian: bool = False) -> bytes:
    """SerializeField(a, p, m): the coordinates of an F_{p^m} element, least significant first."""
    return b"".join(serialize_uint(c, p, big_endian=big_endian) for c in coords)


def deserialize_field(data: bytes, p: int, m: int) -> tuple[list[int], bytes]:
    """DeserializeField(input, p, m): every coordinate must be canonical."""
    coords = []
    for _ in range(m):
        c, data = deserialize_uint(data, p)
        coords.append(c)
    return coords, data


def serialize_varlen(data: bytes) -> bytes:
    """SerializeVarLenString(s) = LE(len(s), 4) ‖ s."""
    return le(len(data), 4) + data


def deserialize_varlen(data: bytes) -> tuple[bytes, bytes]:
    """DeserializeVarLenString(input): a 4-byte length, then that many bytes."""
    if len(data) < 4:
        raise DecodeError("a variable-length string needs a 4-byte length prefix")
    n = le2ip(data[:4])
    if len(data) - 4 < n:
        raise DecodeError(f"length prefix {n} exceeds the {len(data) - 4} bytes that remain")
    return data[4 : 4 + n], data[4 + n :]


def decode_uint(buf: bytes, modulus: int) -> int:
    """DecodeUint(buf, M) = LE2IP(buf) mod M, for buf of Ns + 16 bytes (bias <= 2^-128)."""
    if len(buf) != byte_length(modulus) + 16:
        raise ValueError(f"DecodeUint needs {byte_length(modulus) + 16} bytes, got {len(buf)}")
    return le2ip(buf) % modulus


#: Bytes squeezed for a full scalar challenge: Ns + 16 = 48.
WIDE_CHALLENGE_BYTES = SCALAR_BYTES + 16
#: Bytes squeezed for a short inner-product challenge (uniform in [0, 2^128), no reduction).
SHORT_CHALLENGE_BYTES = 16


class ZeroChallenge(ZkMarginError):
    """A challenge came out as zero; the protocol rejects rather than divide or collapse by it."""


# ---------------------------------------------------------------------------------------------
# The typed transcript zkmargin's protocols use.
# ---------------------------------------------------------------------------------------------


class Transcript:
    """A duplex-sponge transcript for one proof.

    The caller absorbs the encoded instance first (the whole public statement), then each prover
    message in order as it is produced or parsed, and squeezes each challenge when the protocol
    asks for it. Encodings are the draft's: points in 48 compressed bytes, scalars in 32
    big-endian bytes (the Sigma ciphersuite), integers as ``LE(n, 4)`` or ``LE(n, 8)``.
    """

    __slots__ = ("_sponge", "session_id")

    def __init__(self, tag: bytes) -> None:
        self.session_id = derive_session_id(tag)
        self._sponge = DuplexSponge(self.session_id)

    def absorb_bytes(self, data: bytes) -> None:
        """Absorb bytes whose length the protocol fixes (SerializeBytes)."""
        self._sponge.absorb(data)

    def absorb_varlen(self, data: bytes) -> None:
        """Absorb a length-prefixed byte string (SerializeVarLenString)."""
        self._sponge.absorb(serialize_varlen(data))

    def absorb_u32(self, n: int) -> None:
        """Absorb LE(n, 4)."""
        self._sponge.absorb(le(n, 4))

    def absorb_u64(self, n: int) -> None:
        """Absorb LE(n, 8)."""
        self._sponge.absorb(le(n, 8))

    def absorb_point(self, point: Point) -> None:
        """Absorb one compressed point."""
        self._sponge.absorb(encode_point(point))

    def absorb_points(self, points: Sequence[Point]) -> None:
        """Absorb each point's encoding, in order (never their sum)."""
        self._sponge.absorb(b"".join(encode_point(p) for p in points))

    def absorb_scalar(self, k: int) -> None:
        """Absorb a canonical 32-byte scalar."""
        self._sponge.absorb(encode_scalar(k))

    def challenge_scalar(self) -> int:
        """A scalar challenge: DecodeUint(Squeeze(48), r). Zero is rejected."""
        c = le2ip(self._sponge.squeeze(WIDE_CHALLENGE_BYTES)) % R
        if c == 0:
            raise ZeroChallenge("scalar challenge is zero")
        return c

    def challenge_short(self) -> int:
        """A 128-bit challenge: LE2IP(Squeeze(16)), uniform in [1, 2^128). Zero is rejected."""
        c = le2ip(self._sponge.squeeze(SHORT_CHALLENGE_BYTES))
        if c == 0:
            raise ZeroChallenge("short challenge is zero")
        return c

    def state_digest(self) -> bytes:
        """32 bytes bound to everything absorbed so far, squeezed from a copy (state unchanged)."""
        return self._sponge.copy().squeeze(32)


# ---------------------------------------------------------------------------------------------
# Nonces.
# ---------------------------------------------------------------------------------------------


class Rng(Protocol):
    """A source of uniformly random scalars for a prover."""

    def random_scalar(self) -> int:
        """One scalar, uniform in [0, r)."""
        ...

    def random_scalars(self, count: int) -> list[int]:
        """``count`` scalars, each uniform in [0, r)."""
        ...


#: A source of fresh entropy: given n, return n random bytes.
EntropySource = Callable[[int], bytes]


class SpongeRng:
    """Scalars squeezed from a duplex sponge: DecodeUint(Squeeze(48), r), one after another.

    With ``session_id = DeriveSessionID(tag)`` this is the Sigma draft's seeded test PRNG.
    """

    __slots__ = ("_sponge",)

    def __init__(self, sponge: DuplexSponge) -> None:
        self._sponge = sponge

    @classmethod
    def from_tag(cls, tag: bytes) -> SpongeRng:
        """The seeded PRNG ``Init(DeriveSessionID(tag))``."""
        return cls(DuplexSponge(derive_session_id(tag)))

    def random_scalar(self) -> int:
        return le2ip(self._sponge.squeeze(WIDE_CHALLENGE_BYTES)) % R

    def random_scalars(self, count: int) -> list[int]:
        buf = self._sponge.squeeze(WIDE_CHALLENGE_BYTES * count)
        w = WIDE_CHALLENGE_BYTES
        return [int.from_bytes(buf[i : i + w], "little") % R for i in range(0, len(buf), w)]


def seeded_entropy(seed: bytes) -> EntropySource:
    """A deterministic entropy source for reproducible tests and demos. Never use it to prove."""
    sponge = DuplexSponge(derive_session_id(SEEDED_ENTROPY_TAG))
    sponge.absorb(serialize_varlen(seed))
    return sponge.squeeze


def system_entropy(n: int) -> bytes:
    """Fresh bytes from the operating system (``secrets``)."""
    return secrets.token_bytes(n)


def derived_rng(key: bytes, *parts: bytes) -> SpongeRng:
    """Nonces derived from a secret ``key`` and everything proven (statement and witness), the way
    deterministic signatures derive theirs (RFC 6979): the same proof of the same witness gives
    the same bytes, and any change of statement or witness gives unrelated nonces."""
    sponge = DuplexSponge(derive_session_id(DERIVED_NONCE_TAG))
    sponge.absorb(serialize_varlen(key))
    for part in parts:
        sponge.absorb(serialize_varlen(part))
    return SpongeRng(sponge)


def hedged_rng(transcript: Transcript, witness: bytes, entropy: EntropySource | None) -> SpongeRng:
    """Nonces bound to the statement, the witness and 32 fresh bytes together.

    The sponge absorbs a digest of the transcript state (the whole public statement), the witness
    bytes and the entropy. If the entropy source fails (repeats or is predictable), nonces still
    differ for different statements or witnesses, and stay secret while the witness is.
    """
    sponge = DuplexSponge(derive_session_id(HEDGED_RNG_TAG))
    sponge.absorb(transcript.state_digest())
    sponge.absorb(serialize_varlen(witness))
    sponge.absorb((entropy or system_entropy)(32))
    return SpongeRng(sponge)


__all__ = [
    "DERIVED_NONCE_TAG",
    "HEDGED_RNG_TAG",
    "RANGEPROOF_BATCH_TAG",
    "RANGEPROOF_TAG",
    "RESERVES_TAG",
    "SESSION_ID_DOMAIN",
    "SIGMA_BATCH_TAG",
    "SIGMA_CIPHERSUITE",
    "DuplexSponge",
    "EntropySource",
    "Rng",
    "SpongeRng",
    "Transcript",
    "ZeroChallenge",
    "byte_length",
    "decode_uint",
    "derive_session_id",
    "derived_rng",
    "deserialize_field",
    "deserialize_uint",
    "deserialize_varlen",
    "hedged_rng",
    "le",
    "le2ip",
    "protocol_tag",
    "seeded_entropy",
    "serialize_field",
    "serialize_uint",
    "serialize_varlen",
    "sigma_tag",
    "system_entropy",
]
