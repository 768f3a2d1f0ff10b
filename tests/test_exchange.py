"""The exchange's publication of liabilities and reserves: publish, audit, inclusion, the
attacks a dishonest exchange could try (each must be caught), bit flips in every stored blob,
bad inputs, determinism, a run killed part-way and resumed, and a Dask cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import forger
import pytest
from click.testing import CliRunner, Result

from zkmargin import api, group
from zkmargin.attest import statement as stm
from zkmargin.cli import main
from zkmargin.exchange import load_venue_key
from zkmargin.formats.common import FormatError
from zkmargin.formats.statement import AccountStatement, SignedRoot
from zkmargin.liabilities import leaf as lf
from zkmargin.liabilities import reserves as rsv
from zkmargin.liabilities.audit import audit
from zkmargin.liabilities.parallel import InProcess
from zkmargin.liabilities.root import root_message, sign_root
from zkmargin.liabilities.store import APPLICATION_ID
from zkmargin.liabilities.tree import Node
from zkmargin.margin.synthetic import exchange_accounts, exchange_market, exchange_market_document
from zkmargin.margin.table_io import save_table
from zkmargin.transcript import SpongeRng

EPOCH = 3
N_ACCOUNTS = 6


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _reserves(path: Path, scale: str = "1000000") -> None:
    doc = {
        "format": "zkmargin/reserves/1",
        "reserves": {"USDT": scale, "USDC": scale, "BTC": "1000", "ETH": "10000", "USD": "100000"},
    }
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six accounts, a venue key, and their publication (8 leaves, height 3)."""
    d = tmp_path_factory.mktemp("exchange")
    (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH)))
    market = exchange_market(EPOCH)
    save_table(exchange_accounts(market, N_ACCOUNTS, seed=5), market, d / "accounts.csv")
    _reserves(d / "reserves.json")
    assert run("venue", "keygen", "--out", d / "venue.key", "--venue", "X").exit_code == 0
    assert run("venue", "keygen", "--out", d / "other.key", "--venue", "X").exit_code == 0
    r = publish_cli(d, d / "pub.sqlite")
    assert r.exit_code == 0, r.output
    return {
        "dir": d,
        "pub": d / "pub.sqlite",
        "secrets": d / "pub.sqlite.secrets",
        "market": d / "market.json",
        "accounts": d / "accounts.csv",
        "key": d / "venue.key",
        "pub_key": d / "venue.pub",
        "other_pub": d / "other.pub",
    }


INPUTS = ("market.json", "accounts.csv", "reserves.json", "venue.key", "venue.pub")


def publish_args(
    d: Path,
    out: Path,
    *extra: str | Path,
    runner: tuple[str, ...] = ("--workers", "1"),
    **files: Path,
) -> list[str | Path]:
    """``exchange publish`` over the inputs in ``d`` (``files`` replaces any: reserves=…)."""
    inputs = {
        "market": d / "market.json",
        "accounts": d / "accounts.csv",
        "reserves": d / "reserves.json",
        "key": d / "venue.key",
    } | files
    args: list[str | Path] = ["exchange", "publish", "--out", out, *runner, *extra]
    for name, path in inputs.items():
        args += [f"--{name}", path]
    return args


def publish_cli(
    d: Path,
    out: Path,
    *extra: str | Path,
    runner: tuple[str, ...] = ("--workers", "1"),
    **files: Path,
) -> Result:
    return run(*publish_args(d, out, *extra, runner=runner, **files))


def copy_inputs(world: dict[str, Path], d: Path, names: tuple[str, ...] = INPUTS) -> None:
    for name in names:
        shutil.copy(world["dir"] / name, d / name)


def account_ids(world: dict[str, Path]) -> list[str]:
    return sorted(
        {line.split(",")[0].strip('"') for line in world["accounts"].read_text().splitlines()[1:]}
    )


def audit_of(path: Path, key: Path | None = None) -> api.AuditReport:
    pk = api.load_venue_public_key(key) if key else None
    return audit(path, venue_key=pk, runner=InProcess())


def copy(world: dict[str, Path], tmp_path: Path, name: str = "t.sqlite") -> Path:
    out = tmp_path / name
    shutil.copy(world["pub"], out)
    return out


# ----- the honest path ---------------------------------------------------------------------


def test_publication_audits_and_every_user_is_included(
    world: dict[str, Path], tmp_path: Path
) -> None:
    r = run("exchange", "verify", world["pub"], "--venue-key", world["pub_key"], "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "VALID" in r.output and "8 leaves" in r.output
    market = exchange_market(EPOCH)
    table = exchange_accounts(market, N_ACCOUNTS, seed=5)
    for k, account in enumerate(table.ids):
        mine = tmp_path / f"{k}.json"
        r = run(
            "exchange",
            "inclusion",
            "--publication",
            world["pub"],
            "--secrets",
            world["secrets"],
            "--account",
            account,
            "--out",
            mine,
        )
        assert r.exit_code == 0, r.output
        assert stat.S_IMODE(mine.stat().st_mode) == 0o600
        r = run(
            "inclusion",
            "verify",
            mine,
            "--publication",
            world["pub"],
            "--venue-key",
            world["pub_key"],
            "--account",
            account,
            "--epoch",
            str(EPOCH),
        )
        assert r.exit_code == 0, r.output
        assert "INCLUDED" in r.output and "private" in r.output
        rep = api.verify_inclusion(mine, publication=world["pub"])
        committed = {c: v for c, _, v in rep.balances}
        for j, asset in enumerate(market.assets):
            if asset.symbol != "USDT":  # USDT also holds the positions' value at mark
                assert committed[asset.symbol] == int(table.balances[k, j])
        assert committed["USD"] == int(table.cash[k])


def test_secrets_are_owner_only_and_absent_from_the_publication(world: dict[str, Path]) -> None:
    assert stat.S_IMODE(world["secrets"].stat().st_mode) == 0o600
    data = world["pub"].read_bytes()
    with sqlite3.connect(world["secrets"]) as conn:
        docs = [json.loads(d) for (d,) in conn.execute("SELECT doc FROM accounts")]
    assert len(docs) == N_ACCOUNTS
    for doc in docs:
        for o in doc["openings"]:
            assert o["blinding"].encode() not in data
            assert bytes.fromhex(o["blinding"]) not in data
        assert doc["account"].encode() not in data
        assert bytes.fromhex(doc["salt"]) not in data and doc["salt"].encode() not in data


def test_margin_proof_attested_by_inclusion(world: dict[str, Path], tmp_path: Path) -> None:
    account = account_ids(world)[0]
    mine = tmp_path / "mine.json"
    api.exchange_inclusion(
        publication=world["pub"], secrets=world["secrets"], account=account, out=mine
    )
    r = run("prove", "--market", world["market"], "--inclusion", mine, "--out", tmp_path / "p.json")
    assert r.exit_code == 0, r.output
    ok = run(
        "verify", tmp_path / "p.json", "--market", world["market"], "--venue-key", world["pub_key"]
    )
    assert ok.exit_code == 0, ok.output
    assert "inclusion" in ok.output
    # no key named, another key, a tampered path: refused
    assert run("verify", tmp_path / "p.json", "--market", world["market"]).exit_code == 1
    other = run(
        "verify",
        tmp_path / "p.json",
        "--market",
        world["market"],
        "--venue-key",
        world["other_pub"],
    )
    assert other.exit_code == 1
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["inclusion"]["path"][0]["hash"] = "00" * 32
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    bad = run(
        "verify",
        tmp_path / "bad.json",
        "--market",
        world["market"],
        "--venue-key",
        world["pub_key"],
    )
    assert bad.exit_code == 1 and "inclusion" in bad.output


# ----- a dishonest exchange ----------------------------------------------------------------


def _rebuild(
    db: Path, key_path: Path, *, node_hook: Callable[[list[list[Node]]], None] | None = None
) -> None:
    """Recompute every leaf hash, node and the signed root (the forger's :func:`rebuild`)."""
    forger.rebuild(db, load_venue_key(key_path), node_hook=node_hook)


def _forge_leaf(
    db: Path,
    position: int,
    slots: list[tuple[str, str, int, bool, int]],
    aux: dict[tuple[str, Any], int] | None = None,
) -> forger.ForgedLeaf:
    """Put at ``position`` a leaf of the given slots (name, of, bits, signed, value), proven by a
    cheating prover that skips every check (``aux`` replaces auxiliary values of the hints);
    the honest prover would refuse it."""
    header, market = forger.read_header(db)
    forged = forger.forge_leaf(market, header, position, slots, aux=aux)
    assert not forger.leaf_means_what_it_says(market, forged)
    forger.put_leaf(db, forged.row)
    return forged


def _padding_position(world: dict[str, Path]) -> int:
    """A position no account's secrets name (a padding leaf)."""
    with sqlite3.connect(world["secrets"]) as conn:
        used = {json.loads(d)["position"] for (d,) in conn.execute("SELECT doc FROM accounts")}
    return min(set(range(8)) - used)


def _expect_invalid(db: Path, world: dict[str, Path], words: str) -> None:
    rep = audit_of(db, world["pub_key"])
    assert not rep.valid
    assert words in rep.reason, rep.reason
    r = run("exchange", "verify", db, "--workers", "1")
    assert r.exit_code == 1, r.output


def test_uncovered_negative_balance_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    _forge_leaf(
        db,
        pos,
        [
            ("balance_pos", "USDT", 64, False, 0),
            ("balance_neg", "USDT", 64, False, 10**12),
            ("cash", "", 64, True, 0),
        ],
    )
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}: its proof does not verify")


def test_dummy_account_with_uncovered_debt_is_caught(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """A dummy with a BTC debt backed by too little USDT: it would lower the BTC total."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    _forge_leaf(
        db,
        pos,
        [
            ("balance_pos", "USDT", 64, False, 1_000_000),
            ("balance_neg", "USDT", 64, False, 0),
            ("balance_pos", "BTC", 64, False, 0),
            ("balance_neg", "BTC", 64, False, 10**8),
            ("cash", "", 64, True, 0),
        ],
    )
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}")


def test_regression_short_declared_signed_hides_a_debt(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Found by review: a padding leaf with a 0.5 BTC debt and ``short`` declared signed at
    −300,000 (its flat requirement became negative and paid for the debt; a matching quote kept
    its value at mark 0) passed the audit against a BTC reserve of 0. The verifier now takes
    every slot's bound from the circuit: the leaf is refused, naming it and the slot."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    mark = 650000  # BTCUSDT's mark in price units; quote = −size·mark keeps the value 0
    _forge_leaf(
        db,
        pos,
        [
            ("balance_pos", "BTC", 64, False, 0),
            ("balance_neg", "BTC", 64, False, 50_000_000),
            ("long", "BTCUSDT", 64, False, 0),
            ("short", "BTCUSDT", 64, True, -300_000),
            ("quote", "BTCUSDT", 64, True, -300_000 * mark),
            ("cash", "", 64, True, 0),
        ],
    )
    _rebuild(db, world["key"])
    rep = audit_of(db, world["pub_key"])
    assert not rep.valid
    assert f"leaf {pos}" in rep.reason and "short[BTCUSDT]" in rep.reason, rep.reason
    assert "liability_leaf bounds short to unsigned 64-bit" in rep.reason, rep.reason
    r = run("exchange", "verify", db, "--workers", "1", "--venue-key", world["pub_key"])
    assert r.exit_code == 1 and "short[BTCUSDT]" in r.output, r.output


def test_regression_balance_declared_signed_and_negative(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Found by review: ``balance_pos`` declared signed and negative (a debt that needs no
    cover) passed the audit. Refused now, naming the leaf and the slot."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    _forge_leaf(
        db,
        pos,
        [
            ("balance_pos", "BTC", 64, True, -50_000_000),
            ("balance_neg", "BTC", 64, False, 0),
            ("cash", "", 64, True, 0),
        ],
    )
    _rebuild(db, world["key"])
    rep = audit_of(db, world["pub_key"])
    assert not rep.valid and f"leaf {pos}" in rep.reason, rep.reason
    assert "balance_pos[BTC] is declared signed 64-bit" in rep.reason, rep.reason


def test_a_value_out_of_its_slot_bound_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    """A wrapped 'balance' (r − 1, a negative number) in a padding leaf."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    _forge_leaf(
        db,
        pos,
        [
            ("balance_pos", "USDT", 64, False, group.R - 10**9),
            ("balance_neg", "USDT", 64, False, 0),
            ("cash", "", 64, True, 0),
        ],
    )
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}")


def test_duplicated_account_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    db = copy(world, tmp_path)
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT statement, proof, sums, hash FROM leaves WHERE position = 0"
        ).fetchone()
        conn.execute(
            "UPDATE leaves SET statement = ?, proof = ?, sums = ?, hash = ? WHERE position = 5", row
        )
    _rebuild(db, world["key"])
    _expect_invalid(db, world, "leaf 5 repeats the account of leaf 0")


def test_leaf_proof_moved_to_another_leaf_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    db = copy(world, tmp_path)
    with sqlite3.connect(db) as conn:
        p0 = conn.execute("SELECT proof FROM leaves WHERE position = 0").fetchone()[0]
        p1 = conn.execute("SELECT proof FROM leaves WHERE position = 1").fetchone()[0]
        conn.execute("UPDATE leaves SET proof = ? WHERE position = 0", (p1,))
        conn.execute("UPDATE leaves SET proof = ? WHERE position = 1", (p0,))
    _rebuild(db, world["key"])
    rep = audit_of(db, world["pub_key"])
    assert not rep.valid and rep.reason.startswith("leaf 0")


def test_node_hash_omitting_a_childs_sum_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    """The max attack: node hashes that bind only the left child's sums."""
    import hashlib

    def omit(levels: list[list[Node]]) -> None:
        for layer_index, layer in enumerate(levels):
            below = levels[layer_index - 1] if layer_index else None
            if below is None:
                continue
            for i, n in enumerate(layer):
                left, right = below[2 * i], below[2 * i + 1]
                h = hashlib.sha256(b"x" + left.sums_bytes() + left.hash + right.hash).digest()
                layer[i] = Node(n.sums, h)

    db = copy(world, tmp_path)
    _rebuild(db, world["key"], node_hook=omit)
    _expect_invalid(db, world, "its hash is not the hash of its children")


def test_node_sum_not_its_childrens_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    G, _ = group.generator(), None

    def lower(levels: list[list[Node]]) -> None:
        n = levels[0][0]
        sums = (n.sums[0] - group.mul(G, 10**9), *n.sums[1:])
        levels[0][0] = Node(sums, n.hash)
        for k in range(1, len(levels)):
            a, b = levels[k - 1][0], levels[k - 1][1]
            from zkmargin.liabilities.tree import parent

            levels[k][0] = parent(a, b)

    db = copy(world, tmp_path)
    _rebuild(db, world["key"], node_hook=lower)
    _expect_invalid(db, world, "node 1/0: its sums are not its children's sums")


@pytest.mark.parametrize(
    "what", ["leaf statement", "leaf sums", "node", "root signature", "root total", "reserve"]
)
def test_changed_values_are_caught(world: dict[str, Path], tmp_path: Path, what: str) -> None:
    db = copy(world, tmp_path)
    conn = sqlite3.connect(db)
    if what == "leaf statement":
        st = json.loads(
            conn.execute("SELECT statement FROM leaves WHERE position = 2").fetchone()[0]
        )
        st["slots"][0]["commitment"], st["slots"][-1]["commitment"] = (
            st["slots"][-1]["commitment"],
            st["slots"][0]["commitment"],
        )
        conn.execute(
            "UPDATE leaves SET statement = ? WHERE position = 2",
            (json.dumps(st, separators=(",", ":")).encode(),),
        )
    elif what == "leaf sums":
        s = conn.execute("SELECT sums FROM leaves WHERE position = 3").fetchone()[0]
        conn.execute("UPDATE leaves SET sums = ? WHERE position = 3", (s[48:96] + s[:48] + s[96:],))
    elif what == "node":
        s = conn.execute("SELECT sums FROM nodes WHERE level = 2 AND idx = 1").fetchone()[0]
        conn.execute(
            "UPDATE nodes SET sums = ? WHERE level = 2 AND idx = 1", (s[48:96] + s[:48] + s[96:],)
        )
    elif what.startswith("root"):
        root = json.loads(conn.execute("SELECT doc FROM root").fetchone()[0])
        if what == "root signature":
            other = load_venue_key(world["dir"] / "other.key")
            root = sign_root(SignedRoot.model_validate(root), other.secret_key).model_dump()
            root["venue_key"] = json.loads(world["pub_key"].read_text())["public_key"]
        else:
            root["totals"][0], root["totals"][1] = root["totals"][1], root["totals"][0]
        conn.execute("UPDATE root SET doc = ?", (json.dumps(root, separators=(",", ":")),))
    else:
        doc = json.loads(conn.execute("SELECT doc FROM reserves").fetchone()[0])
        doc["reserves"][0] = str(int(doc["reserves"][0]) - 1)
        conn.execute("UPDATE reserves SET doc = ?", (json.dumps(doc, separators=(",", ":")),))
    conn.commit()
    conn.close()
    rep = audit_of(db, world["pub_key"])
    assert not rep.valid, what


def test_totals_above_reserves(world: dict[str, Path], tmp_path: Path) -> None:
    """The honest exchange refuses (exit 1, nothing written); a forged reserve proof for a
    reserve below the total does not verify."""
    d = world["dir"]
    bad = tmp_path / "short.json"
    _reserves(bad, scale="1")
    out = tmp_path / "short.sqlite"
    r = publish_cli(d, out, reserves=bad)
    assert r.exit_code == 1 and "reserves fall short" in r.output
    assert not out.exists() and not Path(str(out) + ".secrets").exists()
    # the cheat: claim USDT reserve 1 unit, prove with the range check skipped
    db = copy(world, tmp_path)
    with sqlite3.connect(db) as conn:
        root = SignedRoot.model_validate_json(conn.execute("SELECT doc FROM root").fetchone()[0])
        doc = json.loads(conn.execute("SELECT doc FROM reserves").fetchone()[0])
    totals = lf.decode_sums(b"".join(bytes.fromhex(t) for t in root.totals), len(root.totals))
    reserves = [int(x) for x in doc["reserves"]]
    reserves[0] = 1
    limbs = [rsv.reserve_limbs(x, root.height) for x in reserves]
    # the cheating prover does not know the openings; it tries random limbs with a skipped check
    values = [7] * sum(limbs)
    blinds = [5] * sum(limbs)
    context = rsv.reserves_context(root_message(root), reserves, limbs)
    from zkmargin import rangeproof

    proof, _ = rangeproof.prove(
        values, blinds, 64, context, rng=SpongeRng.from_tag(b"t"), _unsafe_skip_range_check=True
    )
    forged = rsv.ReserveProof(
        reserves=[str(x) for x in reserves],
        limbs=limbs,
        limb_commitments=doc["limb_commitments"][: sum(limbs) - len(limbs)],
        proof=proof.to_bytes().hex(),
    )
    assert not rsv.verify_reserves(forged, totals, root.height, root_message(root))


def test_every_stored_blob_is_covered(world: dict[str, Path], tmp_path: Path) -> None:
    """A bit flipped in any stored value of any table: invalid (exit 1) or unreadable (2)."""
    conn = sqlite3.connect(world["pub"])
    cells: list[tuple[str, str, str, Any, int]] = []
    for table, key in (
        ("header", "id"),
        ("market", "id"),
        ("leaves", "position"),
        ("nodes", "rowid"),
        ("root", "id"),
        ("reserves", "id"),
    ):
        cols = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        keycol = "level * 1000 + idx" if table == "nodes" else key
        for k, *vals in conn.execute(f"SELECT {keycol}, {', '.join(cols)} FROM {table} LIMIT 2"):
            for col, v in zip(cols, vals, strict=True):
                if isinstance(v, (bytes, str)):
                    n = len(v.encode() if isinstance(v, str) else v)
                    for bit in (0, n * 8 // 2 + 3, n * 8 - 1):
                        cells.append((table, col, keycol, k, bit))
    conn.close()
    assert len(cells) >= 40
    for table, col, keycol, k, bit in cells:
        db = tmp_path / "flip.sqlite"
        shutil.copy(world["pub"], db)
        with sqlite3.connect(db) as c:
            v = c.execute(f"SELECT {col} FROM {table} WHERE {keycol} = ?", (k,)).fetchone()[0]
            data = bytearray(v.encode() if isinstance(v, str) else v)
            data[bit // 8] ^= 1 << (bit % 8)
            new: Any = bytes(data)
            if isinstance(v, str):
                try:
                    new = bytes(data).decode()
                except UnicodeDecodeError:
                    new = bytes(data)
            c.execute(f"UPDATE {table} SET {col} = ? WHERE {keycol} = ?", (new, k))
        try:
            rep = audit_of(db)
            assert not rep.valid, (table, col, k, bit)
        except FormatError:
            pass


# ----- the user's checks -------------------------------------------------------------------


def test_inclusion_against_another_user_epoch_or_root(
    world: dict[str, Path], tmp_path: Path
) -> None:
    a, b = account_ids(world)[:2]
    mine = tmp_path / "a.json"
    api.exchange_inclusion(publication=world["pub"], secrets=world["secrets"], account=a, out=mine)
    base = ("inclusion", "verify", mine, "--venue-key", world["pub_key"])
    assert run(*base, "--publication", world["pub"]).exit_code == 0
    assert run(*base, "--publication", world["pub"], "--account", b).exit_code == 1
    assert run(*base, "--publication", world["pub"], "--epoch", str(EPOCH + 1)).exit_code == 1
    assert run(*base, "--root", "11" * 32).exit_code == 1
    root = json.loads(mine.read_text())["attestation"]["root"]["root_hash"]
    assert run(*base, "--root", root).exit_code == 0
    other = run("inclusion", "verify", mine, "--root", root, "--venue-key", world["other_pub"])
    assert other.exit_code == 1
    # a sibling's sums changed with its hash kept (the max attack on a path)
    doc = json.loads(mine.read_text())
    step = doc["attestation"]["path"][1]
    step["sums"][0], step["sums"][1] = step["sums"][1], step["sums"][0]
    (tmp_path / "m.json").write_text(json.dumps(doc))
    assert run("inclusion", "verify", tmp_path / "m.json", "--root", root).exit_code == 1
    # the openings of another user's file
    api.exchange_inclusion(
        publication=world["pub"], secrets=world["secrets"], account=b, out=tmp_path / "b.json"
    )
    doc_b = json.loads((tmp_path / "b.json").read_text())
    doc["attestation"] = doc_b["attestation"]
    doc["statement"] = doc_b["statement"]
    (tmp_path / "mix.json").write_text(json.dumps(doc))
    assert run("inclusion", "verify", tmp_path / "mix.json", "--root", root).exit_code in (1, 2)


def test_inclusion_with_a_slot_declared_otherwise_is_refused(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """A user's file whose statement declares ``balance_pos`` signed: ``inclusion verify`` takes
    the bound from the leaf circuit and refuses it, naming the slot; ``--strict`` without
    ``--account`` fails on the unchecked line even for a valid file."""
    a = account_ids(world)[0]
    mine = tmp_path / "a.json"
    api.exchange_inclusion(publication=world["pub"], secrets=world["secrets"], account=a, out=mine)
    doc = json.loads(mine.read_text())
    slot = next(s for s in doc["statement"]["slots"] if s["name"] == "balance_pos")
    slot["signed"] = True
    forged = AccountStatement.model_validate(doc["statement"])
    doc["openings"]["statement_digest"] = stm.statement_digest(forged).hex()
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    r = run("inclusion", "verify", tmp_path / "bad.json", "--publication", world["pub"])
    assert r.exit_code == 1 and f"balance_pos[{slot['of']}]" in r.output, r.output
    base = ("inclusion", "verify", mine, "--publication", world["pub"], "--strict")
    loose = run(*base)
    assert loose.exit_code == 1 and "account not checked" in loose.output, loose.output
    full = run(*base, "--account", a, "--epoch", str(EPOCH), "--venue-key", world["pub_key"])
    assert full.exit_code == 0 and "not checked" not in full.output, full.output


def test_a_leaf_of_another_mode_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    """A cross leaf whose statement is relabelled isolated: the verifier picks the leaf circuit
    from its own table by mode (liability_leaf_isolated), which the statement does not fit."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    header, market = forger.read_header(db)
    forged = forger.forge_leaf(
        market,
        header,
        pos,
        [
            ("balance_pos", "USDT", 64, False, 10**9),
            ("balance_neg", "USDT", 64, False, 0),
            ("long", "BTCUSDT", 64, False, 10),
            ("short", "BTCUSDT", 64, False, 0),
            ("quote", "BTCUSDT", 64, True, -10 * 650000),
            ("cash", "", 64, True, 0),
        ],
    )
    st = forged.statement.model_copy(update={"mode": "isolated"})
    position, _, proof, sums, _ = forged.row
    forger.put_leaf(db, (position, lf.statement_bytes(st), proof, sums, b""))
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}")


def test_not_checked_lines_and_strict_in_the_audit(world: dict[str, Path]) -> None:
    bare = run("exchange", "verify", world["pub"], "--workers", "1")
    assert bare.exit_code == 0 and "venue key not checked" in bare.output, bare.output
    strict = run("exchange", "verify", world["pub"], "--workers", "1", "--strict")
    assert strict.exit_code == 1 and "venue key not checked" in strict.output
    # the verdict line itself says so: a reader of the first line never sees VALID
    assert ": INVALID (--strict: checks not made, below)" in strict.stdout.splitlines()[0]
    full = run(
        "exchange",
        "verify",
        world["pub"],
        "--workers",
        "1",
        "--strict",
        "--venue-key",
        world["pub_key"],
    )
    # the key is checked now; what stays unchecked is that the reserves are only stated (this
    # publication holds no proof of assets), and --strict still fails on that line alone
    assert "venue key not checked" not in full.output, full.output
    assert full.exit_code == 1 and "assets not proven" in full.output, full.output


def test_every_users_inclusion_file_in_one_run(world: dict[str, Path], tmp_path: Path) -> None:
    """``exchange inclusion --all --out-dir``: one owner-only file per account, named by it, each
    verifying for its account; the folder is owner-only too."""
    out = tmp_path / "users"
    r = run(
        "exchange", "inclusion", "--publication", world["pub"], "--secrets", world["secrets"],
        "--all", "--out-dir", out, "--workers", "2",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    ids = account_ids(world)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{a}.inclusion.json" for a in ids)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for a in ids:
        f = out / f"{a}.inclusion.json"
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        rep = api.verify_inclusion(f, publication=world["pub"], account=a)
        assert rep.valid, rep.reason
    both = run(
        "exchange", "inclusion", "--publication", world["pub"], "--secrets", world["secrets"],
        "--all", "--account", ids[0], "--out-dir", out,
    )  # fmt: skip
    assert both.exit_code == 2


def test_secrets_of_another_publication_are_named_as_such(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """A secrets file that puts an account at another leaf (another publication of the same
    venue and epoch) is refused as belonging to another publication, exit 2, no file written."""
    a, b = account_ids(world)[:2]
    for change in ("beyond", "swapped"):
        secrets = tmp_path / f"{change}.secrets"
        shutil.copy(world["secrets"], secrets)
        with sqlite3.connect(secrets) as conn:
            docs = dict(conn.execute("SELECT account, doc FROM accounts"))
            doc = json.loads(docs[a])
            doc["position"] = 300 if change == "beyond" else json.loads(docs[b])["position"]
            conn.execute("UPDATE accounts SET doc = ? WHERE account = ?", (json.dumps(doc), a))
        out = tmp_path / f"{change}.json"
        r = run(
            "exchange", "inclusion", "--publication", world["pub"], "--secrets", secrets,
            "--account", a, "--out", out,
        )  # fmt: skip
        assert r.exit_code == 2 and "belongs to another publication" in r.output, r.output
        assert "''" not in r.output and not out.exists()


# ----- bad input ---------------------------------------------------------------------------


def test_bad_inputs_exit_2_and_write_nothing(world: dict[str, Path], tmp_path: Path) -> None:
    d = world["dir"]
    out = tmp_path / "o.sqlite"

    def publish(**over: Path) -> Result:
        return publish_cli(d, out, **over)

    bad_rows = tmp_path / "bad.csv"
    lines = (d / "accounts.csv").read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[4], '"12.3.4"')
    bad_rows.write_text("\n".join(lines) + "\n")
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"format": "zkmargin/reserves/1", "reserves": {"USDT": "1"}}))
    for r in (publish(accounts=bad_rows), publish(reserves=missing), publish(key=d / "venue.pub")):
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output
        assert not out.exists() and not Path(str(out) + ".secrets").exists()
        assert not Path(str(out) + ".partial").exists()
    assert "USDC" in publish(reserves=missing).output
    # a publication that is garbage, truncated, or from a newer version
    garbage = tmp_path / "g.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    trunc = tmp_path / "tr.sqlite"
    trunc.write_bytes(world["pub"].read_bytes()[:5000])
    newer = tmp_path / "n.sqlite"
    shutil.copy(world["pub"], newer)
    with sqlite3.connect(newer) as c:
        c.execute("PRAGMA user_version = 2")
    for f, words in ((garbage, "not a"), (trunc, ""), (newer, "newer")):
        r = run("exchange", "verify", f, "--workers", "1")
        assert r.exit_code == 2, (f, r.output)
        assert words in r.output and "Traceback" not in r.output
    other_app = tmp_path / "a.sqlite"
    shutil.copy(world["pub"], other_app)
    with sqlite3.connect(other_app) as c:
        c.execute("PRAGMA application_id = 1")
    assert "not a zkmargin publication" in run("exchange", "verify", other_app).output
    assert APPLICATION_ID != 1
    # the wrong venue key: the audit fails (exit 1), naming it
    r = run("exchange", "verify", world["pub"], "--venue-key", world["other_pub"], "--workers", "1")
    assert r.exit_code == 1 and "another venue key" in r.output


def test_secrets_of_another_publication_are_not_overwritten(
    world: dict[str, Path], tmp_path: Path
) -> None:
    d = world["dir"]
    secrets = tmp_path / "s.secrets"
    shutil.copy(world["secrets"], secrets)
    before = secrets.read_bytes()
    _reserves(tmp_path / "r.json", scale="2000000")  # other inputs, same key and epoch
    r = publish_cli(
        d, tmp_path / "o.sqlite", "--secrets-out", secrets, reserves=tmp_path / "r.json"
    )
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
    assert secrets.read_bytes() == before
    assert not (tmp_path / "o.sqlite").exists()


# ----- determinism, resumption, clusters ---------------------------------------------------


def test_publication_is_a_function_of_key_and_inputs(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Another run, with the accounts file in another order, gives the same bytes."""
    d = tmp_path
    copy_inputs(world, d)
    lines = world["accounts"].read_text().splitlines()
    head, rows = lines[0], lines[1:]
    (d / "accounts.csv").write_text("\n".join([head, *reversed(rows)]) + "\n")
    r = publish_cli(d, d / "again.sqlite")
    assert r.exit_code == 0, r.output
    assert (d / "again.sqlite").read_bytes() == world["pub"].read_bytes()


def _partial_leaves(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05) as c:
            return int(c.execute("SELECT count(*) FROM leaves").fetchone()[0])
    except sqlite3.Error:
        return -1


@pytest.mark.slow
def test_killed_publish_resumes_to_the_same_bytes(world: dict[str, Path], tmp_path: Path) -> None:
    """Kill ``exchange publish`` (SIGKILL to the real process) after 1, 3 and 6 of the 8 leaves
    are stored, restart it each time, and compare the result with the uninterrupted run."""
    d = tmp_path
    copy_inputs(world, d)
    out = d / "pub.sqlite"
    partial = Path(str(out) + ".partial")
    cmd = [sys.executable, "-m", "zkmargin", *map(str, publish_args(d, out))]
    killed_at = []
    for target in (1, 3, 6):
        p = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and p.poll() is None:
            if partial.exists() and _partial_leaves(partial) >= target:
                os.killpg(p.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        p.wait()
        assert p.returncode == -signal.SIGKILL, p.stderr.read() if p.stderr else ""
        killed_at.append(_partial_leaves(partial))
        assert not out.exists()
    assert killed_at[0] >= 1 and killed_at == sorted(killed_at)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stdout
    assert not partial.exists()
    assert out.read_bytes() == world["pub"].read_bytes()


@pytest.mark.slow
def test_dask_cluster_gives_the_same_publication_and_audit(
    world: dict[str, Path], tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    try:
        d = tmp_path
        copy_inputs(world, d)
        out = d / "dask.sqlite"
        r = publish_cli(d, out, runner=("--scheduler", cluster.scheduler_address))
        assert r.exit_code == 0, r.output
        assert "Dask cluster" in r.output
        assert out.read_bytes() == world["pub"].read_bytes()
        v = run(
            "exchange",
            "verify",
            out,
            "--venue-key",
            d / "venue.pub",
            "--scheduler",
            cluster.scheduler_address,
        )
        assert v.exit_code == 0, v.output
        # and the same on a local pool of two processes
        r2 = publish_cli(
            d, d / "pool.sqlite", "--secrets-out", d / "pool.secrets", runner=("--workers", "2")
        )
        assert r2.exit_code == 0, r2.output
        assert (d / "pool.sqlite").read_bytes() == world["pub"].read_bytes()
        v2 = run("exchange", "verify", d / "pool.sqlite", "--workers", "2")
        assert v2.exit_code == 0, v2.output
    finally:
        cluster.close()


def test_padding_leaf_holding_value_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    """A padding leaf made to hold a debt (negative cash) lowers the USD total: no proof."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    _forge_leaf(db, pos, [("cash", "", 64, True, -(10**12))])
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}")


def test_padding_looks_like_accounts_and_positions_are_shuffled(world: dict[str, Path]) -> None:
    with sqlite3.connect(world["secrets"]) as conn:
        real = {json.loads(d)["position"] for (d,) in conn.execute("SELECT doc FROM accounts")}
    with sqlite3.connect(world["pub"]) as conn:
        rows = conn.execute("SELECT position, statement FROM leaves").fetchall()
    layouts = {p: tuple((s["name"], s["of"]) for s in json.loads(st)["slots"]) for p, st in rows}
    assert len(real) == N_ACCOUNTS and real != set(range(N_ACCOUNTS))
    padding = set(layouts) - real
    assert padding and all(layouts[p] in {layouts[q] for q in real} for p in padding)


@pytest.fixture(scope="module")
def next_epoch(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same accounts, key and reserves published for the next epoch."""
    d = tmp_path_factory.mktemp("next-epoch")
    copy_inputs(world, d)
    (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH + 1)))
    assert publish_cli(d, d / "next.sqlite").exit_code == 0
    return d / "next.sqlite"


def test_leaves_are_unlinkable_across_epochs(world: dict[str, Path], next_epoch: Path) -> None:
    """The same accounts published for the next epoch share no tag and no commitment."""

    def public_values(db: Path) -> set[str]:
        with sqlite3.connect(db) as conn:
            out = set()
            for (st,) in conn.execute("SELECT statement FROM leaves"):
                doc = json.loads(st)
                out.add(doc["account_tag"])
                out |= {s["commitment"] for s in doc["slots"]}
            return out

    assert not public_values(world["pub"]) & public_values(next_epoch)


def test_a_leaf_replayed_from_another_epoch_is_caught(
    world: dict[str, Path], next_epoch: Path, tmp_path: Path
) -> None:
    """A valid leaf of the next epoch's publication, moved into this one (hashes, nodes and the
    root redone with the venue key): its statement names another epoch and market."""
    db = copy(world, tmp_path)
    with sqlite3.connect(next_epoch) as conn:
        row = conn.execute(
            "SELECT statement, proof, sums FROM leaves WHERE position = 4"
        ).fetchone()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE leaves SET statement = ?, proof = ?, sums = ? WHERE position = 4", row)
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf 4: its statement is for epoch {EPOCH + 1}, not {EPOCH}")


def test_understated_value_at_mark_is_caught(world: dict[str, Path], tmp_path: Path) -> None:
    """An account long 1 BTC bought at 60,000 USDT, marked at 65,000: the exchange owes it the
    5,000 USDT profit. Committing u = 2^63 (a value at mark of 0) would hide that debt."""
    db = copy(world, tmp_path)
    pos = _padding_position(world)
    size, entry_ticks = 1000, 600_000  # 1.000 BTC at 60000.0
    slots = [
        ("balance_pos", "USDT", 64, False, 10**10),
        ("balance_neg", "USDT", 64, False, 0),
        ("long", "BTCUSDT", 64, False, size),
        ("short", "BTCUSDT", 64, False, 0),
        ("quote", "BTCUSDT", 64, True, -size * entry_ticks),
        ("cash", "", 64, True, 0),
    ]
    _forge_leaf(db, pos, slots, aux={("settled", "USDT"): 1 << 63})
    _rebuild(db, world["key"])
    _expect_invalid(db, world, f"leaf {pos}: its proof does not verify")


def test_a_header_claiming_a_huge_tree_is_refused_at_once(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """A hostile header (height 40 over 8 leaves) is invalid without the auditor enumerating
    2^40 positions."""
    db = copy(world, tmp_path)
    with sqlite3.connect(db) as conn:
        header = json.loads(conn.execute("SELECT doc FROM header").fetchone()[0])
        header["height"] = 40
        conn.execute("UPDATE header SET doc = ?", (json.dumps(header, separators=(",", ":")),))
    rep = audit_of(db)
    assert not rep.valid and "a tree of height 40" in rep.reason
