"""Bitcoin balances from a UTXO snapshot: the JSON Bitcoin Core's ``scantxoutset start`` prints.

The snapshot states its ``height`` and ``bestblock`` and lists every unspent output it found
(``txid``, ``vout``, ``scriptPubKey``, ``amount`` in BTC, ``height``). Amounts are converted to
satoshis exactly: the JSON is parsed with :class:`decimal.Decimal` for every number, and an
amount with more than 8 decimals, negative or above 21 million BTC is refused. An output
(``txid:vout``) listed twice is refused.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ChainError

SATS_PER_BTC = 100_000_000
MAX_SATS = 21_000_000 * SATS_PER_BTC
_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")


@dataclass(frozen=True)
class Utxo:
    txid: str
    vout: int
    script_pubkey: bytes
    sats: int
    height: int

    @property
    def outpoint(self) -> str:
        return f"{self.txid}:{self.vout}"


@dataclass(frozen=True)
class UtxoSnapshot:
    height: int
    bestblock: str
    outputs: tuple[Utxo, ...]

    @functools.cached_property
    def _by_script(self) -> dict[bytes, list[Utxo]]:
        index: dict[bytes, list[Utxo]] = {}
        for u in self.outputs:
            index.setdefault(u.script_pubkey, []).append(u)
        return index

    def balances(self, scripts: Iterable[bytes]) -> dict[bytes, list[Utxo]]:
        """The outputs paying each of ``scripts`` (an empty list for a script with none)."""
        return {s: list(self._by_script.get(s, ())) for s in scripts}


def btc_to_sats(amount: object) -> int:
    """A BTC amount (a JSON number parsed as Decimal, an int, or a decimal string) as an exact
    count of satoshis; ChainError for a float, a fraction of a satoshi or a negative amount."""
    if isinstance(amount, (bool, float)):
        raise ChainError(f"amount {amount!r} is not an exact decimal")
    try:
        d = Decimal(amount) if isinstance(amount, (int, str)) else amount
    except InvalidOperation:
        raise ChainError(f"amount {amount!r} is not a decimal number") from None
    if not isinstance(d, Decimal) or not d.is_finite():
        raise ChainError(f"amount {amount!r} is not a decimal number")
    # exactly, from the digits (Decimal arithmetic would round past its precision)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > 40 or not -40 <= exponent <= 40:
        raise ChainError(f"amount {amount} is not a bitcoin amount")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + 8
    n: int
    if shift >= 0:
        n = coefficient * pow(10, shift)
    else:
        n, rest = divmod(coefficient, pow(10, -shift))
        if rest:
            raise ChainError(f"amount {amount} has more than 8 decimals")
    n = -n if sign else n
    if not 0 <= n <= MAX_SATS:
        raise ChainError(f"amount {amount} is outside 0 … 21,000,000 BTC")
    return n


def _int(value: Any, what: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChainError(f"{what} is not a non-negative integer: {value!r}")
    return value


def parse_snapshot(text: bytes | str, where: str = "the UTXO snapshot") -> UtxoSnapshot:
    """A ``scantxoutset`` result; ChainError naming ``where`` and the output for anything that
    is not one (bad JSON, a missing field, a float-only amount, an output listed twice)."""
    try:
        doc = json.loads(text, parse_float=Decimal, parse_int=int)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChainError(f"{where}: not JSON ({exc})") from None
    if isinstance(doc, dict) and "result" in doc and isinstance(doc["result"], dict):
        doc = doc["result"]  # the raw JSON-RPC answer
    if not isinstance(doc, dict) or not isinstance(doc.get("unspents"), list):
        raise ChainError(f"{where}: not a scantxoutset result (no 'unspents' list)")
    if doc.get("success") is False:
        raise ChainError(f"{where}: the scan did not succeed")
    height = _int(doc.get("height"), f"{where}: height")
    best = doc.get("bestblock")
    if not isinstance(best, str) or not _HEX32.fullmatch(best):
        raise ChainError(f"{where}: bestblock is not a 32-byte hex hash")
    seen: set[str] = set()
    outputs = []
    for j, u in enumerate(doc["unspents"]):
        at = f"{where}: unspents[{j}]"
        if not isinstance(u, dict):
            raise ChainError(f"{at}: not an object")
        txid, spk = u.get("txid"), u.get("scriptPubKey")
        if not isinstance(txid, str) or not _HEX32.fullmatch(txid):
            raise ChainError(f"{at}: txid is not a 32-byte hex hash")
        if not isinstance(spk, str) or not _HEX.fullmatch(spk):
            raise ChainError(f"{at}: scriptPubKey is not hex")
        vout = _int(u.get("vout"), f"{at}: vout")
        try:
            sats = btc_to_sats(u.get("amount"))
        except ChainError as exc:
            raise ChainError(f"{at}: {exc}") from None
        utxo = Utxo(txid, vout, bytes.fromhex(spk), sats, _int(u.get("height"), f"{at}: height"))
        if utxo.height > height:
            raise ChainError(f"{at}: output of block {utxo.height}, above the snapshot {height}")
        if utxo.outpoint in seen:
            raise ChainError(f"{at}: output {utxo.outpoint} is listed twice")
        seen.add(utxo.outpoint)
        outputs.append(utxo)
    return UtxoSnapshot(height, best, tuple(outputs))
