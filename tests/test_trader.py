"""The trader's story from the command line: venue keys and attestations, proofs, verification,
replays and tampering, bad input, and what a proof file does not contain."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zkmargin.cli import main

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples" / "trader"
MARKET = EX / "market.json"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A venue key, attested statements for alice, and a valid proof of θ = 1.25."""
    d = tmp_path_factory.mktemp("trader")
    assert run("venue", "keygen", "--out", d / "venue.key", "--venue", "V").exit_code == 0
    assert run("venue", "keygen", "--out", d / "other.key", "--venue", "V").exit_code == 0
    r = run(
        "venue",
        "attest",
        "--key",
        d / "venue.key",
        "--market",
        MARKET,
        "--accounts",
        EX / "account.json",
        "--out-dir",
        d / "st",
        "--epoch",
        "42",
    )
    assert r.exit_code == 0, r.output
    r = run(
        "prove",
        "--market",
        MARKET,
        "--statement",
        d / "st" / "alice.statement.json",
        "--openings",
        d / "st" / "alice.openings.json",
        "--threshold",
        "1.25",
        "--context",
        "lender=acme",
        "--out",
        d / "proof.json",
    )
    assert r.exit_code == 0, r.output
    return {
        "dir": d,
        "key": d / "venue.key",
        "pub": d / "venue.pub",
        "other_pub": d / "other.pub",
        "statement": d / "st" / "alice.statement.json",
        "openings": d / "st" / "alice.openings.json",
        "proof": d / "proof.json",
    }


def prove_attested(world: dict[str, Path], out: Path, *extra: str) -> Result:
    """``prove`` over alice's attested statement and openings."""
    return run(
        "prove",
        "--market",
        MARKET,
        "--statement",
        world["statement"],
        "--openings",
        world["openings"],
        "--out",
        out,
        *extra,
    )


def verify(world: dict[str, Path], *proofs: Path, extra: tuple[str, ...] = ()) -> Result:
    return run(
        "verify",
        *proofs,
        "--market",
        MARKET,
        "--venue-key",
        world["pub"],
        "--context",
        "lender=acme",
        *extra,
    )


def rewrite(world: dict[str, Path], name: str, change: Any) -> Path:
    doc = json.loads(world["proof"].read_text())
    change(doc)
    out = world["dir"] / name
    out.write_text(json.dumps(doc))
    return out


def test_valid_proof_verifies(world: dict[str, Path]) -> None:
    r = verify(world, world["proof"])
    assert r.exit_code == 0, r.output
    assert "VALID cross proof" in r.output and "1.25" in r.output


def test_secrets_are_owner_only_and_public_files_are_not(world: dict[str, Path]) -> None:
    assert stat.S_IMODE(world["key"].stat().st_mode) == 0o600
    assert stat.S_IMODE(world["openings"].stat().st_mode) == 0o600
    assert stat.S_IMODE(world["pub"].stat().st_mode) & 0o044  # readable by others (umask 022)
    assert stat.S_IMODE(world["proof"].stat().st_mode) & 0o044


def test_the_proof_file_holds_no_secret(world: dict[str, Path]) -> None:
    text = world["proof"].read_text()
    openings = json.loads(world["openings"].read_text())
    doc = json.loads(text)
    assert set(doc) == {
        "format",
        "circuit",
        "circuit_digest",
        "market_digest",
        "threshold",
        "epoch",
        "context",
        "statement",
        "proof",
    }
    leaves: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            leaves.add(str(x))

    walk(doc)
    for o in openings["openings"]:
        v = int(o["value"])
        assert o["blinding"] not in text
        if abs(v) >= 1000:
            assert o["value"] not in leaves and str(abs(v)) not in leaves
            for enc in (f"{v % (1 << 256):064x}", abs(v).to_bytes(32, "big").hex()):
                assert enc not in text
            assert abs(v).to_bytes(8, "big").hex() not in doc["proof"]
    assert openings["salt"] not in text
    assert "alice" not in text


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("epoch", lambda d: d.update(epoch=d["epoch"] + 1)),
        ("threshold", lambda d: d.update(threshold="1.5")),
        ("threshold_lower", lambda d: d.update(threshold="1")),
        ("context", lambda d: d.update(context="lender=other")),
        ("circuit", lambda d: d.update(circuit="portfolio")),
        ("circuit_digest", lambda d: d.update(circuit_digest="00" * 32)),
        ("market_digest", lambda d: d.update(market_digest="00" * 32)),
        ("statement_epoch", lambda d: d["statement"].update(epoch=43)),
        ("account_tag", lambda d: d["statement"].update(account_tag="11" * 32)),
        ("mode", lambda d: d["statement"].update(mode="portfolio")),
        ("venue", lambda d: d["statement"].update(venue="Other")),
        ("slot_bits", lambda d: d["statement"]["slots"][0].update(bits=63)),
        ("slot_left_out", lambda d: d["statement"]["slots"].pop(0)),
        ("signature_dropped", lambda d: d["statement"].pop("signature")),
        (
            "commitments_swapped",
            lambda d: d["statement"]["slots"][0].update(
                commitment=d["statement"]["slots"][2]["commitment"]
            ),
        ),
    ],
)
def test_every_changed_field_is_rejected(world: dict[str, Path], name: str, change: Any) -> None:
    r = verify(world, rewrite(world, f"{name}.json", change))
    assert r.exit_code in (1, 2), r.output
    assert "VALID" not in r.output.replace("INVALID", "")
    assert "Traceback" not in r.output


def test_a_version_1_statement_is_refused_by_name(world: dict[str, Path]) -> None:
    """A statement of format version 1 (whose linear quotes finer than a settle unit meant the
    engine's quote, not settle units) is never read with version 2's meaning: refused, exit 2,
    naming the format; and the message the venue signs holds the version, so a version-1
    statement relabelled as version 2 does not carry a valid signature."""
    r = verify(
        world,
        rewrite(
            world, "v1.json", lambda d: d["statement"].update(format="zkmargin/account-statement/1")
        ),
    )
    assert r.exit_code == 2 and "zkmargin/account-statement/2" in r.output, r.output
    assert "Traceback" not in r.output
    st = json.loads(world["statement"].read_text())
    assert st["format"] == "zkmargin/account-statement/2"
    from zkmargin.attest import statement as stm
    from zkmargin.formats.statement import AccountStatement

    model = AccountStatement.model_validate(st)
    message = stm.statement_message(model)
    assert b"zkmargin/account-statement/2" in message  # the signature covers the version


def test_flipped_proof_bytes_are_rejected(world: dict[str, Path]) -> None:
    data = bytes.fromhex(json.loads(world["proof"].read_text())["proof"])
    for i in range(0, len(data), max(1, len(data) // 24)):
        bad = bytearray(data)
        bad[i] ^= 0x10

        def change(d: dict[str, Any], bad: bytes = bytes(bad)) -> None:
            d["proof"] = bad.hex()

        r = verify(world, rewrite(world, f"flip{i}.json", change))
        assert r.exit_code == 1, (i, r.output)
        assert "Rust" not in r.output and "Err " not in r.output  # our words, not a library's


def test_replays_are_rejected(world: dict[str, Path], tmp_path: Path) -> None:
    other_market = json.loads(MARKET.read_text())
    other_market["assets"][2]["price"] = "60001"
    (tmp_path / "m.json").write_text(json.dumps(other_market))
    r = run("verify", world["proof"], "--market", tmp_path / "m.json", "--venue-key", world["pub"])
    assert r.exit_code == 1 and "another market" in r.output
    r = run("verify", world["proof"], "--market", MARKET, "--venue-key", world["other_pub"])
    assert r.exit_code == 1 and "another venue key" in r.output
    r = verify(world, world["proof"], extra=("--min-threshold", "1.5"))
    assert r.exit_code == 1 and "minimum" in r.output


def test_a_statement_signed_by_another_key_is_rejected(world: dict[str, Path]) -> None:
    other = json.loads((world["dir"] / "other.pub").read_text())["public_key"]
    r = verify(
        world, rewrite(world, "resigned.json", lambda d: d["statement"].update(venue_key=other))
    )
    assert r.exit_code == 1


def test_an_attested_proof_needs_the_verifier_to_name_the_venue_key(world: dict[str, Path]) -> None:
    """The attested slots are trusted to their bounds because a venue vouches for them: a key
    the verifier did not name could be the prover's own, so without --venue-key an attested
    proof is not accepted (a self-committed one, whose slots are all range-proven, is)."""
    r = run("verify", world["proof"], "--market", MARKET)
    assert r.exit_code == 1 and "--venue-key" in r.output
    assert verify(world, world["proof"]).exit_code == 0


def test_batch_names_the_bad_proof(world: dict[str, Path]) -> None:
    bad = rewrite(
        world,
        "bad_batch.json",
        lambda d: d["statement"]["slots"][1].update(
            commitment=d["statement"]["slots"][3]["commitment"]
        ),
    )
    r = verify(world, world["proof"], bad, world["proof"])
    assert r.exit_code == 1
    lines = [line for line in r.output.strip().splitlines() if not line.startswith(" ")]
    assert lines[0].endswith(
        "proof.json: VALID cross proof: equity ≥ 1.25 × maintenance, "
        "epoch 42, attested by V, context 'lender=acme'"
    )
    assert "bad_batch.json: INVALID" in lines[1]


def test_unhealthy_account_is_refused_and_no_file_written(world: dict[str, Path]) -> None:
    out = world["dir"] / "never.json"
    r = prove_attested(world, out, "--threshold", "50")
    assert r.exit_code == 1 and "refused" in r.output
    assert not out.exists()


def test_self_committed_account_with_decoys(world: dict[str, Path]) -> None:
    out = world["dir"] / "self.json"
    r = run(
        "prove",
        "--market",
        MARKET,
        "--account",
        EX / "portfolio_account.json",
        "--decoys",
        "2",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert "signature" not in doc["statement"]
    held = {s["of"] for s in doc["statement"]["slots"] if s["of"]}
    assert len(held) == 4 + 2  # USDT, BTC, BTCUSDT, ETHUSDT and two decoys
    r = run("verify", out, "--market", MARKET)
    assert r.exit_code == 0 and "NOT attested" in r.output
    r = run("verify", out, "--market", MARKET, "--venue-key", world["pub"])
    assert r.exit_code == 1 and "not attested" in r.output


def test_venue_decoys_hide_holdings(world: dict[str, Path]) -> None:
    d = world["dir"] / "decoys"
    r = run(
        "venue",
        "attest",
        "--key",
        world["key"],
        "--market",
        MARKET,
        "--accounts",
        EX / "portfolio_account.json",
        "--out-dir",
        d,
        "--layout",
        "own",
        "--decoys",
        "3",
    )
    assert r.exit_code == 0, r.output
    st = json.loads((d / "bob-portfolio.statement.json").read_text())
    assert len({s["of"] for s in st["slots"] if s["of"]}) == 4 + 3
    r = run(
        "prove",
        "--market",
        MARKET,
        "--statement",
        d / "bob-portfolio.statement.json",
        "--openings",
        d / "bob-portfolio.openings.json",
        "--out",
        d / "p.json",
    )
    assert r.exit_code == 0, r.output
    assert (
        run("verify", d / "p.json", "--market", MARKET, "--venue-key", world["pub"]).exit_code == 0
    )


@pytest.mark.parametrize(
    "args",
    [
        ("prove", "--market", "/nonexistent.json", "--account", EX / "account.json", "--out", "x"),
        (
            "prove",
            "--market",
            MARKET,
            "--account",
            EX / "account.json",
            "--threshold",
            "abc",
            "--out",
            "x",
        ),
        (
            "prove",
            "--market",
            MARKET,
            "--account",
            EX / "account.json",
            "--threshold",
            "-1",
            "--out",
            "x",
        ),
        ("prove", "--market", MARKET, "--out", "x"),
        (
            "prove",
            "--market",
            MARKET,
            "--account",
            EX / "account.json",
            "--circuit",
            "nope",
            "--out",
            "x",
        ),
        ("verify", EX / "account.json", "--market", MARKET),
        ("verify", "/nonexistent.json", "--market", MARKET),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[Any, ...], tmp_path: Path) -> None:
    r = run(*[str(a).replace("x", str(tmp_path / "x.json")) if a == "x" else a for a in args])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.output.count("\n") <= 2
    assert not (tmp_path / "x.json").exists()


def test_openings_of_another_statement_are_refused(world: dict[str, Path], tmp_path: Path) -> None:
    op = json.loads(world["openings"].read_text())
    op["openings"][0]["value"] = str(int(op["openings"][0]["value"]) + 1)
    (tmp_path / "op.json").write_text(json.dumps(op))
    r = run(
        "prove",
        "--market",
        MARKET,
        "--statement",
        world["statement"],
        "--openings",
        tmp_path / "op.json",
        "--out",
        tmp_path / "p.json",
    )
    assert r.exit_code == 2 and "does not open" in r.output
    assert not (tmp_path / "p.json").exists()


def test_duplicate_json_keys_are_refused(world: dict[str, Path], tmp_path: Path) -> None:
    text = world["proof"].read_text()
    dup = text.replace('"epoch": 42,', '"epoch": 41, "epoch": 42,', 1)
    assert dup != text
    (tmp_path / "dup.json").write_text(dup)
    r = verify(world, tmp_path / "dup.json")
    assert r.exit_code == 2 and "duplicate key" in r.output


def test_k4p4_example_matches_the_peer(tmp_path: Path) -> None:
    """The bundled k4p4 account is the peer's healthy account: its equity and requirement are
    the peer's slack terms, and it proves θ = 1.25 (attested) like the peer."""
    peer = json.loads(
        (
            ROOT.parent / "shared" / "peers" / "snark-margin" / "examples" / "k4_p4_healthy.json"
        ).read_text()
    )
    equity = (
        sum(
            int(h) * int(p) * int(c)
            for h, p, c in zip(peer["haircut"], peer["price"], peer["c"], strict=True)
        )
        // 10**6
        + sum(
            (int(lo) - int(s)) * int(m)
            for lo, s, m in zip(peer["L"], peer["S"], peer["mark"], strict=True)
        )
        + int(peer["cashPos"])
        - int(peer["cashNeg"])
    )
    r = run(
        "margin",
        "report",
        "--market",
        EX / "k4p4" / "market.json",
        "--accounts",
        EX / "k4p4" / "account.json",
        "--format",
        "json",
    )
    assert json.loads(r.output)["accounts"][0]["equity"] == str(equity)
    assert run("venue", "keygen", "--out", tmp_path / "v.key").exit_code == 0
    assert (
        run(
            "venue",
            "attest",
            "--key",
            tmp_path / "v.key",
            "--market",
            EX / "k4p4" / "market.json",
            "--accounts",
            EX / "k4p4" / "account.json",
            "--out-dir",
            tmp_path,
        ).exit_code
        == 0
    )
    r = run(
        "prove",
        "--market",
        EX / "k4p4" / "market.json",
        "--statement",
        tmp_path / "k4p4-healthy.statement.json",
        "--openings",
        tmp_path / "k4p4-healthy.openings.json",
        "--threshold",
        "1.25",
        "--out",
        tmp_path / "p.json",
    )
    assert r.exit_code == 0, r.output


def test_the_exchange_leaf_circuit_is_not_a_margin_proof(world: dict[str, Path]) -> None:
    """liability_leaf proves θ = 1 whatever a file states: the trader refuses it and a verifier
    rejects a proof file naming it, so no proof can claim a θ its circuit did not check."""
    out = world["dir"] / "leaf.json"
    r = prove_attested(world, out, "--circuit", "liability_leaf", "--threshold", "5")
    assert r.exit_code == 2 and not out.exists()
    leaf = rewrite(world, "leaf_named.json", lambda d: d.update(circuit="liability_leaf"))
    r = verify(world, leaf)
    assert r.exit_code == 1 and "not a margin-proof circuit" in r.output


def _resign(world: dict[str, Path], st: dict[str, Any]) -> dict[str, Any]:
    """The statement re-signed with the venue's key: a venue vouching for a false bound."""
    from zkmargin.attest import statement as stm
    from zkmargin.attest.bls import sign
    from zkmargin.exchange import load_venue_key
    from zkmargin.formats.statement import AccountStatement

    doc = AccountStatement.model_validate({k: v for k, v in st.items() if k != "signature"})
    key = load_venue_key(world["key"])
    st["signature"] = sign(key.secret_key, stm.statement_message(doc)).hex()
    return st


def _digest(st: dict[str, Any]) -> str:
    from zkmargin.attest import statement as stm
    from zkmargin.formats.statement import AccountStatement

    return stm.statement_digest(AccountStatement.model_validate(st)).hex()


def test_a_slot_declared_with_another_bound_is_refused_even_when_signed(
    world: dict[str, Path],
) -> None:
    """The verifier takes each slot's bound from the circuit: a statement declaring ``short``
    signed (re-signed by the venue key, which vouches for values, not for what a slot means) is
    refused by ``prove`` and by ``verify``, each with one line naming the slot."""
    st = json.loads(world["statement"].read_text())
    slot = next(s for s in st["slots"] if s["name"] == "short")
    slot["signed"] = True
    where = f"short[{slot['of']}]"
    st = _resign(world, st)
    bad_st = world["dir"] / "signed-short.statement.json"
    bad_st.write_text(json.dumps(st))
    op = json.loads(world["openings"].read_text())
    op["statement_digest"] = _digest(st)
    bad_op = world["dir"] / "signed-short.openings.json"
    bad_op.write_text(json.dumps(op))
    r = run(
        "prove",
        "--market",
        MARKET,
        "--statement",
        bad_st,
        "--openings",
        bad_op,
        "--out",
        world["dir"] / "never.json",
    )
    assert r.exit_code == 2 and where in r.output and "circuit cross bounds short" in r.output
    assert not (world["dir"] / "never.json").exists()
    bad = rewrite(world, "signed-short.json", lambda d: d.update(statement=st))
    r = verify(world, bad)
    assert r.exit_code == 1 and where in r.output and "declared signed" in r.output, r.output


def test_not_checked_lines_and_strict(world: dict[str, Path]) -> None:
    """Without --context and --min-threshold the verdict names what it did not check, on lines
    of their own; --strict makes them a failure; with every option given nothing is unchecked."""
    bare = run("verify", world["proof"], "--market", MARKET, "--venue-key", world["pub"])
    assert bare.exit_code == 0, bare.output
    assert 'context not checked: it is "lender=acme" (--context)' in bare.output
    assert "minimum θ not checked: the proof states θ = 1.25 (--min-threshold)" in bare.output
    strict = run(
        "verify", world["proof"], "--market", MARKET, "--venue-key", world["pub"], "--strict"
    )
    assert strict.exit_code == 1 and "strict" in strict.output
    full = verify(world, world["proof"], extra=("--min-threshold", "1.2", "--strict"))
    assert full.exit_code == 0 and "not checked" not in full.output, full.output
    high = verify(world, world["proof"], extra=("--min-threshold", "2"))
    assert high.exit_code == 1 and "below the required minimum θ = 2" in high.output


def test_a_file_needs_its_format_tag(world: dict[str, Path]) -> None:
    """A proof file without its format key is not read; a venue secret key given where the
    public key is read points to the .pub file."""
    doc = json.loads(world["proof"].read_text())
    del doc["format"]
    bare = world["dir"] / "no-format.json"
    bare.write_text(json.dumps(doc))
    r = run("verify", bare, "--market", MARKET, "--venue-key", world["pub"])
    assert r.exit_code == 2 and "has no 'format' key" in r.output
    r = run("verify", world["proof"], "--market", MARKET, "--venue-key", world["key"])
    assert r.exit_code == 2 and "venue.pub" in r.output and "secret key" in r.output


def test_a_refusal_gives_the_ratio_and_the_highest_theta(world: dict[str, Path]) -> None:
    """prove at θ = 50 refuses with the account's margin ratio and the highest θ it can prove;
    --threshold max proves exactly that θ, which verifies, and one step more does not prove."""
    r = prove_attested(world, world["dir"] / "never.json", "--threshold", "50")
    assert r.exit_code == 1 and "margin ratio (equity ÷ requirement) is" in r.output, r.output
    best = r.output.split("the highest θ it can prove is ")[1].split(" ")[0]
    out = world["dir"] / "max.json"
    r = prove_attested(world, out, "--threshold", "max")
    assert r.exit_code == 0 and f"θ = {best} (the highest" in r.output, r.output
    assert json.loads(out.read_text())["threshold"] == best
    assert run("verify", out, "--market", MARKET, "--venue-key", world["pub"]).exit_code == 0
    step = f"{float(best) + 0.01:.2f}"
    r = prove_attested(world, world["dir"] / "never2.json", "--threshold", step)
    assert r.exit_code == 1


def test_threshold_max_without_a_requirement_says_it_proved_the_cap(tmp_path: Path) -> None:
    """An account of collateral alone has no requirement: every θ holds, and --threshold max
    proves the cap (1000), saying so rather than calling it the highest that holds."""
    acc = tmp_path / "cash.json"
    acc.write_text(
        json.dumps(
            {"format": "zkmargin.accounts", "version": 1,
             "accounts": [{"id": "c", "collateral": {"USDT": "100"}}]}
        )
    )  # fmt: skip
    out = tmp_path / "cap.json"
    r = run("prove", "--market", MARKET, "--account", acc, "--threshold", "max", "--out", out)
    assert r.exit_code == 0, r.output
    assert "θ = 1000 (the cap" in r.output and "highest on a 0.01 grid" not in r.output
    assert json.loads(out.read_text())["threshold"] == "1000"
    assert run("verify", out, "--market", MARKET).exit_code == 0
