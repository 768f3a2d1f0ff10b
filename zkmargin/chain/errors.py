"""The errors of the chain layer: input that cannot be read (an address, a signature, a node's
answer), as opposed to a signature that reads but does not verify (a ``False``)."""

from __future__ import annotations

from ..errors import ZkMarginError


class ChainError(ZkMarginError):
    """Chain data that cannot be used: an RPC that is down or answers garbage, a snapshot that
    is not one, an address or signature that does not decode."""


class AddressError(ChainError):
    """Text that is not an address of the expected chain (bad checksum, other network)."""


class SignatureEncodingError(ChainError):
    """A signature that is not in the encoding its scheme prescribes."""
