"""Regenerate the exchange example's reserve wallets: ``custodians.json`` (regtest test keys
that hold nothing: a P2WPKH key, a P2TR key and the three keys of a 2-of-3 P2WSH multisig),
``wallets.json`` (their addresses holding BTC, and the other columns of ``reserves.json``
declared off chain) and ``scantxoutset.json`` (a Bitcoin Core ``scantxoutset`` result at height
HEIGHT paying those addresses the BTC reserve and a little more).

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

from zkmargin.chain import bitcoin as btc
from zkmargin.formats.assets import (
    CustodianKey,
    CustodianKeysFile,
    OffChainAmount,
    WalletEntry,
    WalletsFile,
)
from zkmargin.formats.common import format_decimal, to_units

CHAIN = "bitcoin-regtest"
HEIGHT = 4200


def _key(seed: int, n: int, even: bool = False) -> PrivateKey:
    while True:
        k = PrivateKey(hashlib.sha256(f"zkmargin example custodian {seed} {n}".encode()).digest())
        if not even or k.public_key.format()[0] == 2:
            return k
        n += 1000


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
    keys = CustodianKeysFile(
        chain=CHAIN,
        keys=[
            CustodianKey(address=a, kind=kind, secrets=[k.secret.hex() for k in secrets[kind]])  # type: ignore[arg-type]
            for kind, a in addresses.items()
        ],
    )
    (out / "custodians.json").write_text(keys.model_dump_json(indent=1) + "\n")
    wallets = [WalletEntry(chain=CHAIN, asset="BTC", address=a) for a in addresses.values()]
    wallets[2] = wallets[2].model_copy(update={"witness_script": script.hex()})
    off = [
        OffChainAmount(asset=symbol, amount=amount, holder="Example Bank (stated, not proven)")
        for symbol, amount in reserves.items()
        if symbol != "BTC"
    ]
    doc = WalletsFile(venue="Example Exchange", wallets=wallets, off_chain=off)
    (out / "wallets.json").write_text(doc.model_dump_json(indent=1, exclude_none=True) + "\n")
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
    print(f"wrote custodians.json, wallets.json, scantxoutset.json ({total} BTC) to {out}")


if __name__ == "__main__":
    main()
