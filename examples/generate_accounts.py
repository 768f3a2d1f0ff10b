"""A seeded, realistic exchange snapshot: a market file and accounts (JSON, CSV or Parquet).

Run: python examples/generate_accounts.py --accounts 10000 --accounts-out accounts.parquet
(the same as ``zkmargin examples generate``; ``--help`` lists the options).
"""

from __future__ import annotations

import sys

from zkmargin.cli import main

if __name__ == "__main__":
    main(args=["examples", "generate", *sys.argv[1:]], prog_name="generate_accounts.py")
