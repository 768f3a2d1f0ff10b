"""``zkmargin demo``: the stories told on bundled and synthetic data, saying what happened.

* the margin engine over a seeded synthetic exchange;
* the trader's story on the peer's K=4, P=4 account (``examples/trader/k4p4``): the venue
  attests, the trader proves θ = 1.25 to a lender, the lender verifies, and what the lender did
  and did not learn; then attempts to cheat;
* the exchange's story on ``examples/exchange``: publish liabilities and reserves, audit them,
  one user's inclusion and a margin proof attested by it; then a tampered publication; then its
  custodians sign the publication's reserves message, the exchange proves its BTC reserve on
  chain (the other columns declared off chain, reported apart), and the audit re-reads every
  balance from the auditor's own UTXO snapshot; a replayed signature is refused;
* a liquidation, proven: the market moves, the venue proves alice's account below maintenance,
  anyone verifies it, alice checks it is about her; a healthy account cannot be liquidated;
* the crypto core: an aggregated range proof and Sigma proofs, and attempts to cheat them;
* what each party learned.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import group, margin, pedersen, rangeproof, sigma
from .auditor import audit_publication, column_statements, verify_margin_proofs
from .bundles import (
    RangeProofBundle,
    batch_verify_range,
    equality_relation,
    opening_relation,
    prove_range,
    verify_range,
)
from .errors import DecodeError
from .exchange import (
    exchange_inclusion,
    exchange_prove_assets,
    exchange_publish,
    exchange_reserves_message,
    load_chain_data,
    load_venue_public_key,
    venue_attest,
    venue_keygen,
)
from .formats.accounts import load_accounts
from .formats.common import format_decimal
from .group import R
from .liabilities.publish import Progress
from .liquidation import (
    NotBelow,
    check_liquidation,
    prove_liquidation,
    verify_liquidation_proofs,
)
from .margin import synthetic
from .trader import NotHealthy, prove_margin, verify_inclusion
from .transcript import sigma_tag

#: The bundled examples, beside the package in a checkout.
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass
class DemoReport:
    """What ``zkmargin demo`` did, line by line, and whether every check came out right.
    ``echo``, when given, receives each line as it is said (the story told as it happens)."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True
    echo: Callable[[str], None] | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)
        if self.echo is not None:
            self.echo(line)

    def check(
        self,
        what: str,
        got: bool,
        expected: bool = True,
        words: tuple[str, str] = ("accepted", "rejected"),
    ) -> None:
        self.ok &= got is expected
        mark = "ok" if got is expected else "UNEXPECTED"
        self.say(f"  [{mark}] {what}: {words[0] if got else words[1]}")


def demo_crypto(report: DemoReport | None = None) -> DemoReport:
    """Prove and verify an aggregated range proof and Sigma proofs, and try to cheat."""
    rep = report or DemoReport()
    rep.say(f"the building blocks (curve backend: {group.backend().name}):")
    balances = [1_250_000_000, 37_500_000, 999_999, 0]  # USDT in micro-units (6 decimals)
    context = b"zkmargin demo; epoch=1; venue=example"
    t0 = time.perf_counter()
    bundle, openings = prove_range(balances, 64, context)
    t1 = time.perf_counter()
    rep.say(
        f"committed to {len(balances)} balances and proved each in [0, 2^64): "
        f"{len(bundle.proof)}-byte aggregated Bulletproof in {1e3 * (t1 - t0):.1f} ms"
    )
    t2 = time.perf_counter()
    rep.check("verify the range proof", verify_range(bundle))
    rep.say(f"  verified in {1e3 * (time.perf_counter() - t2):.1f} ms")
    rep.check(
        "verify it under another context (replay into another epoch)",
        verify_range(RangeProofBundle(bundle.n, b"epoch=2", bundle.commitments, bundle.proof)),
        expected=False,
    )
    forged = bytearray(bundle.proof)
    forged[100] ^= 1
    try:
        forged_ok = verify_range(
            RangeProofBundle(bundle.n, context, bundle.commitments, bytes(forged))
        )
    except DecodeError:
        forged_ok = False
    rep.check("verify a proof with one flipped bit", forged_ok, expected=False)
    bad, _ = rangeproof.prove([2**64], [1], 64, context, _unsafe_skip_range_check=True)
    rep.check(
        "verify a forged proof for the out-of-range value 2^64",
        rangeproof.verify(bad, [pedersen.commit(2**64, 1)], 64, context),
        expected=False,
    )
    more = [prove_range([i * 1000 + 1], 64, context)[0] for i in range(16)]
    t3 = time.perf_counter()
    rep.check(f"batch-verify {len(more) + 1} range proofs", batch_verify_range([bundle, *more]))
    rep.say(f"  batch verified in {1e3 * (time.perf_counter() - t3):.1f} ms")

    c0 = group.decode_point(bundle.commitments[0])
    rel = opening_relation(c0)
    tag = sigma_tag("demo_opening", "DSFS")
    narg = sigma.prove_batchable(tag, rel, [openings[0].value, openings[0].blinding])
    rep.say(f"a proof of knowing what a commitment hides, without saying it: {len(narg)} bytes")
    rep.check("verify the opening proof", sigma.verify_batchable(tag, rel, narg))
    gamma2 = secrets.randbelow(R)
    c_again = pedersen.commit(balances[0], gamma2)
    eq = equality_relation(c0, c_again)
    tag_eq = sigma_tag("demo_equal_values", "CMPT")
    proof_eq = sigma.prove_compact(tag_eq, eq, [(openings[0].blinding - gamma2) % R])
    rep.say(
        f"a proof that two commitments hide the same amount, without saying it: "
        f"{len(proof_eq)} bytes"
    )
    rep.check("verify the equality proof", sigma.verify_compact(tag_eq, eq, proof_eq))
    other = equality_relation(c0, pedersen.commit(balances[0] + 1, gamma2))
    rep.check(
        "verify it against a commitment to another value",
        sigma.verify_compact(tag_eq, other, proof_eq),
        expected=False,
    )
    return rep


def demo_summary(rep: DemoReport) -> DemoReport:
    """What each party learned, in plain words, and the verdict of the whole demo."""
    rep.say("what each party learned:")
    rep.say(
        "  the lender: that the trader's account, as the venue signed it, has equity at least "
        "1.25 × its maintenance requirement; not one balance, position, price or figure"
    )
    rep.say(
        "  the public, of a liquidation: that the account was below maintenance at that "
        "snapshot, as the venue signed it; and the trader, that the proof is about their account"
    )
    rep.say(
        "  each user: that their account is in the exchange's signed tree with exactly the "
        "balances and positions they expect, and that its debts are counted only where covered"
    )
    rep.say(
        "  the auditor (anyone): that every account's debts are covered, the tree sums them "
        "honestly, and every asset's reserve covers what is owed; the totals stay hidden"
    )
    rep.say(
        "  the exchange and the venue: nothing new about anyone; and no one can make a false "
        "statement verify: every attempt above was refused"
    )
    rep.say("all checks behaved as expected" if rep.ok else "SOME CHECKS MISBEHAVED")
    return rep


def demo_margin(report: DemoReport | None = None, accounts: int = 20_000) -> DemoReport:
    """Run the margin engine over a seeded synthetic exchange and summarise it."""
    rep = report or DemoReport()
    market = synthetic.synthetic_market()
    table = synthetic.synthetic_accounts(market, accounts, seed=2026)
    t0 = time.perf_counter()
    result = margin.evaluate_table(market, table)
    elapsed = time.perf_counter() - t0
    unhealthy = int((~result.healthy).sum())
    ratios = np.asarray(result.margin_ratio)
    near = int(((ratios >= 1.0) & (ratios < 1.1)).sum())
    rep.say(
        f"margin engine: {len(table)} accounts of '{market.venue}' ({len(table.pos_account)} "
        f"positions) in {1e3 * elapsed:.0f} ms, exact integers, conservative rounding"
    )
    rep.say(f"  {unhealthy} below maintenance, {near} within 10 % of it")
    worst = int(np.nanargmin(ratios))
    rep.say(
        f"  worst account {result.ids[worst]}: margin ratio {ratios[worst]:.3f} "
        f"({margin.vector.MODES[int(result.mode[worst])]})"
    )
    rep.check(
        "is the worst account flagged below maintenance",
        not bool(result.healthy[worst]),
        words=("yes", "no"),
    )
    return rep


def demo_trader(report: DemoReport | None = None, examples: Path = EXAMPLES) -> DemoReport:
    """The venue attests the k4p4 account, the trader proves θ = 1.25, a lender verifies."""
    rep = report or DemoReport()
    data = examples / "trader" / "k4p4"
    market, account = data / "market.json", data / "account.json"
    if not market.exists():
        rep.say(f"trader's story skipped: {data} is not here (run from a checkout)")
        return rep
    with tempfile.TemporaryDirectory(prefix="zkmargin-demo-") as tmp:
        d = Path(tmp)
        key, pub = venue_keygen(d / "venue.key", "Example Venue")
        venue_attest(key=key, market=market, accounts=account, out_dir=d / "statements")
        st, op = (
            d / "statements" / "k4p4-healthy.statement.json",
            d / "statements" / "k4p4-healthy.openings.json",
        )
        rep.say("trader's story (the snark-margin peer's K=4, P=4 account, attested by a venue):")
        rep.say("  the venue signed a statement committing to every balance, position and cash")
        t0 = time.perf_counter()
        res = prove_margin(
            market=market,
            statement=st,
            openings=op,
            threshold="1.25",
            context="lender=Acme Bank; loan=7731",
            out=d / "proof.json",
        )
        t1 = time.perf_counter()
        rep.say(
            f"  the trader proved equity ≥ 1.25 × maintenance: {res.proof_bytes}-byte proof, "
            f"{res.range_constraints} range constraints, {1e3 * (t1 - t0):.0f} ms, no trusted setup"
        )
        pk = load_venue_public_key(pub)
        t2 = time.perf_counter()
        [v] = verify_margin_proofs(
            [d / "proof.json"], market=market, venue_key=pk, context="lender=Acme Bank; loan=7731"
        )
        rep.check(f"the lender verifies it ({1e3 * (time.perf_counter() - t2):.0f} ms)", v.valid)
        doc = json.loads((d / "proof.json").read_text())
        held = sorted({s["of"] for s in doc["statement"]["slots"] if s["of"]})
        rep.say(f"  the lender learned: θ = {v.threshold}, epoch {v.epoch}, the venue, the market,")
        rep.say(f"    and that the account holds slots for {', '.join(held)}")
        rep.say("  it did not learn any balance, position size, direction, price paid or equity")
        [other] = verify_margin_proofs(
            [d / "proof.json"], market=market, venue_key=pk, context="lender=Other"
        )
        rep.check("the same proof shown to another lender (context)", other.valid, expected=False)
        tampered = json.loads((d / "proof.json").read_text())
        slots = tampered["statement"]["slots"]
        slots[0]["commitment"], slots[2]["commitment"] = (
            slots[2]["commitment"],
            slots[0]["commitment"],
        )
        (d / "tampered.json").write_text(json.dumps(tampered))
        [t] = verify_margin_proofs([d / "tampered.json"], market=market, venue_key=pk)
        rep.check("a proof over a statement with two commitments swapped", t.valid, expected=False)
        try:
            prove_margin(
                market=market, statement=st, openings=op, threshold="200", out=d / "no.json"
            )
            refused = False
        except NotHealthy:
            refused = True
        rep.check(
            "asking the trader to prove θ = 200 (the account's ratio is about 136)",
            refused,
            words=("refused, no proof written", "proof written"),
        )
        rep.ok &= not (d / "no.json").exists()
    return rep


def demo_liquidation(report: DemoReport | None = None, examples: Path = EXAMPLES) -> DemoReport:
    """The trader's third act: the market moves, the venue liquidates alice's cross account and
    publishes its proof; anyone verifies it against the venue key and the new snapshot; alice
    checks the proof is about her statement; a proof for a healthy account cannot be made."""
    rep = report or DemoReport()
    data = examples / "trader"
    moved, account = data / "market_moved.json", data / "account.json"
    if not moved.exists():
        rep.say(f"liquidation skipped: {moved} is not here (run from a checkout)")
        return rep
    with tempfile.TemporaryDirectory(prefix="zkmargin-demo-") as tmp:
        d = Path(tmp)
        key, pub = venue_keygen(d / "venue.key", "Example Venue")
        pk = load_venue_public_key(pub)
        rep.say("the market moves (ETH 3,000 → 3,620): the venue liquidates alice's account…")
        venue_attest(key=key, market=moved, accounts=account, out_dir=d / "st", layout="own")
        st, op = d / "st" / "alice.statement.json", d / "st" / "alice.openings.json"
        res = prove_liquidation(
            key=key, market=moved, statement=st, openings=op, out=d / "alice.liquidation.json"
        )
        rep.say(
            f"  and publishes a proof that her equity was below maintenance ({res.proof_bytes} B, "
            "no amount in it)"
        )
        [v] = verify_liquidation_proofs([res.out], market=moved, venue_key=pk)
        rep.check("anyone verifies it against the venue key and the new snapshot", v.valid)
        mine = check_liquidation(
            proof=res.out, statement=st, openings=op, market=moved, venue_key=pk
        )
        rep.check("alice checks it is about her own signed statement", mine.valid)
        [stale] = verify_liquidation_proofs([res.out], market=data / "market.json", venue_key=pk)
        rep.check("the same proof against the snapshot before the move", stale.valid, False)
        before = data / "market.json"
        venue_attest(key=key, market=before, accounts=account, out_dir=d / "st0", layout="own")
        try:
            prove_liquidation(
                key=key,
                market=before,
                statement=d / "st0" / "alice.statement.json",
                openings=d / "st0" / "alice.openings.json",
                out=d / "never.json",
            )
            refused = False
        except NotBelow:
            refused = True
        rep.check(
            "the venue asked to liquidate her before the move, when she was healthy",
            refused,
            words=("refused, no proof", "proof written"),
        )
        rep.say(
            "  the public learned that this account was below maintenance at this snapshot, "
            "never by how much"
        )
    return rep


#: The demo publishes this many of the bundled exchange's accounts (a tree of 16 leaves), so the
#: whole demo takes under a minute; ``exchange publish`` takes the 200 of them.
DEMO_ACCOUNTS = 14


def _first_accounts(accounts: Path, out: Path, count: int) -> Path:
    """The first ``count`` accounts of a CSV accounts file (every row of each)."""
    lines = accounts.read_text().splitlines()
    keep, ids = [lines[0]], list[str]()
    for line in lines[1:]:
        account = line.split(",", 1)[0]
        if account not in ids:
            if len(ids) == count:
                continue
            ids.append(account)
        keep.append(line)
    out.write_text("\n".join(keep) + "\n")
    return out


def demo_exchange(
    report: DemoReport | None = None,
    examples: Path = EXAMPLES,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    accounts_count: int | None = DEMO_ACCOUNTS,
) -> DemoReport:
    """The exchange publishes its liabilities and reserves for the bundled accounts, anyone
    audits it, one user checks their inclusion and proves their margin with it to a lender."""
    rep = report or DemoReport()
    data = examples / "exchange"
    market, accounts, reserves = (
        data / "market.json",
        data / "accounts.csv",
        data / "reserves.json",
    )
    if not accounts.exists():
        rep.say(f"exchange's story skipped: {data} is not here (run from a checkout)")
        return rep
    with tempfile.TemporaryDirectory(prefix="zkmargin-demo-") as tmp:
        d = Path(tmp)
        key, pub = venue_keygen(d / "venue.key", "Example Exchange")
        pk = load_venue_public_key(pub)
        if accounts_count is not None:
            accounts = _first_accounts(accounts, d / "accounts.csv", accounts_count)
        rep.say("exchange's story (examples/exchange: proof of liabilities and reserves):")
        rep.say(
            "  the exchange proves every account's debts covered by its own holdings, sums "
            "them in a Merkle tree, signs its root and proves its reserves cover every total…"
        )
        t0 = time.perf_counter()
        res = exchange_publish(
            key=key,
            market=market,
            accounts=accounts,
            reserves=reserves,
            out=d / "pub.sqlite",
            workers=workers,
            progress=progress,
        )
        dt = time.perf_counter() - t0
        rep.say(
            f"  published {res.accounts} accounts as {res.leaves} leaves (height {res.height}, "
            f"padding hides the count), each with its debts proven covered: {dt:.0f} s on "
            f"{res.where}, {res.accounts / dt:.1f} accounts/s"
        )
        rep.say(
            f"  one file holds it all: {(d / 'pub.sqlite').stat().st_size // 1024} KiB; the "
            "secrets went to an owner-only file"
        )
        rep.say("  an auditor checks everything in the file…")
        t0 = time.perf_counter()
        audit = audit_publication(
            d / "pub.sqlite", venue_key=pk, workers=workers, progress=progress
        )
        rep.check(
            f"anyone audits every leaf, node, the signed root and the reserves "
            f"({time.perf_counter() - t0:.1f} s)",
            audit.valid,
        )
        rep.say(f"    root hash {audit.root_hash} (what users check their file against)")
        rep.say("    what the audit proved about the reserves, per asset:")
        for c in column_statements(audit):
            rep.say(f"      {c.symbol:>5}: {c.statement}")
        user = next(a.id for a in load_accounts(accounts))
        inclusion = exchange_inclusion(
            publication=d / "pub.sqlite", secrets=res.secrets, account=user, out=d / "mine.json"
        )
        mine = verify_inclusion(inclusion, publication=d / "pub.sqlite", venue_key=pk, account=user)
        rep.check(f"user {user} finds their account under the signed root", mine.valid)
        for column, value, what in mine.owed:
            if value.strip("0.-"):
                rep.say(f"    owed to them in {column}: {value} ({what})")
        proof = prove_margin(
            market=market,
            inclusion=inclusion,
            threshold="1.1",
            context="lender=Acme",
            out=d / "p.json",
        )
        [v] = verify_margin_proofs(
            [d / "p.json"], market=market, venue_key=pk, context="lender=Acme"
        )
        rep.check(
            f"they prove equity ≥ 1.1 × maintenance to a lender, attested by that inclusion "
            f"({proof.proof_bytes} B)",
            v.valid,
        )
        bad = d / "bad.sqlite"
        shutil.copy(d / "pub.sqlite", bad)
        with sqlite3.connect(bad) as conn:
            (a,), (b,) = conn.execute("SELECT sums FROM leaves WHERE position < 2").fetchall()
            conn.execute("UPDATE leaves SET sums = ? WHERE position = 0", (b,))
            conn.execute("UPDATE leaves SET sums = ? WHERE position = 1", (a,))
        tampered = audit_publication(bad, venue_key=pk, workers=1)
        rep.check("a publication with two leaves' liabilities swapped", tampered.valid, False)
        rep.say(f"    the audit says: {tampered.reason}")
        other = verify_inclusion(inclusion, root_hash="00" * 32, venue_key=pk)
        rep.check("the user's file checked against another root", other.valid, expected=False)
        if (data / "custodians.json").exists():
            _demo_assets(rep, data, d, pk, workers)
    return rep


def _demo_assets(rep: DemoReport, data: Path, d: Path, pk: bytes, workers: int | None) -> None:
    """The reserves proven: custodians sign the publication's message with the example's test
    keys, the exchange adds the proof of assets, the auditor checks it with their snapshot."""

    from .chain import signing
    from .formats.assets import CustodianKeysFile, SignaturesFile
    from .formats.jsonfile import read_model
    from .liabilities.assets import AssetsInvalid

    keys = read_model(data / "custodians.json", CustodianKeysFile)
    scan = data / "scantxoutset.json"
    height = json.loads(scan.read_text())["height"]
    evm = json.loads((data / "evm-balances.json").read_text())
    heights = {keys.chain: height, f"evm-{evm['chain_id']}": evm["block"]}
    message = exchange_reserves_message(publication=d / "pub.sqlite", heights=heights)
    rep.say(f"  the reserves message custodians sign ({len(message.splitlines())} lines):")
    for line in message.splitlines():
        rep.say(f"    | {line}")

    def sign(text: str) -> SignaturesFile:
        return signing.sign_with_custodians(keys, text)

    (d / "signatures.json").write_text(sign(message).model_dump_json())
    res = exchange_prove_assets(
        publication=d / "pub.sqlite",
        wallets=data / "wallets.json",
        signatures=d / "signatures.json",
        heights=heights,
        utxos=[f"{keys.chain}={scan}"],
        evm_balances=[data / "evm-balances.json"],
    )
    rep.check(
        f"custodians sign it (BIP-322 P2WPKH and P2TR, a 2-of-3 P2WSH with BIP-137, EIP-191 for "
        f"the EVM account); the exchange proves {res.addresses} balances at height {height} and "
        f"block {evm['block']} (its EVM balance snapshot)",
        True,
    )
    for t in res.totals:
        if t.proven:
            rep.say(f"    {t.asset}: proven on chain {format_decimal(t.proven, t.decimals)}")
        if t.off_chain:
            rep.say(
                f"    {t.asset}: declared off chain {format_decimal(t.off_chain, t.decimals)} "
                "(stated, not proven)"
            )
    chain_data = load_chain_data(utxos=[f"{keys.chain}={scan}"])
    audit = audit_publication(
        d / "pub.sqlite", venue_key=pk, workers=workers, chain_data=chain_data
    )
    rep.check(
        "the audit checks every signature offline and re-reads every Bitcoin balance from the "
        "auditor's own scantxoutset (EVM balances: with their node, --eth-rpc)",
        audit.valid and audit.assets is not None and len(audit.assets.notes) == 1,
    )
    for note in audit.assets.notes if audit.assets else []:
        rep.say(f"    {note}")
    old_root = message.split("liabilities root: ")[1].splitlines()[0]
    replayed = message.replace(old_root, "00" * 32)
    (d / "replayed.json").write_text(sign(replayed).model_dump_json())
    try:
        exchange_prove_assets(
            publication=d / "pub.sqlite",
            wallets=data / "wallets.json",
            signatures=d / "replayed.json",
            heights=heights,
            utxos=[f"{keys.chain}={scan}"],
            evm_balances=[data / "evm-balances.json"],
            out=d / "replayed.sqlite",
        )
        refused = ""
    except AssetsInvalid as exc:
        refused = str(exc)
    rep.check("signatures made for another publication's root", not refused, expected=False)
    rep.say(f"    refused: {refused}")
