"""The exchange's publication, measured in one run: publish on 1 and 2 workers, audit, inclusion.

    python benchmarks/bench_exchange.py [--json] [--quick] [--accounts N]

Data: ``N`` generated cross-margin accounts of the example exchange (2,000; 200 with
``--quick``), all above maintenance, padded to the next power of two.

Figures: ``publish_accounts_per_s_1_worker`` and ``..._2_workers`` (accounts ÷ the wall time of
the whole publish: plan, secrets, leaves, nodes, root, reserves, final file), and
``scaling_efficiency`` = rate(2) ÷ (2 × rate(1)); ``audit_accounts_per_s`` (the full audit, one
worker, and ``audit_accounts_per_s_2_workers``); ``phase_share`` (each phase's share of the
1-worker publish); the inclusion attestation's binary size (statement, leaf proof, path, signed
root) ``inclusion_bytes_per_asset`` (÷ the columns), that size extrapolated to a tree of height
32 (``inclusion_bytes_per_asset_h32``: one level's bytes per extra level), the user's JSON file
size, and ``inclusion_verify_ms`` (the user's whole check of their file, median).
``assets_verify_ms_per_address``: the proof of assets' check of 1,000 addresses, per address
(``bench_assets.py``).

The floor: ``leaf_prove_ms`` (one typical leaf, statement to stored row, median) against
``range_floor_ms``, an unprepared aggregated range proof of as many 64-bit values as that leaf's
proof pads to, timed in the same run: ``leaf_over_range_floor`` says how much of a leaf is the
Bulletproof.

Layouts: ``min_accounts_per_layout`` (the default shared layouts: the least number of accounts
sharing a leaf's public slot layout, its k-anonymity) against ``min_accounts_per_layout_own``
(each account's own layout), and the publish cost of each: ``leaf_ms_shared`` and
``leaf_ms_own``, the mean time to prove the same 24 accounts' leaves under each policy
(interleaved, in this run, each leaf proven once before it is timed, so that its layout's
instance is compiled), ``layout_cost_ratio`` = shared ÷ own, and ``distinct_layouts_shared``
and ``_own`` (each publishing process compiles each distinct layout once).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_assets import assets_figures
from bench_rangeproof import median_ms

from zkmargin import api, rangeproof
from zkmargin.circuit.compiler import SlotSpec
from zkmargin.formats.jsonfile import read_model
from zkmargin.formats.publication import InclusionFile
from zkmargin.liabilities.leaf import leaf_instance
from zkmargin.liabilities.plan import Plan
from zkmargin.liabilities.work import load_market, prove_leaves
from zkmargin.margin.synthetic import exchange_accounts, exchange_market, exchange_market_document
from zkmargin.margin.table_io import save_table

EPOCH = 9


def _attestation_bytes(doc: InclusionFile) -> tuple[int, int]:
    """(binary bytes of the attestation and statement, bytes of one path level)."""
    st, att = doc.statement, doc.attestation
    statement = 48 * len(st.slots) + 32
    proof = len(att.leaf_proof) // 2
    level = 48 * len(att.path[0].sums) + 32
    root = 48 * len(att.root.totals) + 32 + 96 + 48
    return statement + proof + level * len(att.path) + root, level


def _floor(plan: Plan) -> dict[str, Any]:
    """One typical leaf (the most common slot layout) against the range prover it pads to."""
    layouts: dict[Any, int] = {}
    for task in plan.tasks:
        layouts[task[2:4]] = layouts.get(task[2:4], 0) + 1
    common = max(layouts, key=lambda k: layouts[k])
    task = next(t for t in plan.tasks if t[2:4] == common)
    market = load_market(plan.market_text)
    mode, specs = common
    items = len(leaf_instance(market, mode, tuple(SlotSpec(*s) for s in specs)).range_items)
    m = rangeproof.padded_count(items)
    header = plan.header.model_dump_json()

    def leaf() -> None:
        prove_leaves("native", plan.market_text, header, plan.nonce_key, [task])

    def floor() -> None:
        rangeproof.prove([1] * m, [1] * m, 64, b"floor")

    leaf_ms, floor_ms = median_ms(leaf, 5), median_ms(floor, 5)
    return {
        "leaf_range_items": items,
        "leaf_range_items_padded": m,
        "leaf_prove_ms": round(leaf_ms, 1),
        "range_floor_ms": round(floor_ms, 1),
        "leaf_over_range_floor": round(leaf_ms / floor_ms, 3),
    }


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zkmargin-bench-") as tmp:
        d = Path(tmp)
        (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH)))
        market = exchange_market(EPOCH)
        save_table(exchange_accounts(market, n, seed=3), market, d / "accounts.csv")
        reserves = {a.symbol: "1000000000" for a in market.assets} | {"USD": "1000000000"}
        (d / "reserves.json").write_text(
            json.dumps({"format": "zkmargin/reserves/1", "reserves": reserves})
        )
        key, pub = api.venue_keygen(d / "venue.key", "bench")
        rates: dict[int, float] = {}
        phases: dict[str, float] = {}
        height = 0
        for workers in (1, 2):
            out = d / f"pub{workers}.sqlite"
            t0 = time.perf_counter()
            res = api.exchange_publish(
                key=key,
                market=d / "market.json",
                accounts=d / "accounts.csv",
                reserves=d / "reserves.json",
                out=out,
                workers=workers,
            )
            wall = time.perf_counter() - t0
            rates[workers] = res.accounts / wall
            height = res.height
            if workers == 1:
                phases = dict(res.seconds)
                phases["plan"] = wall - sum(res.seconds.values())
            print(f"  publish, {workers} worker(s): {wall:.1f} s", file=sys.stderr)
        assert (d / "pub1.sqlite").read_bytes() == (d / "pub2.sqlite").read_bytes()
        pk = api.load_venue_public_key(pub)
        audit_rates = {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            rep = api.audit_publication(d / "pub1.sqlite", venue_key=pk, workers=workers)
            assert rep.valid, rep.reason
            audit_rates[workers] = n / (time.perf_counter() - t0)
        account = (d / "accounts.csv").read_text().splitlines()[1].split(",")[0].strip('"')
        mine = api.exchange_inclusion(
            publication=d / "pub1.sqlite",
            secrets=d / "pub1.sqlite.secrets",
            account=account,
            out=d / "mine.json",
        )
        doc = read_model(mine, InclusionFile)
        size, level = _attestation_bytes(doc)
        columns = len(doc.attestation.root.columns)
        root_hash = doc.attestation.root.root_hash

        def check() -> None:
            assert api.verify_inclusion(mine, root_hash=root_hash, venue_key=pk).valid

        verify_ms = median_ms(check, 5)
        total = sum(phases.values())
        floor = _floor(_plan(d))
        layouts = _layouts(d)
        return {
            "accounts": n,
            "assets": columns,
            "tree_height": height,
            "publish_accounts_per_s_1_worker": round(rates[1], 3),
            "publish_accounts_per_s_2_workers": round(rates[2], 3),
            "scaling_efficiency": round(rates[2] / (2 * rates[1]), 3),
            "audit_accounts_per_s": round(audit_rates[1], 2),
            "audit_accounts_per_s_2_workers": round(audit_rates[2], 2),
            "inclusion_bytes_per_asset": round(size / columns),
            "inclusion_bytes_per_asset_h32": round((size + (32 - height) * level) / columns),
            "inclusion_path_level_bytes": level,
            "inclusion_file_bytes": mine.stat().st_size,
            "inclusion_verify_ms": round(verify_ms, 2),
            "phase_share": {k: round(v / total, 4) for k, v in phases.items()},
            **floor,
            **layouts,
            **assets_figures(1000),
        }


def _layouts(d: Path, sample: int = 24) -> dict[str, Any]:
    """k-anonymity by layout and leaf cost, shared against own layouts (see the docstring)."""
    shared, own = _plan(d), _plan(d, layout="own")
    header = {p: plan.header.model_dump_json() for p, plan in (("s", shared), ("o", own))}
    by_id = {a.account: a.position for a in shared.accounts}
    by_id_own = {a.account: a.position for a in own.accounts}
    ids = sorted(by_id)[:sample]
    times: dict[str, list[float]] = {"s": [], "o": []}
    for account in ids:
        for policy, plan, pos in (("s", shared, by_id), ("o", own, by_id_own)):
            task = plan.tasks[pos[account]]
            prove_leaves("native", plan.market_text, header[policy], plan.nonce_key, [task])
            t0 = time.perf_counter()
            prove_leaves("native", plan.market_text, header[policy], plan.nonce_key, [task])
            times[policy].append(time.perf_counter() - t0)
    leaf_s = 1000 * sum(times["s"]) / len(ids)
    leaf_o = 1000 * sum(times["o"]) / len(ids)
    return {
        "min_accounts_per_layout": shared.min_share,
        "min_accounts_per_layout_own": own.min_share,
        "leaf_ms_shared": round(leaf_s, 1),
        "leaf_ms_own": round(leaf_o, 1),
        "layout_cost_ratio": round(leaf_s / leaf_o, 3),
        "distinct_layouts_shared": len({t[2:4] for t in shared.tasks}),
        "distinct_layouts_own": len({t[2:4] for t in own.tasks}),
    }


def _plan(d: Path, layout: str = "shared") -> Plan:
    from zkmargin.exchange import load_reserves, load_venue_key
    from zkmargin.formats.market import canonical_market, market_digest
    from zkmargin.liabilities.leaf import liability_columns
    from zkmargin.liabilities.plan import make_plan
    from zkmargin.margin.market import compile_market, load_snapshot
    from zkmargin.margin.table_io import load_table

    key = load_venue_key(d / "venue.key")
    snap = load_snapshot(d / "market.json")
    market = compile_market(snap)
    columns = liability_columns(market)
    return make_plan(
        key=key,
        market=market,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=snap.epoch,
        accounts=list(load_table(d / "accounts.csv", market).accounts()),
        reserves=load_reserves(d / "reserves.json", columns, venue=key.venue, epoch=snap.epoch),
        pad_to=None,
        decoys=0,
        file="accounts.csv",
        layout=layout,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="200 accounts instead of 2,000")
    ap.add_argument("--accounts", type=int, default=None)
    args = ap.parse_args()
    n = args.accounts or (200 if args.quick else 2000)
    res = run(n)
    if args.json:
        print(json.dumps(res))
        return
    for k, v in res.items():
        print(f"{k:>36}: {v}")


if __name__ == "__main__":
    main()
