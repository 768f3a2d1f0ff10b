"""Signing the reserves message with secp256k1 keys the caller holds, as custodians' wallets do:
for the bundled example, the benchmarks and the tests (a custodian signs with its own wallet).

Every primitive is libsecp256k1's (coincurve); this module only assembles what is signed.
"""

from __future__ import annotations

import base64

from coincurve import PrivateKey

from . import bitcoin as btc

#: BIP-137 header of recovery id 0 per address type.
HEADER_BASE = {"p2pkh-uncompressed": 27, "p2pkh": 31, "p2sh-p2wpkh": 35, "p2wpkh": 39}


def sign_bip137(key: PrivateKey, message: str, form: str = "p2wpkh") -> str:
    """A BIP-137 signature (base64) of ``message`` whose header names ``form``."""
    raw = key.sign_recoverable(btc.message_hash(message), hasher=None)
    header = HEADER_BASE[form] + raw[64]
    return base64.b64encode(bytes([header]) + raw[:64]).decode()


def sign_bip322_p2wpkh(key: PrivateKey, message: str, chain: str = "bitcoin") -> str:
    """A BIP-322 simple signature of ``message`` for the key's P2WPKH address."""
    pub = key.public_key.format()
    addr = btc.decode_address(btc.p2wpkh_address(pub, chain), chain)
    tx = btc.to_sign(addr.script_pubkey(), message)
    code = b"\x76\xa9\x14" + addr.program + b"\x88\xac"
    der = key.sign(btc.bip143_sighash(tx, code, 0, 1), hasher=None)
    return btc.bip322_witness([der + b"\x01", pub])


def taproot_secret(key: PrivateKey) -> PrivateKey:
    """The BIP-86 output key's secret: d + H_TapTweak(P), for a key whose point has an even y
    (negate it first otherwise)."""
    pub = key.public_key.format()
    if pub[0] != 2:
        raise ValueError("the internal key's point must have an even y")
    return key.add(btc.tagged_hash("TapTweak", pub[1:]))


def sign_bip322_p2tr(
    key: PrivateKey, message: str, chain: str = "bitcoin", aux: bytes = b"\x00" * 32
) -> str:
    """A BIP-322 simple signature (SIGHASH_DEFAULT) of ``message`` for the key's P2TR address
    (BIP-86: no script path)."""
    addr = btc.decode_address(btc.p2tr_address(key.public_key.format()[1:], chain), chain)
    spk = addr.script_pubkey()
    digest = btc.bip341_sighash(btc.to_sign(spk, message), spk, 0, 0)
    return btc.bip322_witness([taproot_secret(key).sign_schnorr(digest, aux)])


def sign_eip191(key: PrivateKey, message: str) -> str:
    """An EIP-191 ``personal_sign`` signature (65 bytes in hex: r ‖ s ‖ v) of ``message`` by
    the key's EVM account, made by eth-account."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    signed = Account.sign_message(encode_defunct(text=message), key.secret)
    return "0x" + bytes(signed.signature).hex()
