"""The signed root: per-column total commitments, the root hash, the epoch, the market digest
and the tree height, signed once per epoch with the venue's BLS key.

    message = "zkmargin-V01-liabilities-root" ‖ venue ‖ venue key ‖ LE(epoch, 8)
              ‖ market digest ‖ height ‖ (column ‖ total)… ‖ root hash
"""

from __future__ import annotations

from ..attest import bls
from ..errors import DecodeError
from ..formats.statement import SignedRoot
from ..transcript import le, serialize_varlen

ROOT_DOMAIN = b"zkmargin-V01-liabilities-root"


def root_message(root: SignedRoot) -> bytes:
    """The canonical bytes the venue signs (every field but the signature)."""
    if len(root.columns) != len(root.totals):
        raise DecodeError("the root names a different number of columns and totals")
    out = [
        serialize_varlen(ROOT_DOMAIN),
        serialize_varlen(root.format.encode()),
        serialize_varlen(root.venue.encode()),
        bytes.fromhex(root.venue_key),
        le(root.epoch, 8),
        bytes.fromhex(root.market_digest),
        bytes([root.height]),
        le(len(root.columns), 4),
    ]
    for symbol, total in zip(root.columns, root.totals, strict=True):
        out += [serialize_varlen(symbol.encode()), bytes.fromhex(total)]
    out.append(bytes.fromhex(root.root_hash))
    return b"".join(out)


def sign_root(unsigned: SignedRoot, secret_key: int) -> SignedRoot:
    """The root with the venue's signature over :func:`root_message`."""
    sig = bls.sign(secret_key, root_message(unsigned))
    return unsigned.model_copy(update={"signature": sig.hex()})


def signature_item(root: SignedRoot) -> tuple[bytes, bytes, bytes]:
    """(public key, message, signature), for (batch) verification."""
    return bytes.fromhex(root.venue_key), root_message(root), bytes.fromhex(root.signature)


def verify_root(root: SignedRoot) -> bool:
    """Whether the root carries a valid signature of its own venue key (the caller checks that
    key is the venue's)."""
    try:
        return bls.verify(*signature_item(root))
    except DecodeError:
        return False
