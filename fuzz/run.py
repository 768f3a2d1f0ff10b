"""Coverage-guided fuzzing of every decoder and reader with atheris (libFuzzer for Python).

    python fuzz/run.py [--total N] [--only NAME ...] [--json]

Runs each target of ``tests/fuzz_targets.py`` in its own process, seeded with valid inputs,
for ``N / targets`` inputs each (default N = 1,000,000), and prints per target the inputs run,
the time, the coverage reached and whether anything other than the project's own error came
out (atheris stops at the first such input and saves it as ``crash-*`` in ``fuzz/artifacts``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))


def child(name: str, runs: int, corpus: Path) -> None:
    """Inside the child process: run one target under atheris."""
    import atheris

    with atheris.instrument_imports(include=["zkmargin"]):
        import fuzz_targets

    target = fuzz_targets.TARGETS[name]
    allowed = fuzz_targets.ALLOWED

    def one(data: bytes) -> None:
        with contextlib.suppress(*allowed):
            target(data)

    artifacts = HERE / "artifacts"
    artifacts.mkdir(exist_ok=True)
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={runs}",
            "-max_len=4096",
            f"-artifact_prefix={artifacts}/{name}-",
            "-print_final_stats=1",
            str(corpus),
        ],
        one,
    )
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total", type=int, default=1_000_000)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "RUNS", "CORPUS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, runs, corpus = args.child
        child(name, int(runs), Path(corpus))
        return 0
    import fuzz_targets

    names = args.only or list(fuzz_targets.TARGETS)
    seeds = fuzz_targets.seeds()
    per = max(1, -(-args.total // len(names)))  # rounded up: at least --total in all
    results: dict[str, dict[str, Any]] = {}
    crashes: list[str] = []
    for name in names:
        corpus = HERE / "corpus" / name
        corpus.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(seeds[name]):
            (corpus / f"seed-{i}").write_bytes(data)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, str(per), str(corpus)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        elapsed = time.perf_counter() - t0
        log = proc.stderr
        done = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
        cov = re.findall(r"cov: (\d+)", log)
        crashed = proc.returncode != 0
        results[name] = {
            "inputs": int(done[-1]) if done else None,
            "seconds": round(elapsed, 1),
            "coverage_edges": int(cov[-1]) if cov else None,
            "outcome": "crash (see fuzz/artifacts)" if crashed else "only results and our errors",
        }
        if crashed:
            crashes.append(name)
            print(log[-3000:], file=sys.stderr)
        if not args.json:
            r = results[name]
            print(
                f"{name:20} {r['inputs']!s:>9} inputs {r['seconds']:>7} s  "
                f"cov {r['coverage_edges']!s:>6}  {r['outcome']}"
            )
    total = sum(int(r["inputs"] or 0) for r in results.values())
    if args.json:
        print(json.dumps({"targets": results, "total_inputs": total}, indent=1))
    else:
        print(f"total: {total} inputs")
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
