"""The trader's margin proof, measured in one run: prove, verify, sizes, batch verification.

    python benchmarks/bench_circuits.py [--json] [--quick] [--peer results.json]

Cases, all from ``examples/trader/``:

* ``cross``: alice's cross account (4 collateral assets, BTC with a tiered haircut, a borrow,
  4 perpetuals with tiered maintenance), venue-attested, θ = 1.25;
* ``portfolio``: bob's portfolio account over the SPAN16 grid (16 scenarios), attested, θ = 1;
* ``k4p4``: the snark-margin peer's healthy K=4, P=4 account, attested, θ = 1.25;
* ``k4p4_self``: the same account self-committed (every slot range-proven, as the peer
  range-checks every private value).

Figures: ``prove_ms`` (witness, auxiliary commitments and the proof, from the statement's
openings), ``verify_ms`` (the proof against the decoded statement: derived commitments, the
aggregated Bulletproof, any Sigma proof), ``attestation_verify_ms`` (the venue's BLS signature,
timed apart), ``decode_ms`` (statement and proof bytes to checked points), ``proof_bytes`` (the
binary proof: the trader's own commitments, the range and Sigma proofs), ``statement_bytes``
(slot commitments and signature), ``range_constraints`` and their widths,
``prove_verify_ratio`` and, for ``cross``, ``batch_verify_ms_per_proof`` over 64 proofs (8 with
``--quick``); ``liquidation``: the venue's liquidation proof of alice's cross account after a
price move (``market_moved.json``: ETH up to 3 620, alice below maintenance), θ = 1, every slot
range-proven (``liquidation_cross``): ``prove_ms``, ``verify_ms``, ``proof_bytes``,
``range_constraints``; ``leaf_cross`` and ``leaf_mango``: the exchange's liabilities leaf proof
of alice's cross account and of a Mango account (``examples/exchange/mango``, ``bob``: two tokens
and a perp), every slot range-proven. ``--only NAME`` runs one case. ``--peer`` takes the JSON
lines of ``../shared/peers/snark-margin/run.sh`` and puts the peer's one-core Groth16 figures
beside k4p4.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_rangeproof import median_ms

from zkmargin import rangeproof
from zkmargin.attest import bls
from zkmargin.attest import statement as stm
from zkmargin.attest.keys import generate
from zkmargin.circuit import proof as cp
from zkmargin.circuit.compiler import (
    LIMB_BITS,
    LIQUIDATION_CIRCUIT,
    compile_instance,
    compile_statement,
    load_circuit,
    statement_slots,
)
from zkmargin.circuit.slots import account_slots
from zkmargin.formats.common import parse_threshold
from zkmargin.formats.market import market_digest
from zkmargin.formats.statement import AccountStatement
from zkmargin.group import R
from zkmargin.liabilities import leaf as lf
from zkmargin.liquidation import liquidation_context
from zkmargin.margin.market import compile_market, load_snapshot
from zkmargin.margin.table_io import load_table
from zkmargin.pedersen import commit

EX = Path(__file__).resolve().parent.parent / "examples" / "trader"
CASES = {
    "cross": (EX / "market.json", EX / "account.json", "1.25", True),
    "portfolio": (EX / "market.json", EX / "portfolio_account.json", "1", True),
    "k4p4": (EX / "k4p4" / "market.json", EX / "k4p4" / "account.json", "1.25", True),
    "k4p4_self": (EX / "k4p4" / "market.json", EX / "k4p4" / "account.json", "1.25", False),
}


def setup(market_path: Path, account_path: Path, attested: bool) -> dict[str, Any]:
    snap = load_snapshot(market_path)
    mk = compile_market(snap)
    acc = next(load_table(account_path, mk).accounts())
    vk = generate("bench")
    slots = account_slots(acc, mk)
    st, op = stm.issue_statement(
        venue="bench",
        epoch=snap.epoch,
        market_digest=market_digest(snap),
        account_id=acc.id,
        mode=acc.mode,
        slots=slots,
        master=vk.master_secret,
        secret_key=vk.secret_key if attested else None,
    )
    values, blindings = stm.check_openings(st, op)
    return {"snap": snap, "market": mk, "statement": st, "values": values, "blindings": blindings}


def measure(name: str, reps: int, batch: int) -> dict[str, Any]:
    market_path, account_path, threshold, attested = CASES[name]
    s = setup(market_path, account_path, attested)
    st: AccountStatement = s["statement"]
    theta = parse_threshold(threshold)
    circ = load_circuit(st.mode)
    inst = compile_statement(circ, s["market"], st, theta)

    def context(ctx: str) -> bytes:
        return stm.proof_context(
            circuit_digest=circ.digest,
            market_digest=market_digest(s["snap"]),
            theta_ppm=theta,
            epoch=st.epoch,
            context=ctx,
            statement=st,
        )

    def prove(ctx: str = "bench") -> cp.CircuitProof:
        return cp.prove(inst, s["values"], s["blindings"], context(ctx))

    proof = prove()  # warm the generator tables
    data = proof.to_bytes()
    points = stm.statement_points(st)
    assert cp.verify(inst, points, proof, context("bench"))
    prove_ms = median_ms(prove, reps)
    verify_ms = median_ms(lambda: cp.verify(inst, points, proof, context("bench")), reps)
    decode_ms = median_ms(
        lambda: (stm.statement_points(st), cp.CircuitProof.from_bytes(data, inst)), reps
    )
    out: dict[str, Any] = {
        "attested": attested,
        "threshold": threshold,
        "slots": len(st.slots),
        "prove_ms": round(prove_ms, 2),
        "verify_ms": round(verify_ms, 2),
        "decode_ms": round(decode_ms, 2),
        "proof_bytes": len(data),
        "statement_bytes": 48 * len(st.slots) + (96 if attested else 0),
        "range_constraints": len(inst.range_items),
        "range_bits": LIMB_BITS,
        "range_widths": sorted({f.limbs * LIMB_BITS for f in inst.forms if f.kind == ">="}),
        "aux_values": len(inst.aux),
        "prove_verify_ratio": round(prove_ms / verify_ms, 2),
    }
    if attested:
        item = stm.signature_item(st)
        out["attestation_verify_ms"] = round(median_ms(lambda: bls.verify(*item), reps), 2)
    if batch:
        proofs = [prove(f"bench {i}") for i in range(batch)]
        items = [
            cp.batch_parts(inst, points, p, context(f"bench {i}"))[0] for i, p in enumerate(proofs)
        ]
        assert rangeproof.batch_verify(items)
        ms = median_ms(lambda: rangeproof.batch_verify(items), max(3, reps // 3))
        out["batch_size"] = batch
        out["batch_verify_ms_per_proof"] = round(ms / batch, 2)
    return out


def measure_liquidation(reps: int) -> dict[str, Any]:
    """The venue's liquidation proof for alice after the price move."""
    s = setup(EX / "market_moved.json", EX / "account.json", True)
    st: AccountStatement = s["statement"]
    circ = load_circuit(LIQUIDATION_CIRCUIT[st.mode])
    theta = parse_threshold("1")
    inst = compile_instance(circ, s["market"], statement_slots(st), theta, trusted_slots=False)
    ctx = liquidation_context(circ.digest, market_digest(s["snap"]), theta, st)
    points = stm.statement_points(st)
    return {
        "circuit": circ.name,
        "threshold": "1",
        "slots": len(st.slots),
        **timed(inst, s["values"], s["blindings"], points, ctx, reps),
    }


def timed(
    inst: Any, values: list[int], blindings: list[int], points: list[Any], ctx: bytes, reps: int
) -> dict[str, Any]:
    """Prove and verify once (checked), then the medians of ``reps`` runs of each, and sizes."""
    proof = cp.prove(inst, values, blindings, ctx)
    assert cp.verify(inst, points, proof, ctx)
    prove_ms = median_ms(lambda: cp.prove(inst, values, blindings, ctx), reps)
    verify_ms = median_ms(lambda: cp.verify(inst, points, proof, ctx), reps)
    return {
        "prove_ms": round(prove_ms, 2),
        "verify_ms": round(verify_ms, 2),
        "proof_bytes": len(proof.to_bytes()),
        "range_constraints": len(inst.range_items),
        "aux_values": len(inst.aux),
        "prove_verify_ratio": round(prove_ms / verify_ms, 2),
    }


#: The leaf cases: (market, accounts file, account id) — a standard cross account and a Mango one.
LEAVES = {
    "leaf_cross": (EX / "market.json", EX / "account.json", None),
    "leaf_mango": (
        EX.parent / "exchange" / "mango" / "market.json",
        EX.parent / "exchange" / "mango" / "accounts.json",
        "bob",
    ),
}


def measure_leaf(name: str, reps: int) -> dict[str, Any]:
    """The exchange's leaf proof of one account (every slot range-proven), its circuit picked by
    the market's accounting and the account's mode."""
    market_path, accounts_path, account = LEAVES[name]
    snap = load_snapshot(market_path)
    mk = compile_market(snap)
    acc = next(a for a in load_table(accounts_path, mk).accounts() if account in (None, a.id))
    slots = account_slots(acc, mk)
    specs = tuple(sl.spec for sl in slots)
    inst = lf.leaf_instance(mk, acc.mode, specs)
    values = [sl.value for sl in slots]
    blindings = [secrets.randbelow(R - 1) + 1 for _ in slots]
    points = [commit(v % R, g) for v, g in zip(values, blindings, strict=True)]
    return {
        "circuit": lf.leaf_circuit_name(acc.mode, mk.accounting),
        "slots": len(slots),
        **timed(inst, values, blindings, points, b"bench leaf", reps),
    }


def peer_figures(path: Path) -> dict[str, Any]:
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        if doc.get("case") == "k4_p4_1core":
            g = doc["groth16"]
            return {
                "system": "circom + snarkjs Groth16 (BN254), one core",
                "fullprove_ms": g["fullprove_ms"],
                "verify_ms": g["verify_ms"],
                "proof_bytes": g["proof_raw_bytes_compressed"],
                "constraints": g["constraints"],
                "circuit_setup_s": g["setup_s"],
                "trusted_setup": True,
            }
    raise SystemExit(f"{path}: no k4_p4_1core case")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--peer", type=Path, default=None)
    ap.add_argument("--only", choices=[*CASES, "liquidation", *LEAVES], default=None)
    args = ap.parse_args(argv)
    reps = 3 if args.quick else 9
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory():
        for name in CASES:
            if args.only in (None, name):
                batch = (8 if args.quick else 64) if name == "cross" else 0
                results[name] = measure(name, reps, batch)
        if args.only in (None, "liquidation"):
            results["liquidation"] = measure_liquidation(reps)
        for name in LEAVES:
            if args.only in (None, name):
                results[name] = measure_leaf(name, reps)
    if args.peer is not None:
        results["peer_k4p4"] = peer_figures(args.peer)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
        return 0
    cols = [
        "prove_ms",
        "verify_ms",
        "attestation_verify_ms",
        "proof_bytes",
        "statement_bytes",
        "range_constraints",
        "prove_verify_ratio",
    ]
    print("case".ljust(11) + "".join(c.rjust(23) for c in cols))
    for name, r in results.items():
        if name == "peer_k4p4":
            continue
        print(name.ljust(11) + "".join(str(r.get(c, "-")).rjust(23) for c in cols))
    if "batch_verify_ms_per_proof" in results.get("cross", {}):
        c = results["cross"]
        print(
            f"batch of {c['batch_size']} cross proofs: {c['batch_verify_ms_per_proof']} ms a proof "
            f"vs {c['verify_ms']} ms alone"
        )
    if "peer_k4p4" in results and "k4p4" in results:
        p, k = results["peer_k4p4"], results["k4p4"]
        print(
            f"k4p4 attested vs peer (Groth16, one core): prove {k['prove_ms']} vs "
            f"{p['fullprove_ms']} ms, verify {k['verify_ms']} vs {p['verify_ms']} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
