"""Range-proof speed as ratios measured in one run: prover ÷ verifier, verifier ÷ MSM floor,
batch ÷ single verification.

    python benchmarks/bench_rangeproof.py [--json] [--quick] [--backend native|reference]

* ``prove_ms``: the online prover, values → proof, with the value-independent precommitment
  (S and its cross terms) prepared ahead by ``rangeproof.prepare`` (timed as ``prepare_ms``);
* ``prove_total_ms``: ``rangeproof.prove`` with nothing prepared;
* ``verify_ms``: verification of a decoded proof (``decode_ms`` is timed apart);
* ``floor_ms``: one native multi-scalar multiplication over as many points as the verifier's
  (2N + 2K + m + 6), with random full-width scalars;
* ``batch_ratio``: per-proof time of one batch of 256 single-value proofs ÷ one verification.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from zkmargin import group, rangeproof
from zkmargin.generators import table
from zkmargin.group import R
from zkmargin.rangeproof import RangeProof

N_BITS = 64


def median_ms(fn: Callable[[], object], reps: int) -> float:
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3


def measure(m: int, reps: int) -> dict[str, Any]:
    values = [secrets.randbelow(1 << N_BITS) for _ in range(m)]
    blindings = [secrets.randbelow(R) for _ in range(m)]
    proof, commitments = rangeproof.prove(values, blindings, N_BITS)  # warm caches
    data = proof.to_bytes()
    size = N_BITS * rangeproof.padded_count(m)
    k = size.bit_length() - 1
    n_points = 2 * size + 2 * k + m + 6
    pts = table().g(size) + table().h(size)
    pts += [group.mul(group.generator(), i + 2) for i in range(n_points - len(pts))]
    scalars = [secrets.randbelow(R) for _ in pts]

    pres = [rangeproof.prepare(N_BITS, m) for _ in range(reps)]
    online = iter(pres)
    prove_ms = median_ms(
        lambda: rangeproof.prove(values, blindings, N_BITS, precommitment=next(online)), reps
    )
    prepare_ms = median_ms(lambda: rangeproof.prepare(N_BITS, m), reps)
    prove_total_ms = median_ms(lambda: rangeproof.prove(values, blindings, N_BITS), reps)
    verify_ms = median_ms(lambda: rangeproof.verify(proof, commitments, N_BITS), reps)
    decode_ms = median_ms(lambda: RangeProof.from_bytes(data, N_BITS, m), reps)
    floor_ms = median_ms(lambda: group.msm(pts, scalars), reps)
    return {
        "n": N_BITS,
        "m": m,
        "prove_ms": round(prove_ms, 2),
        "prepare_ms": round(prepare_ms, 2),
        "prove_total_ms": round(prove_total_ms, 2),
        "verify_ms": round(verify_ms, 2),
        "decode_ms": round(decode_ms, 2),
        "proof_bytes": len(data),
        "floor_points": n_points,
        "floor_ms": round(floor_ms, 2),
        "verify_floor_ratio": round(verify_ms / floor_ms, 3),
        "prove_verify_ratio": round(prove_ms / verify_ms, 2),
        "prove_total_verify_ratio": round(prove_total_ms / verify_ms, 2),
    }


def batch_ratio(count: int, reps: int) -> tuple[float, float, float]:
    items = []
    for _ in range(count):
        proof, commitments = rangeproof.prove(
            [secrets.randbelow(1 << N_BITS)], [secrets.randbelow(R)], N_BITS
        )
        items.append((proof, commitments, N_BITS, b""))
    assert rangeproof.batch_verify(items)
    single = median_ms(lambda: rangeproof.verify(*items[0][:3]), reps * 4)
    batch = median_ms(lambda: rangeproof.batch_verify(items), reps)
    return batch / count / single, batch, single


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    parser.add_argument("--backend", default="native", choices=group.available_backends())
    args = parser.parse_args(argv)
    group.set_backend(args.backend)
    ms = [1, 8, 32] if args.backend == "native" else [1]
    reps = 3 if args.quick else 9
    batch_count = 256
    results = [measure(m, reps if m < 32 else max(3, reps // 2)) for m in ms]
    ratio, batch_ms, single_ms = batch_ratio(batch_count, reps)
    report = {
        "backend": args.backend,
        "results": results,
        "batch_ratio": round(ratio, 4),
        "batch_size": batch_count,
        "batch_ms": round(batch_ms, 2),
        "single_verify_ms": round(single_ms, 3),
    }
    if args.json:
        json.dump(report, sys.stdout)
        print()
        return 0
    cols = [
        ("m", "m"),
        ("proof B", "proof_bytes"),
        ("prove ms", "prove_ms"),
        ("prepare ms", "prepare_ms"),
        ("total ms", "prove_total_ms"),
        ("verify ms", "verify_ms"),
        ("floor ms", "floor_ms"),
        ("verify/floor", "verify_floor_ratio"),
        ("prove/verify", "prove_verify_ratio"),
        ("total/verify", "prove_total_verify_ratio"),
    ]
    print(f"backend {args.backend}, n = {N_BITS}")
    print("  ".join(f"{h:>12}" for h, _ in cols))
    for row in results:
        print("  ".join(f"{row[key]:>12}" for _, key in cols))
    print(
        f"batch of {batch_count} single-value proofs: {batch_ms:.1f} ms, "
        f"{batch_ms / batch_count:.3f} ms per proof vs {single_ms:.3f} ms alone "
        f"-> batch_ratio {ratio:.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
