"""Blockchains: who controls an address, and what it holds at a height.

A low layer beside :mod:`zkmargin.formats`: it imports nothing from zkmargin's cryptographic
layers (its curve is secp256k1, through coincurve and eth-account, never BLS12-381).
:mod:`.bitcoin` decodes addresses and verifies BIP-137, BIP-322 and P2WSH multisig signatures;
:mod:`.utxo` reads a Bitcoin Core ``scantxoutset`` snapshot; :mod:`.evm` verifies EIP-191
signatures and reads native and ERC-20 balances at a block over JSON-RPC.
"""

from .errors import AddressError, ChainError, SignatureEncodingError

__all__ = ["AddressError", "ChainError", "SignatureEncodingError"]
