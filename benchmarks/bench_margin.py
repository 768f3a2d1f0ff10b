"""Margin engine throughput: the numpy engine against a plain per-account loop, in one run.

    python benchmarks/bench_margin.py [--accounts 1000000] [--loop-sample 20000] [--json]

Both compute the same figures (equity, maintenance and initial requirements, health, margin
ratio) for the same generated accounts (4 collateral balances, 4 positions each); the loop is the
scalar engine (:func:`zkmargin.margin.evaluate`, exact integers) timed over the first
``--loop-sample`` accounts. Generation is not timed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

import numpy as np

from zkmargin.margin import evaluate, evaluate_table
from zkmargin.margin.synthetic import synthetic_accounts, synthetic_market


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    market = synthetic_market()
    table = synthetic_accounts(market, args.accounts, seed=2026)
    t0 = time.perf_counter()
    report = evaluate_table(market, table)
    vec_s = time.perf_counter() - t0
    sample = list(itertools.islice(table.accounts(), min(args.loop_sample, len(table))))
    t0 = time.perf_counter()
    results = [evaluate(acc, market, details=False) for acc in sample]
    loop_s = time.perf_counter() - t0
    for k, r in enumerate(results):  # the same numbers, or the comparison means nothing
        assert r.equity == int(report.equity[k]) and r.maintenance == int(report.maintenance[k])
    out = {
        "accounts": len(table),
        "positions": len(table.pos_account),
        "collateral_balances": int(np.count_nonzero(table.balances)),
        "vectorised_seconds": round(vec_s, 3),
        "vectorised_accounts_per_s": round(len(table) / vec_s),
        "loop_sample": len(sample),
        "loop_accounts_per_s": round(len(sample) / loop_s),
        "ratio": round((len(table) / vec_s) / (len(sample) / loop_s), 1),
        "unhealthy": int((~report.healthy).sum()),
    }
    if args.json:
        json.dump(out, sys.stdout)
        print()
    else:
        print(
            f"{out['accounts']} accounts, {out['positions']} positions, "
            f"{out['collateral_balances']} collateral balances ({out['unhealthy']} unhealthy)"
        )
        print(
            f"vectorised: {out['vectorised_seconds']} s, "
            f"{out['vectorised_accounts_per_s']:,} accounts/s"
        )
        print(
            f"loop ({out['loop_sample']} of the same accounts): "
            f"{out['loop_accounts_per_s']:,} accounts/s"
        )
        print(f"ratio: {out['ratio']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
