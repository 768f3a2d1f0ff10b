"""Compile a circuit file, a market snapshot and a statement's slots into linear forms over
commitments and range constraints, and prove statically that no form wraps modulo r.

A circuit file (TOML, in the repository's ``circuits/``, installed as ``zkmargin.circuits``)
declares

* ``[slots]``: the statement's committed inputs, the index set each ranges over (``assets``,
  ``positions`` or ``account``) and its bound (``bits``, ``signed``): the circuit, not the
  statement, says what a slot may hold;
* ``[aux.NAME]``: values the prover commits itself (``over`` an index quantifier, ``bits`` of
  their range proof, a ``hint`` that tells the honest prover how to compute them);
* ``[let]``: named linear expressions;
* ``[[check]]``: constraints ``expr >= 0`` (range-proven) or ``expr == 0`` (a Sigma proof that
  the derived commitment opens to zero), each optionally ``forall`` an index quantifier.

Soundness rules the compiler enforces, each with the reason:

1. Every committed value in a form is bounded: a slot by the bound the *circuit* declares for its
   kind (a statement must repeat it exactly, or it is refused naming the slot; an attested
   statement's slots are vouched for by the venue, every other statement's are range-proven);
   an auxiliary value by its range proof.
2. Every form's bound is computed from those bounds and the integer coefficients, and a form that
   could exceed r/2 in magnitude is refused, naming it: then ``F mod r ∈ [0, 2^{64L})`` implies
   ``F ≥ 0`` over the integers, because a negative F would sit at r + F ≥ r/2 > 2^{64L}.
3. A ``>=`` form wider than 64 bits is split into L ≤ 3 limbs of 64 bits: the prover commits the
   lower L − 1, and the verifier derives the top limb's commitment itself,
   C_top = 2^{−64(L−1)}·(C_F − Σ_j 2^{64j}·C_j), so F ≡ Σ_j 2^{64j}·v_j and each v_j < 2^64.
4. Every range constraint is one value of one aggregated 64-bit Bulletproof; a value bounded to
   fewer than 64 bits, lo ≤ v ≤ hi, is proven as v − lo < 2^64 and hi − v < 2^64 (never as
   2^{64−b}·v < 2^64, which does not bound v: see :func:`_bound_items`).
5. A ``>=`` form whose lower bound is already ≥ 0 (for example the width check of an unbounded
   last tier) follows from the other range proofs and needs none of its own.
7. A check may declare ``when = "w"``, a linear expression of committed selector values whose
   bounds lie in [0, 1] with integer coefficients (so w is 0 or 1): the check is then
   F + M·(1 − w) ≥ 0 with M = max(0, −lo(F)), the compiler's own bound on F's minimum. Where
   w = 1 it is exactly F ≥ 0; where w = 0 it holds for every F the bounds allow. With one-hot
   selectors (an ``==`` check that they sum to 1) this proves a disjunction, "F_k ≥ 0 for some
   k", without revealing k: the liquidation circuits use it (docs/liquidation.md).
6. A check may declare ``honest_below = "expr"``: an honest prover's value of the form is below
   that public bound (a rounding remainder below 1, say). Its limbs are then counted from that
   bound instead of the form's worst case. Soundness is unchanged: by rule 2 the form cannot
   wrap, so F mod r ∈ [0, 2^{64L}) still gives F ≥ 0 for any L ≥ 1; only a prover whose value
   the fewer limbs cannot hold can no longer prove (and is told which check).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from ..formats.statement import AccountStatement
from ..group import R
from ..margin.market import Market
from . import lang, params
from .lang import CircuitError, Linear, Scope, VarKey

#: Every range value of a circuit proof has 64 bits.
LIMB_BITS = 64
MAX_LIMBS = 3
SLOT_SETS = ("assets", "positions", "account")


@dataclass(frozen=True)
class SlotKind:
    """A kind of slot a circuit reads: the index set it ranges over and its bound."""

    over: str
    bits: int
    signed: bool


@dataclass(frozen=True)
class AuxDef:
    name: str
    over: list[ast.comprehension]
    bits: int
    hint: ast.expr


@dataclass(frozen=True)
class CheckDef:
    name: str
    forall: list[ast.comprehension]
    kind: str
    lhs: ast.expr
    rhs: ast.expr
    honest_below: ast.expr | None = None
    when: ast.expr | None = None


@dataclass(frozen=True)
class Circuit:
    """A parsed circuit file."""

    name: str
    version: int
    modes: tuple[str, ...]
    summary: str
    accounting: str
    slots: dict[str, SlotKind]
    aux: tuple[AuxDef, ...]
    lets: tuple[tuple[str, ast.expr], ...]
    checks: tuple[CheckDef, ...]
    digest: bytes
    source: str


def _slot_kind(name: str, spec: Any, source: str) -> SlotKind:
    """A ``[slots]`` entry: ``{ over = "assets", bits = 64, signed = false }``."""
    where = f"{source}: slot {name}"
    if not isinstance(spec, dict) or set(spec) - {"over", "bits", "signed"}:
        raise CircuitError(f"{where}: takes over, bits and signed (its bound is the circuit's)")
    over, bits, signed = spec.get("over"), spec.get("bits"), spec.get("signed", False)
    if over not in SLOT_SETS:
        raise CircuitError(f"{where}: ranges over {over!r}, not one of {SLOT_SETS}")
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= LIMB_BITS:
        raise CircuitError(f"{where}: needs 'bits' in [1, {LIMB_BITS}] (its bound)")
    if not isinstance(signed, bool):
        raise CircuitError(f"{where}: 'signed' must be true or false")
    return SlotKind(over, bits, signed)


def _canonical_digest(doc: Any) -> bytes:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"zkmargin-V01-circuit\x00" + text.encode()).digest()


#: The markets' accountings; a circuit states the one it expresses (default standard).
ACCOUNTINGS = ("standard", "mango_health")


def parse_circuit(text: str, source: str = "circuit") -> Circuit:
    """Parse a circuit file's text, or raise :class:`CircuitError` naming what is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CircuitError(f"{source}: not TOML: {exc}") from None
    known = {"name", "version", "modes", "summary", "accounting", "slots", "aux", "let", "check"}
    extra = set(doc) - known
    if extra:
        raise CircuitError(f"{source}: unknown keys {sorted(extra)}")
    name = doc.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise CircuitError(f"{source}: 'name' must be an identifier")
    raw_slots = doc.get("slots", {})
    if not isinstance(raw_slots, dict) or not raw_slots:
        raise CircuitError(f"{source}: [slots] must name the statement's inputs")
    slots = {k: _slot_kind(k, v, source) for k, v in raw_slots.items()}
    aux = []
    for k, spec in doc.get("aux", {}).items():
        where = f"{source}: aux {k}"
        if not isinstance(spec, dict) or set(spec) - {"over", "bits", "hint"}:
            raise CircuitError(f"{where}: takes over, bits and hint")
        bits = spec.get("bits")
        if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= LIMB_BITS:
            raise CircuitError(
                f"{where}: every auxiliary value needs 'bits' in [1, {LIMB_BITS}] "
                "(an unbounded committed value could wrap modulo r)"
            )
        if k in slots:
            raise CircuitError(f"{where}: the name is already a slot")
        aux.append(
            AuxDef(
                k,
                lang.parse_quantifier(spec.get("over", ""), where),
                bits,
                lang.parse(spec.get("hint", ""), f"{where} hint"),
            )
        )
    lets = tuple((k, lang.parse(v, f"{source}: let {k}")) for k, v in doc.get("let", {}).items())
    checks = []
    for i, c in enumerate(doc.get("check", [])):
        cname = c.get("name", f"check{i}") if isinstance(c, dict) else f"check{i}"
        where = f"{source}: check {cname}"
        if not isinstance(c, dict) or set(c) - {"name", "forall", "check", "honest_below", "when"}:
            raise CircuitError(f"{where}: takes name, forall, check, honest_below and when")
        kind, lhs, rhs = lang.comparison(lang.parse(c.get("check", ""), where), where)
        below = None
        if "honest_below" in c:
            if kind != ">=":
                raise CircuitError(f"{where}: honest_below applies to a >= check")
            below = lang.parse(c["honest_below"], f"{where} honest_below")
        when = None
        if "when" in c:
            if kind != ">=" or below is not None:
                raise CircuitError(f"{where}: when applies to a >= check without honest_below")
            when = lang.parse(c["when"], f"{where} when")
        checks.append(
            CheckDef(
                cname,
                lang.parse_quantifier(c.get("forall", ""), where),
                kind,
                lhs,
                rhs,
                below,
                when,
            )
        )
    if not checks:
        raise CircuitError(f"{source}: a circuit needs at least one check")
    modes = doc.get("modes", [])
    accounting = doc.get("accounting", "standard")
    if accounting not in ACCOUNTINGS:
        raise CircuitError(f"{source}: 'accounting' must be one of {ACCOUNTINGS}")
    return Circuit(
        name,
        int(doc.get("version", 1)),
        tuple(modes),
        str(doc.get("summary", "")),
        accounting,
        dict(slots),
        tuple(aux),
        lets,
        tuple(checks),
        _canonical_digest(doc),
        source,
    )


SHIPPED = (
    "isolated",
    "cross",
    "portfolio",
    "liability_leaf",
    "liability_leaf_isolated",
    "liability_leaf_mango",
    "liquidation_isolated",
    "liquidation_cross",
    "liquidation_portfolio",
    "mango_cross",
    "liquidation_mango_cross",
)
#: The margin proofs a trader makes and a verifier accepts: each proves equity − θ·requirement ≥ 0
#: for the θ it states. The ``liability_leaf`` circuits prove debts covered, whatever θ is asked:
#: the exchange's tree.
MARGIN_CIRCUITS = frozenset({"isolated", "cross", "portfolio", "mango_cross"})
#: The margin circuit of each margin mode: its slot kinds are the ones a statement of that mode
#: holds (every shipped circuit bounds a slot kind alike, so one statement serves them all).
MODE_CIRCUIT = {"isolated": "isolated", "cross": "cross", "portfolio": "portfolio"}
#: The liquidation circuit of each margin mode: θ·requirement − equity ≥ 1, proven by the venue
#: over its own statement, every slot range-proven (docs/liquidation.md).
LIQUIDATION_CIRCUIT = {m: f"liquidation_{m}" for m in MODE_CIRCUIT}
LIQUIDATION_CIRCUITS = frozenset({*LIQUIDATION_CIRCUIT.values(), "liquidation_mango_cross"})


def margin_circuit(mode: str, accounting: str) -> str:
    """The margin circuit of a mode under a market's accounting (mango_health: cross only; any
    other mode gets the standard circuit, which then refuses the market by name)."""
    if accounting == "mango_health" and mode == "cross":
        return "mango_cross"
    return MODE_CIRCUIT[mode]


def liquidation_circuit(mode: str, accounting: str) -> str:
    """The liquidation circuit of a mode under a market's accounting."""
    return "liquidation_" + margin_circuit(mode, accounting)


@functools.cache
def _shipped(name: str) -> Circuit:
    """A shipped circuit, parsed once per process (circuits are immutable)."""
    text = (resources.files("zkmargin.circuits") / f"{name}.toml").read_text()
    return parse_circuit(text, f"circuit {name}")


def load_circuit(name_or_path: str | Path) -> Circuit:
    """A shipped circuit by name, or a circuit file by path."""
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        return _shipped(name_or_path)
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CircuitError(f"{path}: cannot read the circuit: {exc}") from None
    return parse_circuit(text, str(path))


@dataclass(frozen=True)
class SlotSpec:
    """One committed input of a statement and its bound: [0, 2^bits) or, signed,
    [−2^(bits−1), 2^(bits−1))."""

    name: str
    of: str
    bits: int
    signed: bool

    @property
    def key(self) -> VarKey:
        return (self.name, self.of or None)

    @property
    def label(self) -> str:
        """``name[of]``, or ``name`` for an account-level slot."""
        return f"{self.name}[{self.of}]" if self.of else self.name

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


#: A reference to a commitment the verifier holds: ("slot", i), ("aux", i) or ("limb", i).
Ref = tuple[str, int]


@dataclass(frozen=True)
class Form:
    """A compiled constraint Σ c_x·x + c₀ (>= 0 or == 0) with integer coefficients."""

    name: str
    kind: str
    coeffs: dict[VarKey, int]
    const: int
    lo: int
    hi: int
    limbs: int


@dataclass(frozen=True)
class RangeItem:
    """A value the range proof shows in [0, 2^64): Σ k_ref·(committed value) + k₀ mod r."""

    label: str
    coeffs: tuple[tuple[Ref, int], ...]
    const: int


@dataclass
class Instance:
    """A circuit compiled for one market and one statement's slot layout."""

    circuit: Circuit
    slots: tuple[SlotSpec, ...]
    trusted_slots: bool
    aux: list[tuple[VarKey, AuxDef, dict[str, Any]]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    range_items: list[RangeItem] = field(default_factory=list)
    limbs: list[tuple[int, int]] = field(default_factory=list)  # (form index, limb j)
    scope: Scope | None = None

    @property
    def equalities(self) -> list[Form]:
        return [f for f in self.forms if f.kind == "=="]

    def ref_of(self, key: VarKey) -> Ref:
        for i, s in enumerate(self.slots):
            if s.key == key:
                return ("slot", i)
        for i, (k, _, _) in enumerate(self.aux):
            if k == key:
                return ("aux", i)
        raise KeyError(key)


def _index_sets(
    circuit: Circuit, market: Market, slots: tuple[SlotSpec, ...]
) -> tuple[list[str], list[str]]:
    """The assets and positions a statement holds slots for, checked against the circuit."""
    by_name: dict[str, list[str]] = {}
    seen: set[VarKey] = set()
    for s in slots:
        if s.key in seen:
            raise CircuitError(f"the statement holds slot {s.name}[{s.of}] twice")
        seen.add(s.key)
        if s.name not in circuit.slots:
            raise CircuitError(
                f"the statement holds a {s.name} slot, which circuit {circuit.name} does not use"
            )
        kind = circuit.slots[s.name]
        if (s.bits, s.signed) != (kind.bits, kind.signed):
            raise CircuitError(
                f"slot {s.label} is declared {_bound_text(s.bits, s.signed)} in the statement; "
                f"circuit {circuit.name} bounds {s.name} to {_bound_text(kind.bits, kind.signed)}"
            )
        by_name.setdefault(s.name, []).append(s.of)
    asset_order = [a.symbol for a in market.assets]
    inst_order = [i.symbol for i in market.instruments]
    found: dict[str, list[str]] = {"assets": [], "positions": []}
    for set_name, order in (("assets", asset_order), ("positions", inst_order)):
        names = [n for n, k in circuit.slots.items() if k.over == set_name]
        key_sets = {n: by_name.get(n, []) for n in names}
        union = {k for ks in key_sets.values() for k in ks}
        for k in union:
            if k not in order:
                raise CircuitError(f"the statement names {k}, which the market does not list")
        for n, ks in key_sets.items():
            if set(ks) != union:
                missing = sorted(union - set(ks))
                raise CircuitError(f"the statement has no {n} slot for {', '.join(missing)}")
        found[set_name] = [k for k in order if k in union]
    for n, kind in circuit.slots.items():
        if kind.over == "account" and by_name.get(n) != [""]:
            raise CircuitError(f"the statement needs exactly one account-level {n} slot")
    return found["assets"], found["positions"]


def _bound_text(bits: int, signed: bool) -> str:
    return f"signed {bits}-bit" if signed else f"unsigned {bits}-bit"


def _collect_keys(clauses: list[ast.comprehension], scope: Scope, where: str) -> list[Any]:
    keys = []
    names = [c.target.id for c in clauses if isinstance(c.target, ast.Name)]
    for _ in lang.iterate(clauses, scope, where):
        vals = tuple(scope.bound[n] for n in names)
        keys.append(None if not vals else vals[0] if len(vals) == 1 else vals)
    return keys


def _scaled(form: Linear) -> tuple[dict[VarKey, int], int, int]:
    """Multiply by the positive lcm of the denominators: integer coefficients, same sign; also
    return that scale."""
    dens = [c.denominator for c in form.terms.values()] + [form.const.denominator]
    scale = math.lcm(*dens)
    return (
        {k: int(c * scale) for k, c in form.terms.items()},
        int(form.const * scale),
        scale,
    )


def compile_instance(
    circuit: Circuit,
    market: Market,
    slots: tuple[SlotSpec, ...],
    theta_ppm: int,
    *,
    trusted_slots: bool,
) -> Instance:
    """Compile ``circuit`` for ``market`` and a statement's ``slots``; see the module docstring.

    ``trusted_slots``: the venue vouches for each slot's bound (an attested statement); otherwise
    every slot is range-proven too.
    """
    if market.accounting != circuit.accounting:
        raise CircuitError(
            f"the market's {market.accounting} accounting is not expressed by circuit "
            f"{circuit.name} (which expresses {circuit.accounting} accounting)"
        )
    assets, positions = _index_sets(circuit, market, slots)
    try:
        prm = params.build(market, assets, positions, theta_ppm)
    except params.UnsupportedMarket as exc:
        raise CircuitError(str(exc)) from None
    variables: dict[str, set[Any] | None] = {}
    for s in slots:
        if circuit.slots[s.name].over == "account":
            variables[s.name] = None
        else:
            variables.setdefault(s.name, set()).add(s.of)  # type: ignore[union-attr]
    for n, kind in circuit.slots.items():
        variables.setdefault(n, set() if kind.over != "account" else None)
    scope = Scope(prm.params, prm.sets, prm.functions, variables)
    inst = Instance(circuit, slots, trusted_slots, scope=scope)
    for a in circuit.aux:
        where = f"{circuit.source}: aux {a.name}"
        keys = _collect_keys(a.over, scope, where)
        variables[a.name] = None if keys == [None] else set(keys)
        names = [c.target.id for c in a.over if isinstance(c.target, ast.Name)]
        for k in keys:
            parts = () if k is None else k if isinstance(k, tuple) else (k,)
            bind = dict(zip(names, parts, strict=True))
            inst.aux.append(((a.name, k), a, bind))
    for name, node in circuit.lets:
        scope.lets[name] = lang.evaluate(node, scope, f"{circuit.source}: let {name}")
    bounds: dict[VarKey, tuple[int, int]] = {s.key: (s.lo, s.hi) for s in slots}
    for key, a, _ in inst.aux:
        bounds[key] = (0, (1 << a.bits) - 1)
    for chk in circuit.checks:
        where = f"{circuit.source}: check {chk.name}"
        names = [c.target.id for c in chk.forall if isinstance(c.target, ast.Name)]
        for _ in lang.iterate(chk.forall, scope, where):
            label = chk.name
            if names:
                label += "[" + ",".join(str(scope.bound[n]) for n in names) + "]"
            lhs = Linear.of(lang.evaluate(chk.lhs, scope, where))
            rhs = Linear.of(lang.evaluate(chk.rhs, scope, where))
            coeffs, const, scale = _scaled(lhs + rhs.scale(Fraction(-1)))
            if chk.when is not None:
                sel = Linear.of(lang.evaluate(chk.when, scope, f"{where} when"))
                coeffs, const = _relax(label, coeffs, const, sel, bounds)
            honest = None
            if chk.honest_below is not None:
                bound = lang.evaluate(chk.honest_below, scope, f"{where} honest_below")
                if not isinstance(bound, (int, Fraction)) or bound <= 0:
                    raise CircuitError(f"{where}: honest_below must be a positive constant")
                honest = math.ceil(bound * scale)
            inst.forms.append(_bound_form(label, chk.kind, coeffs, const, bounds, honest))
    _range_items(inst)
    return inst


def _box(
    coeffs: dict[VarKey, int], const: int, bounds: dict[VarKey, tuple[int, int]], label: str
) -> tuple[int, int]:
    lo = hi = const
    for k, c in coeffs.items():
        if k not in bounds:
            raise CircuitError(f"form {label} uses {k[0]}, which is not bounded")
        a, b = c * bounds[k][0], c * bounds[k][1]
        lo += min(a, b)
        hi += max(a, b)
    return lo, hi


def _relax(
    label: str,
    coeffs: dict[VarKey, int],
    const: int,
    sel: Linear,
    bounds: dict[VarKey, tuple[int, int]],
) -> tuple[dict[VarKey, int], int]:
    """F + M·(1 − w) for a selector w ∈ {0, 1} (rule 7); M = max(0, −lo(F))."""
    if not sel.terms or any(c.denominator != 1 for c in sel.terms.values()):
        raise CircuitError(f"check {label}: 'when' must be committed selectors, integer weights")
    if sel.const.denominator != 1:
        raise CircuitError(f"check {label}: 'when' must have an integer constant")
    w = {k: int(c) for k, c in sel.terms.items()}
    wlo, whi = _box(w, int(sel.const), bounds, label)
    if wlo < 0 or whi > 1:
        raise CircuitError(f"check {label}: 'when' ranges over [{wlo}, {whi}], not within [0, 1]")
    lo, _ = _box(coeffs, const, bounds, label)
    big = max(0, -lo)
    out = dict(coeffs)
    for k, c in w.items():
        out[k] = out.get(k, 0) - big * c
        if not out[k]:
            del out[k]
    return out, const + big * (1 - int(sel.const))


def _bound_form(
    label: str,
    kind: str,
    coeffs: dict[VarKey, int],
    const: int,
    bounds: dict[VarKey, tuple[int, int]],
    honest: int | None = None,
) -> Form:
    """Bound a form over the box of its variables' bounds; refuse one that could wrap mod r.
    ``honest``: the honest prover's value is below it (rule 6), which sets the limb count."""
    if not coeffs:
        raise CircuitError(f"form {label} uses no committed value (it is a constant)")
    lo, hi = _box(coeffs, const, bounds, label)
    if max(-lo, hi) >= R // 2:
        raise CircuitError(
            f"form {label} could reach {max(-lo, hi).bit_length()} bits in magnitude, beyond r/2: "
            "it could wrap modulo the group order"
        )
    limbs = 0
    if kind == ">=":
        top = max(hi, 0) if honest is None else min(max(hi, 0), honest - 1)
        limbs = max(1, -(-top.bit_length() // LIMB_BITS))
        if limbs > MAX_LIMBS or (1 << (LIMB_BITS * limbs)) > R + lo:
            raise CircuitError(f"form {label} is too wide to range-prove without wrapping")
    return Form(label, kind, coeffs, const, lo, hi, limbs)


def _bound_items(label: str, ref: Ref, lo: int, hi: int) -> list[RangeItem]:
    """Range items showing lo ≤ x ≤ hi for a committed x, with hi − lo < 2^64: x − lo ∈ [0, 2^64)
    and, unless the interval is the whole 2^64, hi − x ∈ [0, 2^64) too.

    Never by scaling (2^{64−b}·x < 2^64 does *not* bound x: x = w·2^{−(64−b)} mod r passes for
    every w < 2^64 not divisible by 2^{64−b}, a huge field element)."""
    out = [RangeItem(label, ((ref, 1),), -lo % R)]
    if hi - lo < (1 << LIMB_BITS) - 1:
        out.append(RangeItem(f"{label} upper bound", ((ref, R - 1),), hi % R))
    return out


def _range_items(inst: Instance) -> None:
    items = inst.range_items
    if not inst.trusted_slots:
        for i, s in enumerate(inst.slots):
            items.extend(_bound_items(f"slot {s.label}", ("slot", i), s.lo, s.hi))
    for i, (key, a, _) in enumerate(inst.aux):
        items.extend(_bound_items(f"aux {key[0]}[{key[1]}]", ("aux", i), 0, (1 << a.bits) - 1))
    for fi, form in enumerate(inst.forms):
        if form.kind != ">=" or form.lo >= 0:
            continue  # == checks go to the Sigma proof; lo >= 0: implied by the bounds
        base = tuple((inst.ref_of(k), c % R) for k, c in form.coeffs.items())
        if form.limbs == 1:
            items.append(RangeItem(form.name, base, form.const % R))
            continue
        limb_refs = []
        for j in range(form.limbs - 1):
            ref = ("limb", len(inst.limbs))
            inst.limbs.append((fi, j))
            limb_refs.append(ref)
            items.append(RangeItem(f"{form.name} limb {j}", ((ref, 1),), 0))
        inv = pow(1 << (LIMB_BITS * (form.limbs - 1)), -1, R)
        top = tuple((ref, c * inv % R) for ref, c in base) + tuple(
            (ref, -(1 << (LIMB_BITS * j)) * inv % R) for j, ref in enumerate(limb_refs)
        )
        items.append(RangeItem(f"{form.name} limb {form.limbs - 1}", top, form.const * inv % R))


def statement_slots(st: AccountStatement) -> tuple[SlotSpec, ...]:
    """The slot layout of an account statement, each slot with the bound the statement declares
    (which :func:`compile_instance` compares with the circuit's, refusing a difference)."""
    return tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in st.slots)


def circuit_slot(circuit: Circuit, name: str, of: str) -> SlotSpec:
    """The slot ``name[of]`` with the bound ``circuit`` declares for its kind."""
    kind = circuit.slots[name]
    return SlotSpec(name, of, kind.bits, kind.signed)


def compile_statement(
    circuit: Circuit, market: Market, st: AccountStatement, theta_ppm: int
) -> Instance:
    """The instance of ``circuit`` for a statement: a signed (attested) statement's slots are
    trusted to their stated bounds; a self-committed one's are all range-proven."""
    return compile_instance(
        circuit, market, statement_slots(st), theta_ppm, trusted_slots=st.signature is not None
    )
