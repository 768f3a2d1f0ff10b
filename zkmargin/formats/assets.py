"""Files of the proof of assets: the exchange's wallets, its custodians' signatures, and the
proof of assets added to a publication.

A *chain* is ``bitcoin``, ``bitcoin-testnet``, ``bitcoin-regtest``, ``ethereum`` (chain id 1) or
``evm-<chain id>`` for any EVM chain. An *asset* is a column of the market (``BTC``, ``ETH``,
``USDT``). Amounts in the proof are decimal integer strings: ``balance`` in the chain's base
unit (satoshi, wei, the token's smallest unit), ``amount`` and totals in the column's units.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .common import STRICT, DecimalText
from .statement import Hex32, Hex48, HexBytes, IntText, Symbol, VenueName

ChainName = Annotated[
    str,
    StringConstraints(
        pattern=r"^(bitcoin|bitcoin-testnet|bitcoin-regtest|ethereum|evm-[1-9][0-9]{0,17})$",
        strict=True,
    ),
]
AddressText = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z]+$", strict=True)
]
Scheme = Literal["bip137", "bip322-simple", "eip191"]
Printable = Annotated[str, StringConstraints(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
#: The most addresses a wallets file or a proof of assets may list.
MAX_ADDRESSES = 100_000


class WalletEntry(BaseModel):
    """One reserve address: its chain, the asset (column) it holds, the address; a P2WSH
    multisig also gives its witness script; an ERC-20 balance gives the token's contract and
    decimals (the native coin of an EVM chain gives neither)."""

    model_config = STRICT
    chain: ChainName
    asset: Symbol
    address: AddressText
    witness_script: HexBytes | None = Field(default=None, max_length=2048)
    contract: AddressText | None = None
    decimals: int | None = Field(default=None, ge=0, le=36)


class OffChainAmount(BaseModel):
    """An amount held off chain (a bank, a custodian without keys): stated, never proven; it is
    always reported apart and never counted in a proven total."""

    model_config = STRICT
    asset: Symbol
    amount: DecimalText
    holder: Printable


class WalletsFile(BaseModel):
    """Format ``zkmargin/wallets/1``: the exchange's reserve addresses and its off-chain
    amounts."""

    model_config = STRICT
    format: Literal["zkmargin/wallets/1"] = "zkmargin/wallets/1"
    venue: VenueName | None = None
    wallets: list[WalletEntry] = Field(min_length=1, max_length=MAX_ADDRESSES)
    off_chain: list[OffChainAmount] = Field(default=[], max_length=4096)


class AddressSignatures(BaseModel):
    """The signatures of the reserves message for one address: one for a single key (BIP-137,
    BIP-322 simple or EIP-191), m or more BIP-137 signatures for an m-of-n P2WSH multisig."""

    model_config = STRICT
    chain: ChainName
    address: AddressText
    scheme: Scheme
    signatures: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        min_length=1, max_length=16
    )


class SignaturesFile(BaseModel):
    """Format ``zkmargin/signatures/1``: what custodians signed, per address."""

    model_config = STRICT
    format: Literal["zkmargin/signatures/1"] = "zkmargin/signatures/1"
    signatures: list[AddressSignatures] = Field(min_length=1, max_length=MAX_ADDRESSES)


class ChainSnapshot(BaseModel):
    """The height every balance of a chain is read at, and that block's hash."""

    model_config = STRICT
    chain: ChainName
    height: int = Field(ge=0, lt=1 << 63)
    block_hash: Annotated[str, StringConstraints(pattern=r"^(0x)?[0-9a-f]{64}$", strict=True)]


class Output(BaseModel):
    """An unspent Bitcoin output counted in a balance."""

    model_config = STRICT
    txid: Hex32  # type: ignore[valid-type]
    vout: int = Field(ge=0, lt=1 << 32)
    sats: IntText


class ProvenAddress(BaseModel):
    """One address of the proof: what it is, who signed for it, what it holds at the height."""

    model_config = STRICT
    chain: ChainName
    asset: Symbol
    address: AddressText
    witness_script: HexBytes | None = Field(default=None, max_length=2048)
    contract: AddressText | None = None
    token_decimals: int | None = Field(default=None, ge=0, le=36)
    scheme: Scheme
    signatures: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        min_length=1, max_length=16
    )
    height: int = Field(ge=0, lt=1 << 63)
    balance: IntText
    outputs: list[Output] = Field(default=[], max_length=1_000_000)
    amount: IntText


class AssetTotal(BaseModel):
    """An asset's proven total (the sum of its addresses' amounts) and its off-chain amount
    (stated), both in the column's units, reported apart."""

    model_config = STRICT
    asset: Symbol
    proven: IntText
    off_chain: IntText


class ProofOfAssets(BaseModel):
    """Format ``zkmargin/proof-of-assets/1``: the reserves message of a publication, every
    reserve address with its signatures and balance at its chain's height, and per-asset
    totals."""

    model_config = STRICT
    format: Literal["zkmargin/proof-of-assets/1"] = "zkmargin/proof-of-assets/1"
    venue: VenueName
    venue_key: Hex48  # type: ignore[valid-type]
    epoch: int = Field(ge=0, lt=1 << 63)
    root_hash: Hex32  # type: ignore[valid-type]
    message: Annotated[str, StringConstraints(max_length=8192)]
    chains: list[ChainSnapshot] = Field(min_length=1, max_length=64)
    addresses: list[ProvenAddress] = Field(min_length=1, max_length=MAX_ADDRESSES)
    totals: list[AssetTotal] = Field(min_length=1, max_length=4096)
    off_chain: list[OffChainAmount] = Field(default=[], max_length=4096)


class EvmBalance(BaseModel):
    """One balance of an EVM balance snapshot: an address's native coin (no ``contract``) or its
    balance of an ERC-20 ``contract`` (with the ``decimals`` the contract states), in base units
    (wei, the token's smallest unit)."""

    model_config = STRICT
    address: AddressText
    contract: AddressText | None = None
    decimals: int | None = Field(default=None, ge=0, le=36)
    balance: Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,39})$", strict=True)]


class EvmBalancesFile(BaseModel):
    """Format ``zkmargin/evm-balances/1``: the balances an exchange read from its own EVM node
    at one block (``zkmargin exchange evm-snapshot``), the EVM counterpart of a Bitcoin
    ``scantxoutset`` result. ``block_hash`` is the hash of block ``block`` of chain
    ``chain_id``; an auditor with their own node checks both and every balance."""

    model_config = STRICT
    format: Literal["zkmargin/evm-balances/1"] = "zkmargin/evm-balances/1"
    chain_id: int = Field(ge=1, lt=10**18)
    block: int = Field(ge=0, lt=1 << 63)
    block_hash: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$", strict=True)]
    balances: list[EvmBalance] = Field(max_length=MAX_ADDRESSES)


class CustodianKey(BaseModel):
    """One reserve address of the bundled example and the test keys that control it (an EVM
    account gives its ``chain``; the others are on the file's chain)."""

    model_config = STRICT
    address: AddressText
    kind: Literal["p2wpkh", "p2tr", "p2wsh-multisig", "evm"]
    chain: ChainName | None = None
    secrets: list[Hex32] = Field(min_length=1, max_length=16)  # type: ignore[valid-type]


class CustodianKeysFile(BaseModel):
    """Format ``zkmargin/example-custodian-keys/1``: the bundled example's custodian keys (test
    keys on regtest and on eth-tester's chain, holding nothing of value), so its story can sign
    each publication's message. A real custodian keeps its keys in its own wallet and gives the
    exchange only signatures."""

    model_config = STRICT
    format: Literal["zkmargin/example-custodian-keys/1"] = "zkmargin/example-custodian-keys/1"
    chain: ChainName
    keys: list[CustodianKey] = Field(min_length=1, max_length=64)
