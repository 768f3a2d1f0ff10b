"""The command line as an operator meets it: closed pipes, Ctrl-C with worker processes, logs
when standard error is not a terminal, a finished publication rerun, the curve backend named by
the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_exchange import account_ids, run, world

from zkmargin.cli import main

__all__ = ["world"]  # the publication fixture, shared with test_exchange

ROOT = Path(__file__).resolve().parent.parent


def zkmargin(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "zkmargin", *map(str, args)]


# ----- the backend named by the environment ----------------------------------------------------


def test_unknown_backend_in_the_environment_names_the_variable() -> None:
    r = CliRunner().invoke(main, ["venue", "--help"], env={"ZKMARGIN_BACKEND": "foo"})
    assert r.exit_code == 2
    assert "ZKMARGIN_BACKEND=foo: unknown curve backend; choose native or reference" in r.output
    assert "--backend" not in r.output
    r = CliRunner().invoke(main, ["--backend", "foo", "venue", "--help"])
    assert r.exit_code == 2 and "--backend" in r.output and "ZKMARGIN_BACKEND" not in r.output
    r = CliRunner().invoke(main, ["venue", "--help"], env={"ZKMARGIN_BACKEND": "reference"})
    assert r.exit_code == 0, r.output


# ----- closed pipes ----------------------------------------------------------------------------


def closed_pipe(cmd: list[str], *, merge: bool) -> tuple[int, str]:
    """Run ``cmd`` with its standard output a pipe closed before it writes anything (as after
    ``| head -0``; ``merge``: standard error too, as with ``2>&1``). Return (exit code,
    standard error)."""
    p = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert p.stdout is not None
    p.stdout.close()
    err = p.stderr.read().decode() if p.stderr is not None else ""
    return p.wait(timeout=300), err


def first_line(cmd: list[str]) -> tuple[int, bytes]:
    """``cmd 2>&1 | head -1``: the first line, and the command's own exit code."""
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    p.stdout.close()
    return p.wait(timeout=300), line


@pytest.fixture(scope="module")
def mine(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipes") / "mine.json"
    r = run(
        "exchange",
        "inclusion",
        "--publication",
        world["pub"],
        "--secrets",
        world["secrets"],
        "--account",
        account_ids(world)[0],
        "--out",
        path,
    )
    assert r.exit_code == 0, r.output
    return path


@pytest.mark.parametrize("merge", [False, True], ids=["stdout", "2>&1"])
def test_a_closed_pipe_is_a_quiet_exit_with_the_verdicts_code(
    world: dict[str, Path], mine: Path, merge: bool
) -> None:
    pub = world["pub"]
    cases = [
        (0, ["exchange", "verify", pub, "--workers", "1"]),
        (0, ["inclusion", "verify", mine, "--publication", pub]),
        (1, ["inclusion", "verify", mine, "--publication", pub, "--account", "nobody"]),
        (1, ["inclusion", "verify", mine, "--root", "ab" * 32]),
    ]
    for code, args in cases:
        rc, err = closed_pipe(zkmargin(*args), merge=merge)
        assert rc == code, (args, err)
        assert "Traceback" not in err and "Broken pipe" not in err and "Errno" not in err, err


def test_head_1_gets_the_verdict_and_the_code_is_kept(world: dict[str, Path], mine: Path) -> None:
    rc, line = first_line(zkmargin("exchange", "verify", world["pub"], "--workers", "1"))
    assert rc == 0 and b"VALID" in line
    rc, line = first_line(zkmargin("inclusion", "verify", mine, "--root", "ab" * 32))
    assert rc == 1 and b"private" in line  # the warning on standard error comes first


def test_margin_verify_into_a_closed_pipe(tmp_path: Path) -> None:
    """``zkmargin verify`` of a valid and of a tampered proof, into a closed pipe."""
    trader = ROOT / "examples" / "trader"
    proof = tmp_path / "p.json"
    r = run(
        "prove",
        "--market",
        trader / "market.json",
        "--account",
        trader / "account.json",
        "--threshold",
        "1.1",
        "--out",
        proof,
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(proof.read_text())
    doc["threshold"] = "1.2"  # the proof was made for 1.1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    for code, path in ((0, proof), (1, bad)):
        for merge in (False, True):
            rc, err = closed_pipe(
                zkmargin("verify", path, "--market", trader / "market.json"), merge=merge
            )
            assert rc == code, err
            assert "Traceback" not in err and "Errno" not in err, err
