"""The proof of assets, measured: the audit's check of N reserve addresses.

    python benchmarks/bench_assets.py [--json] [--addresses N]

Data: N regtest addresses (2,000 by default in ``bench_exchange.py``'s run, 1,000 here), a
third P2WPKH with BIP-322 signatures, a third P2TR with BIP-322, a third P2PKH with BIP-137, each
paid by two outputs of a ``scantxoutset`` snapshot. ``assets_verify_ms_per_address`` is the
wall time of :func:`verify_assets` (every signature, every address decoded, uniqueness, totals,
every balance re-read from the snapshot) ÷ N, median of 3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any

from bench_rangeproof import median_ms
from coincurve import PrivateKey

from zkmargin.chain import bitcoin as btc
from zkmargin.chain import signing
from zkmargin.chain.utxo import parse_snapshot
from zkmargin.formats.assets import (
    AddressSignatures,
    Scheme,
    SignaturesFile,
    WalletEntry,
    WalletsFile,
)
from zkmargin.formats.common import format_decimal
from zkmargin.formats.statement import SignedRoot
from zkmargin.liabilities.assets import prove_assets, reserves_message, verify_assets

CHAIN = "bitcoin-regtest"
HEIGHT = 800_000
COLUMNS = [("BTC", 8)]


def _key(j: int) -> PrivateKey:
    seed = j
    while True:
        k = PrivateKey(hashlib.sha256(b"bench %d" % seed).digest())
        if k.public_key.format()[0] == 2:  # an even y, usable as a Taproot internal key
            return k
        seed += 1 << 32


def assets_figures(n: int = 1000) -> dict[str, Any]:
    root = SignedRoot(
        venue="bench",
        venue_key="a1" * 48,
        epoch=1,
        market_digest="00" * 32,
        height=10,
        columns=["BTC"],
        totals=["b2" * 48],
        root_hash="c3" * 32,
        signature="d4" * 96,
    )
    heights = {CHAIN: HEIGHT}
    message = reserves_message(root, heights)
    wallets, sigs, unspents = [], [], []
    scheme: Scheme
    for j in range(n):
        k = _key(j)
        pub = k.public_key.format()
        if j % 3 == 0:
            address = btc.p2wpkh_address(pub, CHAIN)
            scheme, sig = "bip322-simple", signing.sign_bip322_p2wpkh(k, message, CHAIN)
        elif j % 3 == 1:
            address = btc.p2tr_address(pub[1:], CHAIN)
            scheme, sig = "bip322-simple", signing.sign_bip322_p2tr(k, message, CHAIN)
        else:
            address = btc.p2pkh_address(pub, CHAIN)
            scheme, sig = "bip137", signing.sign_bip137(k, message, "p2pkh")
        wallets.append(WalletEntry(chain=CHAIN, asset="BTC", address=address))
        sigs.append(
            AddressSignatures(chain=CHAIN, address=address, scheme=scheme, signatures=[sig])
        )
        spk = btc.decode_address(address, CHAIN).script_pubkey().hex()
        txid = hashlib.sha256(b"tx %d" % j).hexdigest()
        for vout in (0, 1):
            amount = format_decimal(1000 + j + vout, 8)
            unspents.append(
                f'{{"txid": "{txid}", "vout": {vout}, "scriptPubKey": "{spk}", '
                f'"amount": {amount}, "height": {HEIGHT - 1}}}'
            )
    text = (
        f'{{"height": {HEIGHT}, "bestblock": "{"ee" * 32}", "unspents": [{", ".join(unspents)}]}}'
    )
    snap = parse_snapshot(text)
    doc = prove_assets(
        root,
        COLUMNS,
        WalletsFile(wallets=wallets),
        SignaturesFile(signatures=sigs),
        heights,
        utxos={CHAIN: snap},
    )

    def check() -> None:
        verify_assets(doc, root, COLUMNS, utxo_snapshot={CHAIN: snap})

    ms = median_ms(check, 3)
    return {"assets_addresses": n, "assets_verify_ms_per_address": round(ms / n, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--addresses", type=int, default=1000)
    args = ap.parse_args()
    res = assets_figures(args.addresses)
    if args.json:
        print(json.dumps(res))
        return
    for k, v in res.items():
        print(f"{k:>36}: {v}")


if __name__ == "__main__":
    main()
