"""Sign a publication's reserves message with the exchange example's custodian test keys
(``custodians.json``: regtest and eth-tester keys holding nothing), as real custodians sign with
their own wallets, and write the signatures file ``exchange prove-assets`` takes.

Run (after ``zkmargin exchange publish … --out pub.sqlite`` on the bundled example):

    python examples/exchange/sign_reserves.py --publication pub.sqlite --out signatures.json

It prints the ``--heights`` the message names and the ``prove-assets`` command to run next.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zkmargin import api
from zkmargin.chain.signing import sign_with_custodians
from zkmargin.fileio import atomic_write_text
from zkmargin.formats.assets import CustodianKeysFile
from zkmargin.formats.jsonfile import read_model

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--publication", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="the signatures file to write")
    args = ap.parse_args(argv)
    keys = read_model(HERE / "custodians.json", CustodianKeysFile)
    height = json.loads((HERE / "scantxoutset.json").read_text())["height"]
    evm = json.loads((HERE / "evm-balances.json").read_text())
    heights = f"{keys.chain}={height},evm-{evm['chain_id']}={evm['block']}"
    message = api.exchange_reserves_message(publication=args.publication, heights=heights)
    atomic_write_text(args.out, sign_with_custodians(keys, message).model_dump_json(indent=1))
    print(f"signed the reserves message at {heights} into {args.out}; next:")
    print(
        f"  zkmargin exchange prove-assets --publication {args.publication} "
        f"--wallets {HERE / 'wallets.json'} --signatures {args.out} --heights {heights} "
        f"--utxos {keys.chain}={HERE / 'scantxoutset.json'} "
        f"--evm-balances {HERE / 'evm-balances.json'}"
    )


if __name__ == "__main__":
    main()
