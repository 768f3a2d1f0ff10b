"""Regenerate the exchange example's reserve wallets: ``custodians.json`` (test keys that hold
nothing elsewhere: on regtest a P2WPKH key, a P2TR key and the three keys of a 2-of-3 P2WSH
multisig; on an EVM chain one account key), ``wallets.json`` (the Bitcoin addresses holding BTC;
the EVM account holding ETH and the USDT of an ERC-20 token with 6 decimals; the other columns of
``reserves.json`` declared off chain), ``scantxoutset.json`` (a Bitcoin Core ``scantxoutset``
result at height HEIGHT paying the Bitcoin addresses the BTC reserve and a little more) and
``evm-balances.json`` (an EVM balance snapshot at block EVM_BLOCK: the account holds the ETH and
USDT reserves and a little more).

The EVM chain is eth-tester's (py-evm's test chain, chain id EVM_CHAIN_ID), so the tests replay
the example on a real EVM: the token is deployed by the example's issuer key at its first nonce
(its address is that CREATE address), the account funded, the chain mined to EVM_BLOCK, and the
snapshot read from it holds these balances. The block hash is made up (a replayed chain has its
own timestamps), as is the Bitcoin snapshot's.

The signatures are made by the demo for each publication (the message names its root).

Run: python examples/exchange/generate_reserves.py [--seed S] --out-dir DIR (examples/exchange
rebuilds the bundled files; it reads the reserves.json in DIR)
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from coincurve import PrivateKey
from eth_account import Account
from web3.types import Nonce
from web3.utils.address import get_create_address

from zkmargin.chain import bitcoin as btc
from zkmargin.formats.assets import (
    CustodianKey,
    CustodianKeysFile,
    EvmBalance,
    EvmBalancesFile,
    OffChainAmount,
    WalletEntry,
    WalletsFile,
)
from zkmargin.formats.common import format_decimal, to_units

CHAIN = "bitcoin-regtest"
HEIGHT = 4200
#: eth-tester's chain id (py-evm's test chain): the tests replay the example's EVM state on it.
EVM_CHAIN_ID = 131277322940537
EVM_CHAIN = f"evm-{EVM_CHAIN_ID}"
EVM_BLOCK = 64
TOKEN_DECIMALS = 6


def _key(seed: int, n: int, even: bool = False) -> PrivateKey:
    while True:
        k = PrivateKey(hashlib.sha256(f"zkmargin example custodian {seed} {n}".encode()).digest())
        if not even or k.public_key.format()[0] == 2:
            return k
        n += 1000


def evm_key(seed: int, n: int) -> PrivateKey:
    """An EVM key of the example: the custodian's account (n = 1) or the token issuer (n = 2)."""
    return PrivateKey(hashlib.sha256(f"zkmargin example evm {seed} {n}".encode()).digest())


def evm_address(key: PrivateKey) -> str:
    return str(Account.from_key(key.secret).address)


def token_address(seed: int) -> str:
    """The example's USDT: the first contract its issuer deploys (web3's CREATE address of the
    issuer at nonce 0)."""
    issuer = Account.from_key(evm_key(seed, 2).secret).address
    return str(get_create_address(issuer, Nonce(0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--out-dir",
        type=Path,
        required=True,
        help="where to write (examples/exchange rebuilds the bundled files)",
    )
    args = ap.parse_args()
    out: Path = args.out_dir
    reserves = json.loads((out / "reserves.json").read_text())["reserves"]
    single, tap = _key(args.seed, 1), _key(args.seed, 2, even=True)
    multi = [_key(args.seed, 3 + j) for j in range(3)]
    script = btc.multisig_script(2, [k.public_key.format() for k in multi])
    addresses = {
        "p2wpkh": btc.p2wpkh_address(single.public_key.format(), CHAIN),
        "p2tr": btc.p2tr_address(tap.public_key.format()[1:], CHAIN),
        "p2wsh-multisig": btc.p2wsh_address(script, CHAIN),
    }
    secrets = {"p2wpkh": [single], "p2tr": [tap], "p2wsh-multisig": multi}
    account = evm_key(args.seed, 1)
    eth_address, usdt = evm_address(account), token_address(args.seed)
    keys = CustodianKeysFile(
        chain=CHAIN,
        keys=[
            CustodianKey(address=a, kind=kind, secrets=[k.secret.hex() for k in secrets[kind]])  # type: ignore[arg-type]
            for kind, a in addresses.items()
        ]
        + [
            CustodianKey(
                address=eth_address, kind="evm", chain=EVM_CHAIN, secrets=[account.secret.hex()]
            )
        ],
    )
    (out / "custodians.json").write_text(keys.model_dump_json(indent=1, exclude_none=True) + "\n")
    wallets = [WalletEntry(chain=CHAIN, asset="BTC", address=a) for a in addresses.values()]
    wallets[2] = wallets[2].model_copy(update={"witness_script": script.hex()})
    wallets += [
        WalletEntry(chain=EVM_CHAIN, asset="ETH", address=eth_address),
        WalletEntry(
            chain=EVM_CHAIN,
            asset="USDT",
            address=eth_address,
            contract=usdt,
            decimals=TOKEN_DECIMALS,
        ),
    ]
    off = [
        OffChainAmount(asset=symbol, amount=amount, holder="Example Bank (stated, not proven)")
        for symbol, amount in reserves.items()
        if symbol not in ("BTC", "ETH", "USDT")
    ]
    doc = WalletsFile(venue="Example Exchange", wallets=wallets, off_chain=off)
    (out / "wallets.json").write_text(doc.model_dump_json(indent=1, exclude_none=True) + "\n")
    # the ETH (18 decimals on chain, 8 in the column) and USDT reserves plus 0.2 %
    wei = to_units(reserves["ETH"], 18) * 1002 // 1000 + 7
    usdt_units = to_units(reserves["USDT"], TOKEN_DECIMALS) * 1002 // 1000 + 1
    evm = EvmBalancesFile(
        chain_id=EVM_CHAIN_ID,
        block=EVM_BLOCK,
        block_hash="0x" + hashlib.sha256(b"example evm block %d" % EVM_BLOCK).hexdigest(),
        balances=[
            EvmBalance(address=eth_address, balance=str(wei)),
            EvmBalance(
                address=eth_address,
                contract=usdt,
                decimals=TOKEN_DECIMALS,
                balance=str(usdt_units),
            ),
        ],
    )
    (out / "evm-balances.json").write_text(evm.model_dump_json(indent=1, exclude_none=True) + "\n")
    # the BTC reserve plus 0.5 %, split 30 / 10 / 60 % over the three addresses (two outputs
    # for the multisig), in satoshis
    sats = to_units(reserves["BTC"], 8) * 1005 // 1000 + 1
    parts = [sats * 3 // 10, sats // 10, sats * 35 // 100]
    parts.append(sats - sum(parts))
    payees = [addresses["p2wpkh"], addresses["p2tr"], addresses["p2wsh-multisig"]]
    payees.append(payees[2])
    unspents = []
    for j, (payee, amount) in enumerate(zip(payees, parts, strict=True)):
        spk = btc.decode_address(payee, CHAIN).script_pubkey().hex()
        unspents.append(
            f'  {{"txid": "{hashlib.sha256(b"example tx %d" % j).hexdigest()}", "vout": {j % 2}, '
            f'"scriptPubKey": "{spk}", "desc": "addr({payee})", '
            f'"amount": {format_decimal(amount, 8)}, "coinbase": false, '
            f'"height": {HEIGHT - 10 * (j + 1)}}}'
        )
    total = format_decimal(sats, 8)
    best = hashlib.sha256(b"example block %d" % HEIGHT).hexdigest()
    text = (
        f'{{"success": true, "txouts": 4242, "height": {HEIGHT}, "bestblock": "{best}",\n'
        f'"unspents": [\n' + ",\n".join(unspents) + f'\n], "total_amount": {total}}}\n'
    )
    (out / "scantxoutset.json").write_text(text)
    print(
        f"wrote custodians.json, wallets.json, scantxoutset.json ({total} BTC), "
        f"evm-balances.json ({format_decimal(wei, 18)} ETH, "
        f"{format_decimal(usdt_units, TOKEN_DECIMALS)} USDT) to {out}"
    )


if __name__ == "__main__":
    main()
