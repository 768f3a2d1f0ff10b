"""Write an exchange's book like the one bundled here (``market.json``, ``accounts.csv``: 200
cross-margin accounts, every one above maintenance, and ``reserves.json``: each total plus a
10 % margin) into a folder you name. The same as
``zkmargin examples generate --exchange --accounts 200 --seed 11 --epoch 7 --out-dir DIR``.

Run: python examples/exchange/generate.py --out-dir DIR [--accounts N] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zkmargin.api import generate_exchange_examples

EPOCH = 7


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out-dir", type=Path, required=True, help="the folder to write to (made if missing)"
    )
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    if args.accounts < 1:
        ap.error("--accounts must be at least 1")
    # the bundled book: cross accounts, every one above maintenance (the demo's and the tests'
    # figures depend on it); `zkmargin examples generate --exchange` mixes modes and health
    ex = generate_exchange_examples(
        args.accounts, args.seed, args.out_dir, EPOCH, modes={"cross": 1.0}, below=0, bankrupt=0
    )
    print(f"wrote {ex.market}, {ex.accounts} ({ex.count} accounts) and {ex.reserves}")


if __name__ == "__main__":
    main()
