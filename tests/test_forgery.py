"""Property tests of soundness: what a forger (:mod:`forger`) makes is given to the unmodified
verifiers, and whatever they accept must mean what it says by the exact margin engine.

1. Leaves: any layout, declared bounds, values and auxiliary values, checked by the audit's own
   per-leaf code (``check_leaves``) against a real publication's header and market. Accepted ⇒
   every slot in the circuit's bound, exact equity ≥ exact maintenance, and every committed
   liability at least the account's true liability.
2. Publications: one or two forged leaves in the padding of a real publication, the tree and
   root redone with the venue key, the reserves re-proven (forged where short). Valid ⇒ every
   forged leaf means what it says and each column's true total is at most its reserve.
3. Margin proofs: forged self-committed statements, or venue-attested statements proven with
   forged auxiliary values, on the cross, isolated and portfolio circuits of three venues (the
   synthetic market, the trader's example, Drift: borrows in the requirement and quotes finer
   than a settle unit, committed floored) and on mango_cross over the bundled Mango market
   (sometimes proven for another θ than the file states). Valid ⇒ every slot in the circuit's
   bound and exact equity ≥ θ·requirement for the θ the file states (Mango: requirement =
   equity − health).

Each property has a companion that draws honest-looking inputs with the same strategies and
checks that the verifiers accept them exactly when the oracle says they hold, so the soundness
properties cannot pass by refusing everything. ``ZKMARGIN_FUZZ=1`` (``make fuzz``) multiplies
every example count by 20 (``ZKMARGIN_FUZZ=k``: by k). Each test prints how many of its
examples were accepted (``pytest -s``).
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import forger
import pytest
from click.testing import CliRunner
from hypothesis import event, example, given
from hypothesis import strategies as st

from zkmargin import group
from zkmargin.attest.keys import VenueKey, generate
from zkmargin.auditor import verify_margin_proofs
from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import SlotSpec, load_circuit
from zkmargin.circuit.params import linear_scale, quote_in_settle_units
from zkmargin.circuit.slots import SlotValue
from zkmargin.cli import main
from zkmargin.errors import ProvingError
from zkmargin.exchange import load_venue_key
from zkmargin.formats.common import PPM
from zkmargin.formats.jsonfile import write_model
from zkmargin.formats.market import market_digest
from zkmargin.formats.publication import AccountSecret
from zkmargin.formats.statement import AccountStatement
from zkmargin.group import R
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities import reserves as rsv
from zkmargin.liabilities.audit import audit
from zkmargin.liabilities.parallel import InProcess
from zkmargin.liabilities.plan import PADDING_PREFIX, _leaf, derive_permutation
from zkmargin.liabilities.work import check_leaves
from zkmargin.margin.market import Market, compile_market, load_snapshot
from zkmargin.margin.synthetic import (
    exchange_accounts,
    exchange_market,
    exchange_market_document,
    market_document,
)
from zkmargin.margin.table_io import save_table

ROOT = Path(__file__).resolve().parent.parent
EPOCH = 3
N_ACCOUNTS = 6
examples = forger.examples


# ----- the world: a real publication (header, market, key, secrets) --------------------------


@dataclass
class World:
    dir: Path
    pub: Path
    secrets: Path
    key: VenueKey
    header: dict[str, Any]
    header_json: str
    market: Market
    market_text: bytes
    columns: lf.Columns
    padding: list[int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Six accounts of the exchange market published in 8 leaves (two of them padding)."""
    d = tmp_path_factory.mktemp("forgery")
    (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH)))
    market = exchange_market(EPOCH)
    save_table(exchange_accounts(market, N_ACCOUNTS, seed=5), market, d / "accounts.csv")
    reserves = {"USDT": "10" + "0" * 15, "USDC": "10" + "0" * 12, "BTC": "10" + "0" * 12}
    reserves |= {"ETH": "10" + "0" * 12, "USD": "10" + "0" * 12}
    (d / "reserves.json").write_text(
        json.dumps({"format": "zkmargin/reserves/1", "reserves": reserves})
    )

    def run(*args: str | Path) -> None:
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 0, r.output

    run("venue", "keygen", "--out", d / "venue.key", "--venue", "X")
    run(
        "exchange", "publish", "--out", d / "pub.sqlite", "--workers", "1",
        "--market", d / "market.json", "--accounts", d / "accounts.csv",
        "--reserves", d / "reserves.json", "--key", d / "venue.key",
    )  # fmt: skip
    pub = d / "pub.sqlite"
    header, market = forger.read_header(pub)
    with sqlite3.connect(pub) as conn:
        header_json = conn.execute("SELECT doc FROM header").fetchone()[0]
        market_text = conn.execute("SELECT snapshot FROM market").fetchone()[0]
    with sqlite3.connect(d / "pub.sqlite.secrets") as conn:
        used = {json.loads(s)["position"] for (s,) in conn.execute("SELECT doc FROM accounts")}
    padding = sorted(set(range(1 << header["height"])) - used)
    assert len(padding) == (1 << header["height"]) - N_ACCOUNTS
    columns = lf.liability_columns(market)
    return World(
        d, pub, d / "pub.sqlite.secrets", load_venue_key(d / "venue.key"), header,
        header_json, market, market_text, columns, padding,
    )  # fmt: skip


def report(what: str, seen: list[tuple[bool, bool]]) -> None:
    """One line (shown by ``pytest -s``): how many examples were accepted, honest-looking too."""
    honest = [a for h, a in seen if h]
    print(
        f"\n{what}: {sum(a for _, a in seen)} of {len(seen)} accepted; honest-looking "
        f"{sum(honest)} of {len(honest)}"
    )


def leaf_accepted(world: World, row: Any) -> bool:
    """The audit's own per-leaf check (statement, layout and bounds, liabilities, hash, proof)."""
    verdict = check_leaves(group.backend().name, world.market_text, world.header_json, [row])
    return not verdict.bad and len(verdict.tags) == 1


# ----- values: a mix biased to where bugs live --------------------------------------------------


magnitude, wild, change_aux = forger.magnitude, forger.wild, forger.change_aux
EDGES, AUX_CHANGES = forger.EDGES, forger.AUX_CHANGES


# ----- accounts as slots ------------------------------------------------------------------------


def spec(circuit: str, name: str, of: str) -> tuple[int, bool]:
    kind = load_circuit(circuit).slots[name]
    return kind.bits, kind.signed


@st.composite
def account_values(
    draw: st.DrawFn,
    market: Market,
    circuit: str,
    assets: list[str],
    instruments: list[str],
    honest: bool = False,
) -> list[tuple[str, str, int]]:
    """Realistic values for a layout, in market order: (name, of, value). Unless ``honest``, an
    asset may hold both a balance and a borrow (no venue commits that; the circuit then counts
    the borrow in full and the balance haircut, more strictly than the engine's net)."""
    out: list[tuple[str, str, int]] = []
    for a in market.assets:
        if a.symbol not in assets:
            continue
        shapes = ("pos", "pos", "pos", "neg", "zero") + (() if honest else ("both",))
        shape = draw(st.sampled_from(shapes))
        amount = draw(magnitude(a.decimals + 5))
        pos = amount if shape in ("pos", "both") else 0
        neg = (
            amount if shape == "neg" else draw(magnitude(a.decimals + 3)) if shape == "both" else 0
        )
        out += [("balance_pos", a.symbol, pos), ("balance_neg", a.symbol, neg)]
    for inst in market.instruments:
        if inst.symbol not in instruments:
            continue
        size = draw(magnitude(inst.size_decimals + 5)) * draw(st.sampled_from((1, -1)))
        if inst.kind == "inverse":
            # q: what the contracts cost in settle units (⌊size·cv/entry⌋ for an honest venue)
            settle = market.assets[inst.settle_index]
            entry = max(1, inst.mark + draw(st.integers(-inst.mark // 10, inst.mark // 10)))
            num = size * inst.contract_value * 10**settle.decimals
            quote = num // (10**inst.size_decimals * entry)
        else:
            entry = max(0, inst.mark + draw(st.integers(-inst.mark // 10, inst.mark // 10)))
            quote = -size * entry
            if quote_in_settle_units(inst, market):  # committed floored, in settle units
                k = linear_scale(inst, market)
                quote = quote * k.numerator // k.denominator
        out += [
            ("long", inst.symbol, max(size, 0)),
            ("short", inst.symbol, max(-size, 0)),
            ("quote", inst.symbol, quote),
        ]
        if circuit == "isolated":
            settle = market.assets[inst.settle_index]
            out.append(("isolated_margin", inst.symbol, draw(magnitude(settle.decimals + 5))))
    cash = draw(st.one_of(st.just(0), st.just(0), magnitude(12), magnitude(12).map(lambda m: -m)))
    out.append(("cash", "", cash))
    return out


def with_specs(circuit: str, values: list[tuple[str, str, int]]) -> list[forger.ForgedSlot]:
    return [(n, o, *spec(circuit, n, o), v) for n, o, v in values]


def set_value(slots: list[forger.ForgedSlot], name: str, of: str, v: int) -> None:
    for k, (n, o, b, s, _) in enumerate(slots):
        if (n, o) == (name, of):
            slots[k] = (n, o, b, s, v)


def value_of(slots: list[forger.ForgedSlot], name: str, of: str) -> int:
    return next(forger.signed_rep(v) for n, o, _, _, v in slots if (n, o) == (name, of))


def balance_cash(
    market: Market, slots: list[forger.ForgedSlot], mode: str, theta_ppm: int, margin: int
) -> None:
    """Set cash so that exact equity − θ·requirement lands in [margin, margin + 1) (cash counts
    one for one in equity and in nothing else)."""
    equity, requirement = forger.margin_figures(market, slots, mode)
    cash = value_of(slots, "cash", "")
    gap = Fraction(theta_ppm, PPM) * requirement - equity
    set_value(slots, "cash", "", cash + math.ceil(gap) + margin)


MARGINS = (-(10**6), -1000, -1, 0, 0, 0, 1, 2, 1000)
#: A covered account (1 USDT, nothing else): each soundness test runs it first, so each is
#: sure to see an accepted example.
COVERED: list[forger.ForgedSlot] = [
    ("balance_pos", "USDT", 64, False, 10**6),
    ("balance_neg", "USDT", 64, False, 0),
    ("cash", "", 64, True, 0),
]


# ----- 1. leaves ----------------------------------------------------------------------------------


@dataclass
class LeafDraw:
    slots: list[forger.ForgedSlot]
    statement_slots: list[forger.ForgedSlot] | None
    aux_change: str | None
    honest: bool  # circuit bounds, honest hints, a defined layout, no wild value
    seed: bytes


@st.composite
def leaf_draws(
    draw: st.DrawFn,
    market: Market,
    honest: bool = False,
    layouts: bool = True,
    margins: tuple[int, ...] = MARGINS,
    always_balance: bool = False,
) -> LeafDraw:
    """A leaf a forging exchange might publish for ``market`` (the exchange market): a layout
    (a subset of assets and instruments), realistic values usually set at the edge of covered,
    then, unless ``honest``: a few wild values, other declared bounds, a changed auxiliary value,
    a slot dropped or doubled (when ``layouts``)."""
    assets = draw(st.lists(st.sampled_from([a.symbol for a in market.assets]), unique=True))
    instruments = draw(
        st.lists(st.sampled_from([i.symbol for i in market.instruments]), unique=True)
    )
    circuit = lf.leaf_circuit_name("cross", "standard")
    slots = with_specs(circuit, draw(account_values(market, circuit, assets, instruments, honest)))
    if always_balance or draw(st.integers(0, 3)):
        balance_cash(market, slots, "cross", PPM, draw(st.sampled_from(margins)))
    # a venue commits b⁺ or b⁻ of an asset, never both
    clean = not any(
        n == "balance_pos" and v and value_of(slots, "balance_neg", o) for n, o, *_, v in slots
    )
    if not honest and draw(st.integers(0, 2)) == 0:
        for k in draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, max_size=2)):
            n, o, b, s, v = slots[k]
            slots[k] = (n, o, b, s, draw(wild(v)))
        clean = False
        if draw(st.booleans()):
            balance_cash(market, slots, "cross", PPM, draw(st.sampled_from(MARGINS)))
    if not honest and draw(st.integers(0, 4)) == 0:
        bits = st.sampled_from((1, 2, 8, 16, 32, 48, 62, 63, 64, 64))
        if draw(st.booleans()):  # one slot
            k = draw(st.integers(0, len(slots) - 1))
            n, o, _, _, v = slots[k]
            slots[k] = (n, o, draw(bits), draw(st.booleans()), v)
        else:  # every slot of one kind
            kind = draw(st.sampled_from(sorted({n for n, *_ in slots})))
            b, s = draw(bits), draw(st.booleans())
            slots = [
                (n, o, b, s, v) if n == kind else (n, o, bb, ss, v) for n, o, bb, ss, v in slots
            ]
        clean = clean and all(sp[2:4] == spec(circuit, *sp[:2]) for sp in slots)
    aux_change = None
    if not honest and instruments and draw(st.integers(0, 3)) == 0:
        aux_change = draw(st.sampled_from(AUX_CHANGES))
        clean = False
    statement_slots = None
    if not honest and layouts and draw(st.integers(0, 14)) == 0:
        k = draw(st.integers(0, len(slots) - 1))
        if len(slots) > 1 and draw(st.booleans()):
            statement_slots = slots[:k] + slots[k + 1 :]
        else:
            n, o, b, s, v = slots[k]
            statement_slots = [*slots, (n, o, b, s, draw(wild(v)))]
        clean = False
    return LeafDraw(slots, statement_slots, aux_change, clean, draw(st.binary(max_size=4)))


def forge(world: World, d: LeafDraw, position: int, tag: bytes | None = None) -> forger.ForgedLeaf:
    aux: dict[tuple[str, Any], int] | None = None
    if d.aux_change is not None:
        specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in d.slots)
        inst = forger.forged_instance(
            lf.leaf_circuit_name("cross", "standard"), world.market, specs, PPM, trusted=False
        )
        honest = cproof.auxiliary_values(inst, [forger.signed_rep(v) for *_, v in d.slots])
        aux = {("settled", "USDT"): change_aux(d.aux_change, honest[("settled", "USDT")])}
    return forger.forge_leaf(
        world.market,
        world.header,
        position,
        d.slots,
        aux=aux,
        tag=tag,
        seed=d.seed,
        statement_slots=d.statement_slots,
    )


def bounds_as_circuit(slots: list[forger.ForgedSlot]) -> bool:
    return all(
        (b, s) == spec(lf.leaf_circuit_name("cross", "standard"), n, o) for n, o, b, s, _ in slots
    )


def test_accepted_leaves_mean_what_they_say(world: World) -> None:
    """The soundness property of a leaf, on forged leaves of every kind."""
    seen: list[tuple[bool, bool]] = []

    @examples(150)
    @given(d=leaf_draws(world.market))
    @example(d=LeafDraw(COVERED, None, None, True, b""))
    def check(d: LeafDraw) -> None:
        leaf = forge(world, d, world.padding[0])
        accepted = leaf_accepted(world, leaf.row)
        event("accepted" if accepted else "refused")
        event("honest-looking" if d.honest else "forged")
        seen.append((d.honest, accepted))
        if accepted:
            assert forger.leaf_means_what_it_says(world.market, leaf), (
                "CRITICAL: the audit accepted a leaf that does not mean what it says",
                leaf.slots,
                d,
            )
            # a statement repeating other bounds than the circuit's is refused, whatever it holds
            assert bounds_as_circuit(leaf.slots), leaf.slots

    check()
    report("leaves", seen)
    accepted = sum(a for _, a in seen)
    # not vacuous: the strategy reaches accepted leaves, and refused ones; and a fair share of
    # its honest-looking leaves are accepted
    assert 0 < accepted < len(seen), (accepted, len(seen))
    honest = [a for h, a in seen if h]
    assert len(honest) >= len(seen) // 10 and sum(honest) >= len(honest) // 4, honest


def test_honest_leaves_are_accepted_when_covered(world: World) -> None:
    """Completeness of the same strategy: an honest-looking leaf (the circuit's bounds, honest
    hints) is accepted exactly when the exact engine says it means what it says."""
    seen: list[bool] = []

    @examples(20)
    @given(d=leaf_draws(world.market, honest=True, margins=(0, 1, 1000, -1), always_balance=True))
    def check(d: LeafDraw) -> None:
        leaf = forge(world, d, world.padding[0])
        means = forger.leaf_means_what_it_says(world.market, leaf)
        accepted = leaf_accepted(world, leaf.row)
        event("accepted" if accepted else "refused")
        assert accepted == means, (accepted, means, leaf.slots)
        seen.append(accepted)

    check()
    report("honest leaves", [(True, a) for a in seen])
    assert sum(seen) >= len(seen) // 3, (sum(seen), len(seen))


# ----- 2. publications ---------------------------------------------------------------------------


@dataclass
class Book:
    """What the exchange knows of each leaf of the world's publication: (L_c, blinding) per
    column, the true liabilities of the account it stands for, and its account tag."""

    openings: dict[int, list[tuple[int, int]]]
    true: dict[int, list[Fraction]]
    tags: dict[int, bytes]


def stored_statement(db: Path, position: int) -> AccountStatement:
    with sqlite3.connect(db) as conn:
        doc = conn.execute("SELECT statement FROM leaves WHERE position = ?", (position,))
        return AccountStatement.model_validate_json(doc.fetchone()[0])


@pytest.fixture(scope="module")
def book(world: World) -> Book:
    """Every leaf's openings: the accounts' from the secrets file, the padding leaves' from the
    venue's KDF (as the plan made them: zero in every slot)."""
    out = Book({}, {}, {})
    size = 1 << world.header["height"]
    with sqlite3.connect(world.secrets) as conn:
        secrets = [AccountSecret.model_validate_json(d) for (d,) in conn.execute(
            "SELECT doc FROM accounts"
        )]  # fmt: skip
    for sec in secrets:
        stmt = stored_statement(world.pub, sec.position)
        specs = tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in stmt.slots)
        inst = lf.leaf_instance(world.market, stmt.mode, specs)
        values = [int(o.value) for o in sec.openings]
        blindings = [int(o.blinding, 16) for o in sec.openings]
        every = cproof.auxiliary_values(inst, values)
        out.openings[sec.position] = lf.liability_openings(
            lf.liability_terms(inst, world.columns),
            values,
            blindings,
            [every[k] for k, _, _ in inst.aux],
            [int(g, 16) for g in sec.aux_blindings],
        )
        slots = [(s.name, s.of, s.bits, s.signed, v) for s, v in zip(specs, values, strict=True)]
        out.true[sec.position] = forger.true_liabilities(
            world.market, forger.account_of(world.market, slots, stmt.mode)
        )
        out.tags[sec.position] = bytes.fromhex(stmt.account_tag)
    perm = derive_permutation(world.key.master_secret, EPOCH, size)
    for k in range(size - len(secrets)):
        position = perm[len(secrets) + k]
        stmt = stored_statement(world.pub, position)
        specs = tuple(SlotSpec(s.name, s.of, s.bits, s.signed) for s in stmt.slots)
        *_, liabilities, _, failed = _leaf(
            world.market, bytes.fromhex(world.header["market_digest"]), world.columns,
            world.key, EPOCH, f"{PADDING_PREFIX}{k}", stmt.mode, [SlotValue(s, 0) for s in specs],
        )  # fmt: skip
        assert not failed
        out.openings[position] = liabilities
        out.true[position] = [Fraction(0)] * len(world.columns)
        out.tags[position] = bytes.fromhex(stmt.account_tag)
    assert sorted(out.openings) == list(range(size)) and sorted(world.padding) == sorted(
        set(range(size)) - {s.position for s in secrets}
    )
    return out


RESERVE_CHOICES = ("committed", "committed+1", "committed-1", "true", "true-1", "zero", "plenty")


def reserve(choice: str, committed: int, true: Fraction) -> int:
    r = {
        "committed": committed,
        "committed+1": committed + 1,
        "committed-1": committed - 1,
        "true": math.ceil(true),
        "true-1": math.ceil(true) - 1,
        "zero": 0,
        "plenty": committed + 10**15,
    }[choice]
    return min(max(r, 0), rsv.MAX_RESERVE)


@st.composite
def publication_draws(
    draw: st.DrawFn, world: World, book: Book
) -> tuple[list[tuple[int, LeafDraw, bytes | None]], list[str]]:
    """One or two padding leaves replaced by forged ones (sometimes claiming an account's tag),
    and each column's reserve chosen against the committed and the true totals."""
    positions = draw(st.lists(st.sampled_from(world.padding), min_size=1, max_size=2, unique=True))
    leaves = []
    for position in positions:
        if draw(st.integers(0, 4)):  # mostly a covered account, honestly committed
            covered = leaf_draws(
                world.market, honest=True, layouts=False, margins=(0, 1, 1000), always_balance=True
            )
            d = draw(covered)
        else:
            d = draw(leaf_draws(world.market, layouts=False))
        tag = None
        if draw(st.integers(0, 9)) == 0:
            tag = book.tags[draw(st.sampled_from(sorted(set(book.tags) - set(world.padding))))]
        leaves.append((position, d, tag))
    # mostly every column covered, else each column's reserve on its own
    cover = draw(st.integers(0, 2)) != 0
    choose = st.sampled_from(RESERVE_CHOICES[:2] if cover else RESERVE_CHOICES)
    choices = [draw(choose) for _ in world.columns.symbols]
    return leaves, choices


def test_valid_publications_cover_their_true_liabilities(world: World, book: Book) -> None:
    """The soundness property of the whole audit, on publications with forged leaves."""
    seen: list[tuple[bool, bool]] = []

    @examples(12)
    @given(draw=publication_draws(world, book))
    @example(
        draw=(
            [(world.padding[0], LeafDraw(COVERED, None, None, True, b""), None)],
            ["committed"] * len(world.columns),
        )
    )
    def check(draw: tuple[list[tuple[int, LeafDraw, bytes | None]], list[str]]) -> None:
        plan, choices = draw
        forged = {p: forge(world, d, p, tag) for p, d, tag in plan}
        openings = {p: o for p, o in book.openings.items() if p not in forged}
        true = {p: t for p, t in book.true.items() if p not in forged}
        for p, leaf in forged.items():
            openings[p] = forger.leaf_openings(leaf, world.market, world.columns)
            true[p] = forger.true_liabilities(
                world.market, forger.account_of(world.market, leaf.slots)
            )
        ncol = len(world.columns)
        totals = [
            (sum(o[c][0] for o in openings.values()), sum(o[c][1] for o in openings.values()) % R)
            for c in range(ncol)
        ]
        true_totals = [sum((t[c] for t in true.values()), Fraction(0)) for c in range(ncol)]
        reserves = [
            reserve(ch, t, tt) for ch, (t, _), tt in zip(choices, totals, true_totals, strict=True)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "p.sqlite"
            shutil.copy(world.pub, db)
            for leaf in forged.values():
                forger.put_leaf(db, leaf.row)
            forger.rebuild(db, world.key, reserves=reserves, totals=totals)
            rep = audit(db, venue_key=world.key.public_key, runner=InProcess())
        event("valid" if rep.valid else "invalid")

        honest = all(d.honest for _, d, tag in plan if tag is None) and all(
            tag is None for *_, tag in plan
        )
        seen.append((honest, rep.valid))
        if rep.valid:
            for p, leaf in forged.items():
                assert forger.leaf_means_what_it_says(world.market, leaf), (
                    "CRITICAL: a publication with a leaf that does not mean what it says audits",
                    p,
                    leaf.slots,
                )
            tags = [t for p, t in book.tags.items() if p not in forged]
            tags += [bytes.fromhex(f.statement.account_tag) for f in forged.values()]
            assert len(set(tags)) == len(tags), "a valid publication holds an account twice"
            for sym, tt, res in zip(world.columns.symbols, true_totals, reserves, strict=True):
                assert tt <= res, ("CRITICAL: reserves below the true total", sym, tt, res)
        elif (
            honest
            and all(forger.leaf_means_what_it_says(world.market, f) for f in forged.values())
            and all(res >= t for res, (t, _) in zip(reserves, totals, strict=True))
        ):
            pytest.fail(f"an honest publication was refused: {rep.reason}")

    check()
    report("publications", seen)
    assert any(valid for _, valid in seen), seen


# ----- 3. margin proofs --------------------------------------------------------------------------


@dataclass
class Venue:
    """A market a verifier trusts (its file) and the key of the venue that attests accounts."""

    name: str
    path: Path
    market: Market
    digest: bytes

    def __repr__(self) -> str:
        return f"Venue({self.name})"


@pytest.fixture(scope="module")
def venues(tmp_path_factory: pytest.TempPathFactory) -> list[Venue]:
    d = tmp_path_factory.mktemp("margin")
    (d / "synthetic.json").write_text(json.dumps(market_document(1)))
    out = []
    for name, path in (
        ("synthetic", d / "synthetic.json"),
        ("trader", ROOT / "examples" / "trader" / "market.json"),
        # Drift: borrows in the requirement, quotes finer than a settle unit (floored)
        ("drift", ROOT / "examples" / "venues" / "drift.json"),
        # Mango v4 health (mango_cross)
        ("mango", ROOT / "examples" / "exchange" / "mango" / "market.json"),
    ):
        snap = load_snapshot(path)
        out.append(Venue(name, path, compile_market(snap, str(path)), market_digest(snap)))
    return out


@pytest.fixture(scope="module")
def venue_key() -> VenueKey:
    return generate("margin venue")


THETAS = (PPM, 1_250_000, 2 * PPM)
#: The statement's mode of a circuit whose name is not a mode.
MODE_OF = {"mango_cross": "cross"}


def eligible(market: Market, circuit: str) -> list[str]:
    """The instruments a statement of this circuit's mode can hold."""
    if circuit == "mango_cross":
        return [i.symbol for i in market.instruments if i.schedule and i.schedule.weights]
    if circuit == "portfolio":
        return [i.symbol for i in market.instruments if i.index in market.risk_arrays]
    return [
        i.symbol
        for i in market.instruments
        if (i.schedule is not None and i.schedule.weights is None)
        or (circuit == "cross" and i.kind == "option")
    ]


def balance_isolated(
    market: Market, slots: list[forger.ForgedSlot], theta_ppm: int, margin: int
) -> None:
    """Set each position's isolated margin so that its value + margin − θ·its maintenance
    lands in [margin, margin + 1) settle units (never below zero)."""
    for n, o, *_ in list(slots):
        if n != "isolated_margin":
            continue
        own = [sl for sl in slots if sl[1] == o] + [("cash", "", 64, True, 0)]
        equity, requirement = forger.margin_figures(market, own, "isolated")
        inst = next(i for i in market.instruments if i.symbol == o)
        s = market.assets[inst.settle_index]
        to_val = s.price * Fraction(10) ** (
            market.valuation_decimals - s.decimals - s.price_decimals
        )
        gap = (Fraction(theta_ppm, PPM) * requirement - equity) / to_val
        set_value(slots, n, o, max(0, value_of(slots, n, o) + math.ceil(gap) + margin))


@dataclass
class MarginDraw:
    venue: Venue
    circuit: str
    theta_ppm: int
    slots: list[forger.ForgedSlot]
    attested: bool
    aux_changes: list[tuple[int, str]]  # (index of an auxiliary value, change)
    honest: bool
    margin: int | None  # the surplus the values were set to (None: left as drawn)
    seed: bytes
    proven_theta_ppm: int | None = None  # the proof is made for this θ, the file states theta_ppm

    @property
    def mode(self) -> str:
        """The statement's margin mode (mango_cross proves cross statements)."""
        return MODE_OF.get(self.circuit, self.circuit)


@st.composite
def margin_draws(
    draw: st.DrawFn,
    venues: list[Venue],
    honest: bool = False,
    margins: tuple[int, ...] = MARGINS,
    always_balance: bool = False,
) -> MarginDraw:
    """A margin proof a forging trader might make: a venue-attested statement (honest values,
    the circuit's bounds) proven with changed auxiliary values, or a self-committed statement
    with any bounds and values."""
    venue = draw(st.sampled_from(venues))
    market = venue.market
    if market.accounting == "mango_health":
        circuit = "mango_cross"
    else:
        circuit = draw(st.sampled_from(("cross", "isolated", "portfolio")))
    mode = MODE_OF.get(circuit, circuit)
    theta = draw(st.sampled_from(THETAS))
    assets = draw(
        st.lists(st.sampled_from([a.symbol for a in market.assets]), unique=True, max_size=3)
    )
    can_hold = eligible(market, circuit)
    instruments = (
        draw(st.lists(st.sampled_from(can_hold), unique=True, max_size=2)) if can_hold else []
    )
    values = draw(account_values(market, circuit, assets, instruments, honest))
    if honest and circuit == "isolated":  # an isolated account holds no borrows
        values = [(n, o, 0 if n == "balance_neg" else v) for n, o, v in values]
    slots = with_specs(circuit, values)
    margin = None
    if always_balance or draw(st.integers(0, 3)):
        margin = draw(st.sampled_from(margins))
        if circuit == "isolated":
            balance_isolated(market, slots, theta, margin)
        else:
            balance_cash(market, slots, mode, theta, margin)
    attested = draw(st.booleans())
    clean = not any(
        n == "balance_pos" and v and value_of(slots, "balance_neg", o) for n, o, *_, v in slots
    )
    if not honest and not attested and draw(st.integers(0, 2)) == 0:
        for k in draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, max_size=2)):
            n, o, b, s, v = slots[k]
            slots[k] = (n, o, b, s, draw(wild(v)))
        clean = False
    if not honest and not attested and draw(st.integers(0, 4)) == 0:
        k = draw(st.integers(0, len(slots) - 1))
        n, o, b, s, v = slots[k]
        slots[k] = (n, o, draw(st.sampled_from((1, 8, 32, 63, 64))), draw(st.booleans()), v)
        clean = clean and (slots[k][2], slots[k][3]) == (b, s)
    changes: list[tuple[int, str]] = []
    if not honest and draw(st.integers(0, 1 if attested else 2)) == 0:
        ops = st.sampled_from((*AUX_CHANGES, "2^62", "2^62-1"))
        changes = draw(st.lists(st.tuples(st.integers(0, 63), ops), min_size=1, max_size=2))
    proven = None
    if not honest and draw(st.integers(0, 9)) == 0:
        proven = draw(st.sampled_from(THETAS))
    return MarginDraw(
        venue, circuit, theta, slots, attested, changes,
        clean and not changes and proven in (None, theta), margin, draw(st.binary(max_size=4)),
        proven,
    )  # fmt: skip


def prove_and_verify(d: MarginDraw, key: VenueKey, out: Path) -> bool | None:
    """Forge the proof file and give it to the verifier; whether it says VALID (None: no proof
    can be made, the instance having nothing to range-prove)."""
    aux: dict[tuple[str, Any], int] = {}
    if d.aux_changes:
        specs = tuple(SlotSpec(n, o, b, s) for n, o, b, s, _ in d.slots)
        inst = forger.forged_instance(
            d.circuit, d.venue.market, specs, d.proven_theta_ppm or d.theta_ppm, trusted=d.attested
        )
        honest = cproof.auxiliary_values(inst, [forger.signed_rep(v) for *_, v in d.slots])
        keys = [k for k, _, _ in inst.aux]
        for i, op in d.aux_changes:
            if keys:
                k = keys[i % len(keys)]
                extra = {"2^62": 1 << 62, "2^62-1": (1 << 62) - 1}
                aux[k] = extra[op] if op in extra else change_aux(op, honest[k])
    try:
        doc, _ = forger.forge_margin_proof(
            d.circuit,
            d.venue.market,
            d.venue.digest,
            d.slots,
            d.proven_theta_ppm or d.theta_ppm,
            mode=d.mode,
            venue_key=key if d.attested else None,
            aux=aux,
            seed=d.seed,
            claimed_theta_ppm=d.theta_ppm,
        )
    except ProvingError:  # nothing to range-prove (every check implied by trusted slots)
        event("no proof can be made")
        return None
    write_model(out, doc)
    (verdict,) = verify_margin_proofs(
        [out], market=d.venue.path, venue_key=key.public_key if d.attested else None
    )
    return verdict.valid


def test_accepted_margin_proofs_mean_what_they_say(
    venues: list[Venue], venue_key: VenueKey, tmp_path: Path
) -> None:
    """The soundness property of a margin proof, on forged proofs of every kind."""
    seen: list[tuple[bool, bool]] = []

    @examples(60)
    @given(d=margin_draws(venues))
    @example(d=MarginDraw(venues[1], "cross", PPM, COVERED, False, [], True, None, b""))
    def check(d: MarginDraw) -> None:
        valid = bool(prove_and_verify(d, venue_key, tmp_path / "proof.json"))
        event("valid" if valid else "refused")
        event(f"{d.circuit} {'attested' if d.attested else 'self-committed'}")
        seen.append((d.honest, valid))
        if valid:
            holds = forger.margin_holds(d.circuit, d.venue.market, d.slots, d.theta_ppm, d.mode)
            assert holds, ("CRITICAL: a margin proof the exact engine refutes verifies", d)
            # a statement repeating other bounds than the circuit's is refused, whatever it holds
            assert all((b, s) == spec(d.circuit, n, o) for n, o, b, s, _ in d.slots), d.slots

    check()
    report("margin proofs", seen)
    assert 0 < sum(a for _, a in seen) < len(seen), seen
    honest = [a for h, a in seen if h]
    assert honest and sum(honest) >= len(honest) // 5, honest


def test_honest_margin_proofs_verify_when_healthy(
    venues: list[Venue], venue_key: VenueKey, tmp_path: Path
) -> None:
    """Completeness of the same strategy: an honest statement proven with honest hints verifies
    when the exact engine finds a clear surplus (the circuit rounds a tiered maintenance up to a
    whole settle unit, so a surplus below that may be refused), and only when it holds."""
    seen: list[bool] = []

    @examples(20)
    @given(
        d=margin_draws(
            venues, honest=True, margins=(10**6, 10**7, 10**8, -1, -(10**6)), always_balance=True
        )
    )
    def check(d: MarginDraw) -> None:
        valid = prove_and_verify(d, venue_key, tmp_path / "proof.json")
        if valid is None:
            return
        holds = forger.margin_holds(d.circuit, d.venue.market, d.slots, d.theta_ppm, d.mode)
        event("valid" if valid else "refused")
        seen.append(valid)
        if d.circuit == "isolated" and isolated_borrow(d.slots):
            # no venue attests an isolated borrow (the engine's loaders refuse one), and the
            # circuit's no_borrows check refuses it whatever the engine would say of the rest
            assert not valid, d
            return
        if valid:
            assert holds, d
        elif holds and d.margin is not None and d.margin >= 10**6:
            pytest.fail(f"an honest proof with a clear surplus was refused: {d}")

    check()
    report("honest margin proofs", [(True, a) for a in seen])
    assert sum(seen) >= len(seen) // 4, (sum(seen), len(seen))


def isolated_borrow(slots: list[forger.ForgedSlot]) -> bool:
    """Whether the statement commits a borrow (a b⁻ within its bound, above zero)."""
    return any(n == "balance_neg" and 0 < forger.signed_rep(v) < 1 << 64 for n, *_, v in slots)


@pytest.mark.parametrize("attested", [False, True], ids=["self-committed", "attested"])
def test_regression_isolated_statement_with_a_borrow_is_refused(
    venues: list[Venue], venue_key: VenueKey, tmp_path: Path, attested: bool
) -> None:
    """Found by test_accepted_margin_proofs_mean_what_they_say: an isolated-mode statement that
    commits a 10 BTC borrow beside one healthy position (long 1 BTC at 60,000 on 5,000 USDT of
    isolated margin) verifies, while the exact engine finds equity far below maintenance. The
    engine's loader refuses borrows in isolated mode, but the circuit declared b⁻ slots for
    isolated statements and never read them. The isolated circuit now shows every b⁻ zero
    (``no_borrows``): the proof does not verify."""
    venue = next(v for v in venues if v.name == "trader")
    size, entry = 1000, 600_000
    slots: list[forger.ForgedSlot] = [
        ("balance_pos", "BTC", 64, False, 0),
        ("balance_neg", "BTC", 64, False, 10 * 10**8),
        ("long", "BTCUSDT", 64, False, size),
        ("short", "BTCUSDT", 64, False, 0),
        ("quote", "BTCUSDT", 64, True, -size * entry),
        ("isolated_margin", "BTCUSDT", 64, False, 5_000 * 10**6),
        ("cash", "", 64, True, 0),
    ]
    equity, requirement = forger.margin_figures(venue.market, slots, "isolated")
    assert equity < 0 < requirement  # the exact engine: the debt is not covered
    d = MarginDraw(venue, "isolated", PPM, slots, attested, [], True, None, b"gap")
    assert prove_and_verify(d, venue_key, tmp_path / "gap.json") is False
