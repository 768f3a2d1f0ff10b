"""Ethereum and EVM chains: EIP-191 signatures, and balances at a block over JSON-RPC.

* Addresses are written in EIP-55 mixed-case checksum form; any other spelling (a wrong
  checksum, all lowercase) is an :class:`AddressError` that shows the checksummed form.
* ``personal_sign`` (EIP-191 version 0x45) signatures are verified with eth-account: the key
  recovered from the 65-byte signature must be the address's.
* Balances are read at a block number, never at "latest": ``eth_getBalance`` for the native
  coin, ``balanceOf`` and ``decimals`` of an ERC-20 contract through ``eth_call``. The node's
  chain id must be the wallet's chain. Any failure of the node (down, an error, an answer that is
  not what the method returns) is one :class:`ChainError` naming the node and the call.
* A balance snapshot (:class:`EvmSnapshot`, the file ``zkmargin/evm-balances/1`` that
  :func:`snapshot_balances` writes from the exchange's own node) answers the same reads as a
  node, for its chain id and its one block only: the EVM counterpart of a Bitcoin
  ``scantxoutset`` result, so a proof can be made, and its story shown, without a node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from eth_utils.address import to_checksum_address

from ..formats.assets import EvmBalance, EvmBalancesFile
from .errors import AddressError, ChainError, SignatureEncodingError

if TYPE_CHECKING:
    from web3 import Web3

# eth-account and web3 take a second or more to import: they are imported where used, so a
# command that touches no EVM chain does not pay for them.

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_SIG = re.compile(r"^(?:0x)?[0-9a-fA-F]{130}$")
_EVM = re.compile(r"^evm-([1-9][0-9]{0,17})$")

#: The chain names with a fixed chain id; any EVM chain is also ``evm-<chain id>``.
NAMED_CHAINS = {"ethereum": 1}

ERC20_ABI: list[dict[str, Any]] = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "decimals",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
]


def chain_id(chain: str) -> int | None:
    """The chain id of an EVM chain name (``ethereum``, ``evm-137``), None for another chain."""
    if chain in NAMED_CHAINS:
        return NAMED_CHAINS[chain]
    m = _EVM.fullmatch(chain)
    return int(m.group(1)) if m else None


def checksum_address(text: str) -> str:
    """``text`` if it is an address in EIP-55 checksum form; AddressError otherwise."""
    if not _HEX_ADDRESS.fullmatch(text):
        raise AddressError(f"{text}: not an EVM address (0x and 40 hexadecimal digits)")
    expected = str(to_checksum_address(text))
    if text != expected:
        raise AddressError(f"{text}: bad EIP-55 checksum (the address is {expected})")
    return expected


def verify_personal_sign(address: str, message: str, signature: str) -> bool:
    """Whether ``signature`` (65 bytes in hex: r ‖ s ‖ v) is an EIP-191 ``personal_sign`` of
    ``message`` by ``address``'s key; SignatureEncodingError when it is not such a signature."""
    if not _HEX_SIG.fullmatch(signature):
        raise SignatureEncodingError("an EIP-191 signature is 65 bytes in hex (r ‖ s ‖ v)")
    from eth_account import Account
    from eth_account.messages import encode_defunct

    raw = bytes.fromhex(signature.removeprefix("0x"))
    if raw[64] not in (0, 1, 27, 28):
        raise SignatureEncodingError(f"EIP-191 recovery byte v={raw[64]} is not 27 or 28")
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=raw)
    except Exception:  # eth-keys refuses r or s out of range, or a point that is not one
        raise SignatureEncodingError("the EIP-191 signature recovers no key") from None
    return bool(signer == address)


class EvmNode:
    """A JSON-RPC node, every answer checked: wraps a :class:`web3.Web3` (an HTTP URL, or any
    provider, e.g. eth-tester's)."""

    def __init__(self, w3: Web3, name: str) -> None:
        self.w3 = w3
        self.name = name

    @classmethod
    def connect(cls, url: str, *, timeout: float = 30.0) -> EvmNode:
        from web3 import Web3
        from web3.providers.rpc import HTTPProvider

        if not url.startswith(("http://", "https://")):
            raise ChainError(f"Ethereum RPC {url!r}: give an http:// or https:// URL")
        provider = HTTPProvider(url, request_kwargs={"timeout": timeout})
        return cls(Web3(provider), url)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # down, an error answer, garbage: all one failure of the node
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ChainError(f"Ethereum RPC {self.name}: {what} failed: {reason}") from None

    def _uint(self, value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ChainError(f"Ethereum RPC {self.name}: {what} answered {value!r}")
        return value

    def chain_id(self) -> int:
        return self._uint(self._call("eth_chainId", lambda: self.w3.eth.chain_id), "eth_chainId")

    def block_hash(self, block: int) -> str:
        """The hash of block ``block``; ChainError if the node has no such block."""
        got = self._call(f"eth_getBlockByNumber({block})", self.w3.eth.get_block, block)
        try:
            number, digest = got["number"], bytes(got["hash"])
        except (KeyError, TypeError, ValueError):
            raise ChainError(f"Ethereum RPC {self.name}: block {block}: not a block") from None
        if number != block or len(digest) != 32:
            raise ChainError(f"Ethereum RPC {self.name}: answered another block for {block}")
        return "0x" + digest.hex()

    def native_balance(self, address: str, block: int) -> int:
        """``eth_getBalance`` of ``address`` at ``block``, in wei."""
        what = f"eth_getBalance({address}, {block})"
        return self._uint(self._call(what, self.w3.eth.get_balance, address, block), what)

    def _token(self, contract: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(contract), abi=ERC20_ABI)

    def token_balance(self, contract: str, address: str, block: int) -> int:
        """``balanceOf(address)`` of the ERC-20 ``contract`` at ``block``, in token units."""
        what = f"balanceOf({address}) of {contract} at {block}"
        fn = self._token(contract).functions.balanceOf(address)
        return self._uint(self._call(what, fn.call, block_identifier=block), what)

    def token_decimals(self, contract: str, block: int) -> int:
        what = f"decimals() of {contract} at {block}"
        fn = self._token(contract).functions.decimals()
        value = self._uint(self._call(what, fn.call, block_identifier=block), what)
        if value > 36:
            raise ChainError(f"Ethereum RPC {self.name}: {what} answered {value}")
        return value


class BalanceSource(Protocol):
    """What the proof of assets reads from an EVM chain: a node, or a balance snapshot."""

    name: str

    def chain_id(self) -> int: ...
    def block_hash(self, block: int) -> str: ...
    def native_balance(self, address: str, block: int) -> int: ...
    def token_balance(self, contract: str, address: str, block: int) -> int: ...
    def token_decimals(self, contract: str, block: int) -> int: ...


class EvmSnapshot:
    """The balances of a ``zkmargin/evm-balances/1`` file, read as a node that knows one block.

    Every address and contract must be in EIP-55 form, decimals are given for a token and only
    for one, a contract states one decimals, and no (address, contract) is listed twice:
    otherwise a ChainError naming ``name`` and the entry. A read at another block, or of a
    balance the file does not hold, is a ChainError naming the address."""

    def __init__(self, doc: EvmBalancesFile, name: str) -> None:
        self.doc = doc
        self.name = name
        self.block = doc.block
        self._balances: dict[tuple[str, str | None], int] = {}
        self._decimals: dict[str, int] = {}
        for j, e in enumerate(doc.balances):
            at = f"{name}: balances[{j}]"
            try:
                checksum_address(e.address)
                if e.contract is not None:
                    checksum_address(e.contract)
            except AddressError as exc:
                raise ChainError(f"{at}: {exc}") from None
            if (e.contract is None) != (e.decimals is None):
                raise ChainError(
                    f"{at}: {e.address}: a token balance gives its contract and decimals, "
                    "a native one neither"
                )
            key = (e.address, e.contract)
            if key in self._balances:
                what = f"of {e.contract}" if e.contract else "of the native coin"
                raise ChainError(f"{at}: {e.address}: its balance {what} is listed twice")
            if (
                e.contract is not None
                and e.decimals is not None
                and self._decimals.setdefault(e.contract, e.decimals) != e.decimals
            ):
                raise ChainError(f"{at}: {e.contract} is given two different decimals")
            self._balances[key] = int(e.balance)

    def _at(self, block: int, what: str) -> None:
        if block != self.block:
            raise ChainError(
                f"{what}: {self.name} holds balances at block {self.block}, not {block}"
            )

    def chain_id(self) -> int:
        return self.doc.chain_id

    def block_hash(self, block: int) -> str:
        self._at(block, f"block {block}")
        return self.doc.block_hash

    def native_balance(self, address: str, block: int) -> int:
        self._at(block, address)
        if (address, None) not in self._balances:
            raise ChainError(f"{address}: {self.name} holds no native balance of it")
        return self._balances[(address, None)]

    def token_balance(self, contract: str, address: str, block: int) -> int:
        self._at(block, address)
        if (address, contract) not in self._balances:
            raise ChainError(f"{address}: {self.name} holds no balance of it in {contract}")
        return self._balances[(address, contract)]

    def token_decimals(self, contract: str, block: int) -> int:
        self._at(block, contract)
        if contract not in self._decimals:
            raise ChainError(f"{contract}: {self.name} holds no balance of this token")
        return self._decimals[contract]


def snapshot_balances(
    node: BalanceSource, holdings: Iterable[tuple[str, str | None]], block: int
) -> EvmBalancesFile:
    """The balance snapshot of ``holdings`` (address, token contract or None for the native
    coin) read from ``node`` at ``block``: its chain id, the block's hash, each balance, and
    each token's decimals (read at the block). Raises ChainError (the node fails, an address
    is not in EIP-55 form, a holding is listed twice)."""
    chain = node.chain_id()
    digest = node.block_hash(block)
    balances: list[EvmBalance] = []
    seen: set[tuple[str, str | None]] = set()
    decimals: dict[str, int] = {}
    for address, contract in holdings:
        checksum_address(address)
        if contract is not None:
            checksum_address(contract)
        if (address, contract) in seen:
            raise ChainError(f"{address}: listed twice for {contract or 'the native coin'}")
        seen.add((address, contract))
        if contract is None:
            balances.append(
                EvmBalance(address=address, balance=str(node.native_balance(address, block)))
            )
            continue
        if contract not in decimals:
            decimals[contract] = node.token_decimals(contract, block)
        balances.append(
            EvmBalance(
                address=address,
                contract=contract,
                decimals=decimals[contract],
                balance=str(node.token_balance(contract, address, block)),
            )
        )
    return EvmBalancesFile(chain_id=chain, block=block, block_hash=digest, balances=balances)
