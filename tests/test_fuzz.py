"""Every decoder and reader under Hypothesis: random bytes and mutations of valid inputs end in
a correct result or the project's own error, never anything else (``make fuzz`` runs the same
targets coverage-guided, for a million inputs)."""

from __future__ import annotations

import functools

import pytest
from fuzz_targets import TARGETS, run, seeds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Targets whose single run costs milliseconds (a verification) get fewer examples.
SLOW_TARGETS = {
    "margin_proof_json",
    "bls_signature",
    "range_proof",
    "accounts_parquet",
    "inclusion_json",
    "publication_sqlite",
    "proof_of_assets_json",
    "bitcoin_signature",
}


@functools.cache
def _seeds() -> dict[str, list[bytes]]:
    return seeds()


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """A valid input of the target with a few bytes flipped, inserted, deleted or truncated."""
    data = bytearray(draw(st.sampled_from(_seeds()[name])))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x22, 0x5C, 0x2D, 0x30, 0x7B, 0x5B]))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_outcome_is_a_result_or_our_error(name: str) -> None:
    examples = 15 if name in SLOW_TARGETS else 60

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(st.one_of(st.binary(max_size=512), mutated(name)))
    def check(data: bytes) -> None:
        run(name, data)

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_are_accepted(name: str) -> None:
    """The seeds are valid inputs, so mutations start from inputs that reach deep code."""
    for data in _seeds()[name]:
        TARGETS[name](data)


REGRESSIONS = sorted(
    (__import__("pathlib").Path(__file__).parent / "fuzz_regressions").glob("*.bin")
)


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_inputs_the_fuzzer_found(path: object) -> None:
    """Inputs the fuzzer found escaping as another exception (invalid UTF-8 in a CSV header or
    in Parquet strings, a CSV column named twice) now end in the project's own error."""
    from pathlib import Path

    p = Path(str(path))
    run(p.name.split("-")[0], p.read_bytes())
