"""Prove and verify a compiled circuit instance over a statement's commitments.

Proof (binary): aux commitments ‖ limb commitments ‖ one aggregated 64-bit Bulletproof over every
range item ‖ (when the circuit has ``==`` checks) a batchable Sigma proof
PK{(δ_k)_k: D_k = δ_k·H}. The verifier derives every constrained commitment itself:

    D = Σ_ref k_ref·C_ref + k₀·G     (C_ref a slot, aux or limb commitment)

so nothing the prover sends stands in for a derived commitment. ``context`` binds everything
public (the caller's statement digest) into the range proof's and the Sigma proof's transcripts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .. import group, rangeproof, sigma
from ..errors import DecodeError, ProvingError
from ..generators import pedersen_bases
from ..group import POINT_BYTES, Point, R
from ..pedersen import commit
from ..rangeproof import RangeProof
from ..transcript import (
    EntropySource,
    Rng,
    Transcript,
    hedged_rng,
    protocol_tag,
    serialize_varlen,
    sigma_tag,
)
from . import lang
from .compiler import LIMB_BITS, Form, Instance, RangeItem, Ref
from .lang import VarKey

CIRCUIT_NONCE_TAG = protocol_tag("circuit_auxiliary_blindings")
CIRCUIT_INSTANCE_TAG = protocol_tag("circuit_instance")


def instance_digest(instance: Instance) -> bytes:
    """SHA-256 of the compiled instance: circuit digest, whether slots are trusted, each slot's
    name and bound, each form's integer coefficients and constant (so the market's parameters
    and θ), and each range item's derivation."""
    h = hashlib.sha256(b"zkmargin-V01-circuit-instance\x00")
    h.update(instance.circuit.digest + bytes([instance.trusted_slots]))

    def put(text: str) -> None:
        h.update(serialize_varlen(text.encode()))

    for sl in instance.slots:
        put(f"{sl.name}|{sl.of}|{sl.bits}|{int(sl.signed)}")
    for f in instance.forms:
        put(f"{f.name}|{f.kind}|{f.const}|{f.limbs}")
        for k, c in f.coeffs.items():
            put(f"{k[0]}|{k[1]!r}|{c}")
    for it in instance.range_items:
        put(f"{it.label}|{it.const}|" + ",".join(f"{r[0]}{r[1]}:{k}" for r, k in it.coeffs))
    return h.digest()


def bound_context(instance: Instance, slot_points: Sequence[Point], context: bytes) -> bytes:
    """The context every transcript of the proof absorbs: the caller's context, the instance
    digest and every slot commitment one by one (used in a form or not)."""
    t = Transcript(CIRCUIT_INSTANCE_TAG)
    t.absorb_bytes(instance_digest(instance))
    t.absorb_u32(len(slot_points))
    t.absorb_points(slot_points)
    t.absorb_varlen(context)
    return t.state_digest()


def _sigma_tag(context: bytes) -> bytes:
    return sigma_tag(f"zkmargin_circuit_equalities_{context.hex()}", sigma.BATCHABLE)


@dataclass(frozen=True)
class CircuitProof:
    aux: tuple[Point, ...]
    limbs: tuple[Point, ...]
    range_proof: RangeProof
    sigma: bytes

    def to_bytes(self) -> bytes:
        return (
            b"".join(group.encode_point(p) for p in (*self.aux, *self.limbs))
            + self.range_proof.to_bytes()
            + self.sigma
        )

    @classmethod
    def from_bytes(cls, data: bytes, instance: Instance) -> CircuitProof:
        """Decode a proof whose shape the instance fixes, or raise :class:`DecodeError`."""
        n_aux, n_limb = len(instance.aux), len(instance.limbs)
        n_eq = len(instance.equalities)
        rp_len = rangeproof.proof_size(LIMB_BITS, len(instance.range_items))
        sig_len = n_eq * (POINT_BYTES + group.SCALAR_BYTES)
        expected = POINT_BYTES * (n_aux + n_limb) + rp_len + sig_len
        if len(data) != expected:
            raise DecodeError(
                f"a {instance.circuit.name} proof here is {expected} bytes, got {len(data)}"
            )
        pts = group.decode_points(data[: POINT_BYTES * (n_aux + n_limb)], n_aux + n_limb)
        at = POINT_BYTES * (n_aux + n_limb)
        rp = RangeProof.from_bytes(data[at : at + rp_len], LIMB_BITS, len(instance.range_items))
        return cls(tuple(pts[:n_aux]), tuple(pts[n_aux:]), rp, bytes(data[at + rp_len :]))


def _signed(v: int) -> int:
    v %= R
    return v - R if v > R // 2 else v


def evaluate_form(form: Form, values: dict[VarKey, int]) -> int:
    """Σ c_x·x + c₀ over the integers."""
    return sum(c * values[k] for k, c in form.coeffs.items()) + form.const


def auxiliary_values(instance: Instance, slot_values: Sequence[int]) -> dict[VarKey, int]:
    """Every variable's value: the slots', then each auxiliary value from its hint."""
    values: dict[VarKey, int] = {s.key: v for s, v in zip(instance.slots, slot_values, strict=True)}
    scope = instance.scope
    assert scope is not None
    hint_scope = lang.Scope(scope.params, scope.sets, scope.functions, scope.variables, values)
    for key, a, bind in instance.aux:
        hint_scope.bound = dict(bind)
        v = lang.evaluate(a.hint, hint_scope, f"hint of {key[0]}")
        if isinstance(v, Fraction):
            if v.denominator != 1:
                raise ProvingError(f"the hint of {key[0]}[{key[1]}] is not an integer")
            v = int(v)
        if not isinstance(v, int):
            raise ProvingError(f"the hint of {key[0]}[{key[1]}] is not a number")
        values[key] = v
    return values


def check_witness(instance: Instance, values: dict[VarKey, int]) -> list[str]:
    """The names of the checks the witness fails (empty: it satisfies the circuit)."""
    failed = []
    for s in instance.slots:
        if not s.lo <= values[s.key] <= s.hi:
            failed.append(f"slot {s.name}[{s.of}] outside its {s.bits}-bit bound")
    for key, a, _ in instance.aux:
        if not 0 <= values[key] < 1 << a.bits:
            failed.append(f"{key[0]}[{key[1]}] outside [0, 2^{a.bits})")
    for f in instance.forms:
        v = evaluate_form(f, values)
        if (f.kind == ">=" and not 0 <= v < 1 << (LIMB_BITS * f.limbs)) or (
            f.kind == "==" and v != 0
        ):
            failed.append(f.name)
    return failed


def _combine(
    item_coeffs: Sequence[tuple[Ref, int]], const: int, table: Mapping[str, Sequence[int]]
) -> int:
    return (sum(k * table[kind][i] for (kind, i), k in item_coeffs) + const) % R


def prove(
    instance: Instance,
    slot_values: Sequence[int],
    slot_blindings: Sequence[int],
    context: bytes,
    *,
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
    aux_blindings: Sequence[int] | None = None,
    _unsafe_values: dict[VarKey, int] | None = None,
) -> CircuitProof:
    """Prove the instance for the statement's openings; refuse (ProvingError) a witness that
    fails any check, naming it. ``aux_blindings`` fixes the blindings of the auxiliary values
    (the exchange derives them from its KDF, so a user can be given their openings); by default
    they are nonces. ``_unsafe_values`` (soundness tests only) overrides witness values and skips
    every honest check, to play a cheating prover."""
    if len(slot_values) != len(instance.slots) or len(slot_blindings) != len(instance.slots):
        raise ProvingError("one opening per slot is needed")
    values = auxiliary_values(instance, [_signed(v) for v in slot_values])
    if _unsafe_values is None:
        failed = check_witness(instance, values)
        if failed:
            raise ProvingError("the committed values fail the check(s) " + ", ".join(failed))
    else:
        values.update(_unsafe_values)
    slot_points = [commit(v, g) for v, g in zip(slot_values, slot_blindings, strict=True)]
    context = bound_context(instance, slot_points, context)
    transcript = Transcript(CIRCUIT_NONCE_TAG)
    transcript.absorb_varlen(context)
    witness = b"".join(
        group.encode_scalar(v) + group.encode_scalar(g)
        for v, g in zip(slot_values, slot_blindings, strict=True)
    )
    nonce_rng = rng or hedged_rng(transcript, witness, entropy)
    aux_values = [values[k] % R for k, _, _ in instance.aux]
    aux_blind = nonce_rng.random_scalars(len(aux_values))
    if aux_blindings is not None:
        if len(aux_blindings) != len(aux_values) or not all(0 < g < R for g in aux_blindings):
            raise ProvingError(f"{len(aux_values)} auxiliary blindings in [1, r) are needed")
        aux_blind = list(aux_blindings)
    limb_values = []
    for fi, j in instance.limbs:
        v = evaluate_form(instance.forms[fi], values) % R
        limb_values.append((v >> (LIMB_BITS * j)) & ((1 << LIMB_BITS) - 1))
    limb_blind = nonce_rng.random_scalars(len(limb_values))
    vals = {
        "slot": [v % R for v in slot_values],
        "aux": aux_values,
        "limb": limb_values,
    }
    blinds = {"slot": [g % R for g in slot_blindings], "aux": aux_blind, "limb": limb_blind}
    rv = [_combine(it.coeffs, it.const, vals) for it in instance.range_items]
    rb = [_combine(it.coeffs, 0, blinds) for it in instance.range_items]
    proof, _ = rangeproof.prove(
        rv,
        rb,
        LIMB_BITS,
        context,
        rng=rng,
        entropy=entropy,
        _unsafe_skip_range_check=_unsafe_values is not None,
    )
    sig = b""
    eqs = instance.equalities
    if eqs:
        deltas = []
        for f in eqs:
            if _unsafe_values is None and evaluate_form(f, values) != 0:
                raise ProvingError(f"check {f.name} fails")
            refs = tuple((instance.ref_of(k), c % R) for k, c in f.coeffs.items())
            deltas.append(_combine(refs, 0, blinds))
        aux_points = [commit(v, g) for v, g in zip(aux_values, aux_blind, strict=True)]
        relation = _equality_relation(instance, slot_points, aux_points)
        try:
            sig = sigma.prove_batchable(
                _sigma_tag(context), relation, deltas, rng=rng, entropy=entropy
            )
        except ProvingError:
            if _unsafe_values is None:
                raise
            sig = bytes(len(eqs) * (POINT_BYTES + group.SCALAR_BYTES))
    return CircuitProof(
        tuple(commit(v, g) for v, g in zip(aux_values, aux_blind, strict=True)),
        tuple(commit(v, g) for v, g in zip(limb_values, limb_blind, strict=True)),
        proof,
        sig,
    )


def _derive(
    coeffs: Sequence[tuple[Ref, int]], const: int, table: dict[str, Sequence[Point]]
) -> Point:
    G, _ = pedersen_bases()
    points = [table[kind][i] for (kind, i), _ in coeffs]
    scalars = [k for _, k in coeffs]
    if const % R:
        points.append(G)
        scalars.append(const % R)
    return group.msm(points, scalars)


def _equality_relation(
    instance: Instance, slot_points: Sequence[Point], aux_points: Sequence[Point]
) -> sigma.LinearRelation:
    """PK{(δ_k): D_k = δ_k·H} for every ``==`` check, with D_k derived by the verifier."""
    _, H = pedersen_bases()
    table: dict[str, Sequence[Point]] = {"slot": slot_points, "aux": aux_points, "limb": []}
    b = sigma.RelationBuilder("CircuitEqualities")
    h = b.element("H", H)
    for f in instance.equalities:
        (delta,) = b.witness(f"δ[{f.name}]")
        refs = tuple((instance.ref_of(k), c % R) for k, c in f.coeffs.items())
        d = b.element(f"D[{f.name}]", _derive(refs, f.const, table))
        b.equation([(1, d)], [(1, delta, h)])
    return b.build()


def derived_commitments(
    instance: Instance, slot_points: Sequence[Point], proof: CircuitProof
) -> list[Point]:
    """The commitment of every range item, computed by the verifier."""
    table: dict[str, Sequence[Point]] = {
        "slot": slot_points,
        "aux": proof.aux,
        "limb": proof.limbs,
    }
    return [_derive(it.coeffs, it.const, table) for it in instance.range_items]


#: What :func:`batch_parts` gives for one proof: its range-proof item and its Sigma item.
BatchParts = tuple[
    tuple[RangeProof, list[Point], int, bytes], tuple[bytes, sigma.LinearRelation, bytes] | None
]


def batch_parts(
    instance: Instance, slot_points: Sequence[Point], proof: CircuitProof, context: bytes
) -> BatchParts:
    """The range-proof item and the Sigma item (if any) of one proof, for batch verification."""
    if len(slot_points) != len(instance.slots):
        raise DecodeError("the statement's commitments do not match the instance's slots")
    context = bound_context(instance, slot_points, context)
    derived = derived_commitments(instance, slot_points, proof)
    rp_item = (proof.range_proof, derived, LIMB_BITS, context)
    sig_item = None
    if instance.equalities:
        relation = _equality_relation(instance, slot_points, proof.aux)
        sig_item = (_sigma_tag(context), relation, proof.sigma)
    return rp_item, sig_item


def batch_verify(parts: Sequence[BatchParts]) -> bool:
    """Whether every proof of the batch verifies: all range proofs in one multi-scalar
    multiplication, all Sigma proofs in another (an empty batch is valid). Callers that must
    name a bad proof verify one by one only when the batch fails."""
    rps = [p[0] for p in parts]
    sigs = [p[1] for p in parts if p[1] is not None]
    return (not rps or rangeproof.batch_verify(rps)) and (not sigs or sigma.batch_verify(sigs))


def verify(
    instance: Instance, slot_points: Sequence[Point], proof: CircuitProof, context: bytes
) -> bool:
    """Whether the proof shows every check of the instance over the statement's commitments."""
    rp_item, sig_item = batch_parts(instance, slot_points, proof, context)
    if any(group.is_identity(d) for d in rp_item[1]):
        return False
    if not rangeproof.verify(*rp_item):
        return False
    return sig_item is None or sigma.verify_batchable(*sig_item)


__all__ = [
    "BatchParts",
    "CircuitProof",
    "RangeItem",
    "auxiliary_values",
    "batch_parts",
    "batch_verify",
    "check_witness",
    "derived_commitments",
    "evaluate_form",
    "prove",
    "verify",
]
