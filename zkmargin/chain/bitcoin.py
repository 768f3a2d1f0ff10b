"""Bitcoin addresses and the three ways a key proves it controls one.

* Addresses: P2PKH and P2SH (Base58Check), P2WPKH and P2WSH (bech32, BIP-173), P2TR (bech32m,
  BIP-350), on mainnet, testnet and regtest. A checksum error or an address of another network
  is an :class:`AddressError` that says which.
* BIP-137 legacy signed messages: a 65-byte compact recoverable signature in base64 whose header
  (27–42) says the key's form and the address type; the key recovered from it must hash to the
  address.
* BIP-322 *simple* signatures for P2WPKH (BIP-143 sighash, ECDSA) and P2TR key path (BIP-341
  sighash, BIP-340 Schnorr): the witness that spends the virtual ``to_spend`` transaction, which
  commits to the message, in the virtual ``to_sign`` transaction.
* P2WSH m-of-n multisig: the witness script ``OP_m <keys> OP_n OP_CHECKMULTISIG`` must hash to
  the address, and BIP-137 signatures by m *distinct* keys of the script must verify.

Curve operations are libsecp256k1's (coincurve); hashes are hashlib's. This module only
serialises transactions and assembles the bytes that are hashed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Literal

import base58
import bech32m
from coincurve import PublicKey, PublicKeyXOnly

from .errors import AddressError, SignatureEncodingError

Kind = Literal["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"]


@dataclass(frozen=True)
class Network:
    name: str
    p2pkh: int
    p2sh: int
    hrp: str


#: The chain names a wallets file uses for Bitcoin, and their address parameters.
NETWORKS = {
    "bitcoin": Network("bitcoin", 0x00, 0x05, "bc"),
    "bitcoin-testnet": Network("bitcoin-testnet", 0x6F, 0xC4, "tb"),
    "bitcoin-regtest": Network("bitcoin-regtest", 0x6F, 0xC4, "bcrt"),
}


def network(chain: str) -> Network:
    """The address parameters of a Bitcoin chain name."""
    try:
        return NETWORKS[chain]
    except KeyError:
        raise AddressError(f"{chain!r} is not a Bitcoin chain ({', '.join(NETWORKS)})") from None


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    return sha256(sha256(data))


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", sha256(data)).digest()


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP-340's SHA256(SHA256(tag) ‖ SHA256(tag) ‖ data)."""
    t = sha256(tag.encode())
    return sha256(t + t + data)


# ----- addresses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A decoded address: its network, its type and its hash or witness program."""

    network: Network
    kind: Kind
    program: bytes

    def script_pubkey(self) -> bytes:
        """The output script that pays this address."""
        p = self.program
        if self.kind == "p2pkh":
            return b"\x76\xa9\x14" + p + b"\x88\xac"
        if self.kind == "p2sh":
            return b"\xa9\x14" + p + b"\x87"
        version = 0 if self.kind in ("p2wpkh", "p2wsh") else 0x51
        return bytes([version, len(p)]) + p

    def encode(self) -> str:
        """The address's canonical text (bech32 lowercase)."""
        n = self.network
        if self.kind == "p2pkh":
            return str(base58.b58encode_check(bytes([n.p2pkh]) + self.program).decode())
        if self.kind == "p2sh":
            return str(base58.b58encode_check(bytes([n.p2sh]) + self.program).decode())
        return str(bech32m.encode(n.hrp, 1 if self.kind == "p2tr" else 0, self.program))


def _decode_on(text: str, net: Network) -> Address:
    """Decode under one network; AddressError with the reason otherwise."""
    lower = text.lower()
    if lower.startswith(net.hrp + "1"):
        try:
            version, program = bech32m.decode(net.hrp, text)
        except bech32m.DecodeError:
            raise AddressError(f"{text}: bad bech32/bech32m checksum or encoding") from None
        program = bytes(program)
        if version == 0 and len(program) == 20:
            return Address(net, "p2wpkh", program)
        if version == 0 and len(program) == 32:
            return Address(net, "p2wsh", program)
        if version == 1 and len(program) == 32:
            return Address(net, "p2tr", program)
        raise AddressError(f"{text}: witness version {version} is not supported")
    if any(lower.startswith(n.hrp + "1") for n in NETWORKS.values()):
        raise AddressError(f"{text}: not an address of {net.name}")
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        raise AddressError(f"{text}: bad Base58Check checksum or encoding") from None
    if len(raw) != 21:
        raise AddressError(f"{text}: a Base58 address holds 21 bytes, not {len(raw)}")
    if raw[0] == net.p2pkh:
        return Address(net, "p2pkh", raw[1:])
    if raw[0] == net.p2sh:
        return Address(net, "p2sh", raw[1:])
    raise AddressError(f"{text}: not an address of {net.name} (version byte {raw[0]})")


def decode_address(text: str, chain: str) -> Address:
    """The address ``text`` on ``chain``; refuse a bad checksum, an unsupported type and an
    address of another network (naming the network it belongs to)."""
    net = network(chain)
    try:
        addr = _decode_on(text, net)
    except AddressError:
        for other in NETWORKS.values():
            if other is net:
                continue
            try:
                _decode_on(text, other)
            except AddressError:
                continue
            raise AddressError(f"{text}: an address of {other.name}, not of {net.name}") from None
        raise
    if addr.kind in ("p2wpkh", "p2wsh", "p2tr") and text != addr.encode():
        raise AddressError(f"{text}: write bech32 addresses in lowercase ({addr.encode()})")
    return addr


def p2wpkh_address(pubkey: bytes, chain: str) -> str:
    return Address(network(chain), "p2wpkh", hash160(pubkey)).encode()


def p2pkh_address(pubkey: bytes, chain: str) -> str:
    return Address(network(chain), "p2pkh", hash160(pubkey)).encode()


def p2sh_p2wpkh_address(pubkey: bytes, chain: str) -> str:
    redeem = b"\x00\x14" + hash160(pubkey)
    return Address(network(chain), "p2sh", hash160(redeem)).encode()


def taproot_output_key(internal_key: bytes) -> bytes:
    """BIP-86's output key for an x-only internal key with no script path: P + H(P)·G."""
    tweak = tagged_hash("TapTweak", internal_key)
    key = PublicKeyXOnly(internal_key)
    key.tweak_add(tweak)  # in place
    return bytes(key.format())


def p2tr_address(internal_key: bytes, chain: str) -> str:
    return Address(network(chain), "p2tr", taproot_output_key(internal_key)).encode()


def p2wsh_address(witness_script: bytes, chain: str) -> str:
    return Address(network(chain), "p2wsh", sha256(witness_script)).encode()


# ----- BIP-137 legacy signed messages ----------------------------------------------------------

MESSAGE_MAGIC = b"Bitcoin Signed Message:\n"


def varint(n: int) -> bytes:
    """Bitcoin's CompactSize."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def message_hash(message: str) -> bytes:
    """The legacy signed-message digest: SHA256d(varint ‖ magic ‖ varint(len) ‖ message)."""
    m = message.encode()
    return sha256d(varint(len(MESSAGE_MAGIC)) + MESSAGE_MAGIC + varint(len(m)) + m)


def _b64(signature: str, what: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureEncodingError(f"the {what} signature is not base64") from None


def compact_signature(signature: str) -> tuple[int, bytes]:
    """(header, 64-byte r‖s) of a base64 BIP-137 signature; refuse another length or header."""
    raw = _b64(signature, "BIP-137")
    if len(raw) != 65:
        raise SignatureEncodingError(f"a BIP-137 signature has 65 bytes, not {len(raw)}")
    if not 27 <= raw[0] <= 42:
        raise SignatureEncodingError(f"BIP-137 header {raw[0]} is not in 27…42")
    return raw[0], raw[1:]


def recover_bip137(message: str, signature: str) -> tuple[bytes, str]:
    """The key that made a BIP-137 signature (SEC encoding, compressed unless the header says
    uncompressed) and the address type its header claims."""
    header, rs = compact_signature(signature)
    recid = (header - 27) & 3
    form = ("p2pkh-uncompressed", "p2pkh", "p2sh-p2wpkh", "p2wpkh")[(header - 27) >> 2]
    try:
        key = PublicKey.from_signature_and_message(
            rs + bytes([recid]), message_hash(message), hasher=None
        )
    except Exception:  # libsecp256k1 refuses r or s out of range, or no point
        raise SignatureEncodingError("the BIP-137 signature recovers no key") from None
    return bytes(key.format(compressed=form != "p2pkh-uncompressed")), form


def verify_bip137(address: Address, message: str, signature: str) -> bool:
    """Whether ``signature`` is a BIP-137 signature of ``message`` by the key of ``address``
    (P2PKH with either key form, P2SH-P2WPKH, P2WPKH). The recovered key must hash to the
    address; a segwit address also accepts the compressed-P2PKH headers 31–34 that Electrum and
    others write, since the key is what is checked."""
    key, form = recover_bip137(message, signature)
    if address.kind == "p2pkh":
        return form in ("p2pkh", "p2pkh-uncompressed") and hash160(key) == address.program
    if address.kind == "p2sh":
        ok = form in ("p2sh-p2wpkh", "p2pkh")
        return ok and hash160(b"\x00\x14" + hash160(key)) == address.program
    if address.kind == "p2wpkh":
        return form in ("p2wpkh", "p2pkh") and hash160(key) == address.program
    return False


# ----- BIP-322 simple signatures -------------------------------------------------------------


def bip322_message_hash(message: str) -> bytes:
    return tagged_hash("BIP0322-signed-message", message.encode())


@dataclass(frozen=True)
class VirtualTx:
    """One input, one output, version 0, lock time 0: BIP-322's virtual transactions."""

    prevout: bytes  # 32-byte txid (internal byte order) ‖ 4-byte index
    script_sig: bytes
    sequence: int
    value: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        """The non-witness serialisation (what the txid hashes)."""
        return (
            (0).to_bytes(4, "little")
            + b"\x01"
            + self.prevout
            + varint(len(self.script_sig))
            + self.script_sig
            + self.sequence.to_bytes(4, "little")
            + b"\x01"
            + self.value.to_bytes(8, "little")
            + varint(len(self.script_pubkey))
            + self.script_pubkey
            + (0).to_bytes(4, "little")
        )

    def txid(self) -> bytes:
        """The txid in internal byte order (reverse it to display)."""
        return sha256d(self.serialize())


def to_spend(script_pubkey: bytes, message: str) -> VirtualTx:
    """The transaction whose only output the signature spends: it commits to the message."""
    prevout = b"\x00" * 32 + b"\xff\xff\xff\xff"
    script_sig = b"\x00\x20" + bip322_message_hash(message)
    return VirtualTx(prevout, script_sig, 0, 0, script_pubkey)


def to_sign(script_pubkey: bytes, message: str) -> VirtualTx:
    """The transaction the signature's witness belongs to: it spends ``to_spend`` output 0 to
    an OP_RETURN."""
    prevout = to_spend(script_pubkey, message).txid() + b"\x00\x00\x00\x00"
    return VirtualTx(prevout, b"", 0, 0, b"\x6a")


def _output_bytes(tx: VirtualTx) -> bytes:
    return tx.value.to_bytes(8, "little") + varint(len(tx.script_pubkey)) + tx.script_pubkey


def bip143_sighash(tx: VirtualTx, script_code: bytes, amount: int, hash_type: int) -> bytes:
    """BIP-143's digest for input 0 of a one-input, one-output transaction, SIGHASH_ALL."""
    seq = tx.sequence.to_bytes(4, "little")
    return sha256d(
        (0).to_bytes(4, "little")
        + sha256d(tx.prevout)
        + sha256d(seq)
        + tx.prevout
        + varint(len(script_code))
        + script_code
        + amount.to_bytes(8, "little")
        + seq
        + sha256d(_output_bytes(tx))
        + (0).to_bytes(4, "little")
        + hash_type.to_bytes(4, "little")
    )


def bip341_sighash(tx: VirtualTx, spent_script: bytes, amount: int, hash_type: int) -> bytes:
    """BIP-341's key-path digest for input 0 (SIGHASH_DEFAULT or SIGHASH_ALL, no annex)."""
    body = (
        b"\x00"
        + bytes([hash_type])
        + (0).to_bytes(4, "little")
        + (0).to_bytes(4, "little")
        + sha256(tx.prevout)
        + sha256(amount.to_bytes(8, "little"))
        + sha256(varint(len(spent_script)) + spent_script)
        + sha256(tx.sequence.to_bytes(4, "little"))
        + sha256(_output_bytes(tx))
        + b"\x00"
        + (0).to_bytes(4, "little")
    )
    return tagged_hash("TapSighash", body)


def parse_witness(signature: str) -> list[bytes]:
    """A BIP-322 simple signature: base64 of the consensus-encoded witness stack."""
    raw = _b64(signature, "BIP-322")
    items: list[bytes] = []
    at = 0

    def read_varint() -> int:
        nonlocal at
        if at >= len(raw):
            raise SignatureEncodingError("the BIP-322 witness is truncated")
        first = raw[at]
        width = {0xFD: 2, 0xFE: 4, 0xFF: 8}.get(first, 0)
        if at + 1 + width > len(raw):
            raise SignatureEncodingError("the BIP-322 witness is truncated")
        n = int.from_bytes(raw[at + 1 : at + 1 + width], "little") if width else first
        at += 1 + width
        return n

    count = read_varint()
    if count > 16:
        raise SignatureEncodingError(f"a simple signature's witness has {count} items")
    for _ in range(count):
        n = read_varint()
        if at + n > len(raw):
            raise SignatureEncodingError("the BIP-322 witness is truncated")
        items.append(raw[at : at + n])
        at += n
    if at != len(raw):
        raise SignatureEncodingError("bytes after the BIP-322 witness")
    return items


def verify_bip322_simple(address: Address, message: str, signature: str) -> bool:
    """Whether ``signature`` is a BIP-322 simple signature of ``message`` for a P2WPKH address
    (witness [DER signature ‖ SIGHASH_ALL, key], the key hashing to the address, BIP-143) or a
    P2TR address, key path (witness [64-byte Schnorr signature, or 65 with SIGHASH_ALL],
    BIP-341). Other address types are refused with an :class:`SignatureEncodingError`."""
    witness = parse_witness(signature)
    spk = address.script_pubkey()
    tx = to_sign(spk, message)
    if address.kind == "p2wpkh":
        if len(witness) != 2 or len(witness[1]) != 33 or not witness[0]:
            raise SignatureEncodingError("a P2WPKH witness is [signature, compressed key]")
        der, hash_type = witness[0][:-1], witness[0][-1]
        key = witness[1]
        if hash_type != 0x01 or hash160(key) != address.program:
            return False
        code = b"\x76\xa9\x14" + address.program + b"\x88\xac"
        digest = bip143_sighash(tx, code, 0, hash_type)
        try:
            return bool(PublicKey(key).verify(der, digest, hasher=None))
        except Exception:  # a key off the curve, a malformed DER signature
            return False
    if address.kind == "p2tr":
        if len(witness) != 1 or len(witness[0]) not in (64, 65):
            raise SignatureEncodingError("a P2TR key-path witness is one 64- or 65-byte signature")
        sig = witness[0]
        hash_type = sig[64] if len(sig) == 65 else 0x00
        if len(sig) == 65 and hash_type != 0x01:
            return False
        digest = bip341_sighash(tx, spk, 0, hash_type)
        try:
            return bool(PublicKeyXOnly(address.program).verify(sig[:64], digest))
        except Exception:  # an output key that is no curve point
            return False
    raise SignatureEncodingError(
        f"BIP-322 simple signatures are checked for P2WPKH and P2TR, not {address.kind}"
    )


def bip322_witness(items: list[bytes]) -> str:
    """The base64 simple signature of a witness stack (for signers and tests)."""
    out = varint(len(items)) + b"".join(varint(len(i)) + i for i in items)
    return base64.b64encode(out).decode()


# ----- P2WSH m-of-n multisig -----------------------------------------------------------------


def parse_multisig(script: bytes) -> tuple[int, list[bytes]]:
    """(m, keys) of ``OP_m <33-byte key>… OP_n OP_CHECKMULTISIG`` with 1 ≤ m ≤ n ≤ 16;
    SignatureEncodingError for any other script."""
    bad = SignatureEncodingError("the witness script is not OP_m <keys> OP_n OP_CHECKMULTISIG")
    if len(script) < 3 or script[-1] != 0xAE:
        raise bad
    m, n = script[0] - 0x50, script[-2] - 0x50
    if not 1 <= m <= n <= 16 or len(script) != 3 + 34 * n:
        raise bad
    keys = []
    for j in range(n):
        chunk = script[1 + 34 * j : 1 + 34 * (j + 1)]
        if chunk[0] != 33 or chunk[1] not in (2, 3):
            raise bad
        keys.append(chunk[1:])
    return m, keys


def multisig_script(m: int, keys: list[bytes]) -> bytes:
    """``OP_m <keys> OP_n OP_CHECKMULTISIG`` (for wallets and tests)."""
    return bytes([0x50 + m]) + b"".join(b"\x21" + k for k in keys) + bytes([0x50 + len(keys), 0xAE])


def verify_multisig(
    address: Address, witness_script: bytes, message: str, signatures: list[str]
) -> str:
    """The empty string if the P2WSH ``address`` is ``witness_script``'s and m distinct keys of
    the script made BIP-137 signatures of ``message``; otherwise the reason it is not. A key
    that signs twice counts once; a signature by no key of the script is refused."""
    if address.kind != "p2wsh":
        return f"a multisig must be a P2WSH address, not {address.kind}"
    if sha256(witness_script) != address.program:
        return "the witness script does not hash to the address"
    m, keys = parse_multisig(witness_script)
    signers: set[bytes] = set()
    for j, sig in enumerate(signatures):
        key, form = recover_bip137(message, sig)
        if form == "p2pkh-uncompressed" or key not in keys:
            return f"signature {j + 1} is not by a key of the witness script"
        signers.add(key)
    if len(signers) < m:
        return f"{len(signers)} distinct keys of the script signed; the script needs {m}"
    return ""
