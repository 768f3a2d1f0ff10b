"""The command line as an operator meets it: closed pipes, Ctrl-C with worker processes, logs
when standard error is not a terminal, a finished publication rerun, the curve backend named by
the environment."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from test_exchange import _partial_leaves, account_ids, copy_inputs, publish_args, run, world

from zkmargin.cli import main
from zkmargin.cli.progress import LogProgress, RecentRate
from zkmargin.margin.synthetic import exchange_accounts, exchange_market

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


def first_line(cmd: list[str], *, merge: bool) -> tuple[int, bytes]:
    """``cmd | head -1`` (``merge``: ``cmd 2>&1 | head -1``): the first line, and the
    command's own exit code."""
    p = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
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
    verify = zkmargin("exchange", "verify", world["pub"], "--workers", "1")
    rc, line = first_line(verify, merge=False)
    assert rc == 0 and b"VALID" in line
    rc, line = first_line(verify, merge=True)
    assert rc == 0 and b"verify leaves: started, 0/8" in line  # the log on standard error
    rc, line = first_line(zkmargin("inclusion", "verify", mine, "--root", "ab" * 32), merge=True)
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


# ----- Ctrl-C with worker processes ------------------------------------------------------------


def _marked(mark: str) -> list[int]:
    """Live processes (zombies aside) whose environment carries ``mark``: the command and
    everything it started, wherever they were reparented."""
    psutil = pytest.importorskip("psutil")
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("ZKMARGIN_TEST_MARK") == mark:
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def ctrl_c(
    cmd: list[str], when: Callable[[int], bool], *, twice: bool = False
) -> tuple[int | None, str]:
    """Start ``cmd`` in its own process group, wait until ``when(pid)``, then send SIGINT to
    the group as a terminal's Ctrl-C does (``twice``: a second one 0.1 s later). Return the
    exit code (None if it had finished before the signal) and standard error, once no process
    it started is left."""
    mark = uuid.uuid4().hex
    env = os.environ | {"ZKMARGIN_TEST_MARK": mark}
    p = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        text=True,
    )
    deadline = time.monotonic() + 300
    while p.poll() is None and not when(p.pid):
        assert time.monotonic() < deadline, "the moment to interrupt never came"
        time.sleep(0.02)
    hit = p.poll() is None
    if hit:
        os.killpg(p.pid, signal.SIGINT)
        if twice:
            time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)  # no hang at exit
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise
    left = _marked(mark)
    for _ in range(100):  # the resource tracker leaves when it sees its parent gone
        if not left:
            break
        time.sleep(0.1)
        left = _marked(mark)
    assert not left, f"processes left behind: {left}\n{err}"
    return (p.returncode if hit else None), err


def workers_started(n: int) -> Callable[[int], bool]:
    """True once the process has ``n`` pool workers (spawned, maybe still starting)."""
    psutil = pytest.importorskip("psutil")

    def when(pid: int) -> bool:
        try:
            kids = psutil.Process(pid).children()
            return sum("spawn_main" in " ".join(k.cmdline()) for k in kids) >= n
        except psutil.Error:
            return False

    return when


def after(first: Callable[[int], bool], seconds: float) -> Callable[[int], bool]:
    since: list[float] = []

    def when(pid: int) -> bool:
        if not since and first(pid):
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] >= seconds

    return when


@pytest.mark.slow
def test_ctrl_c_publish_with_workers_keeps_the_work_and_says_how_to_resume(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Ctrl-C ``exchange publish --workers 2`` while its workers start, after one and after
    five of the eight leaves are stored, and twice in a row: each time exit 130, one message
    and no traceback, no process left; the same command then finishes the same publication."""
    d = tmp_path
    copy_inputs(world, d)
    out = d / "pub.sqlite"
    partial = Path(str(out) + ".partial")
    args = [str(a) for a in publish_args(d, out, runner=("--workers", "2"))]

    def leaves(n: int) -> Callable[[int], bool]:
        return lambda _: _partial_leaves(partial) >= n

    points = [
        ("while the workers start", workers_started(1), False),
        ("after a leaf", leaves(1), False),
        ("twice, after five leaves", leaves(5), True),
    ]
    stopped = []
    for what, when, twice in points:
        rc, err = ctrl_c(zkmargin(*args), when, twice=twice)
        if rc is None:  # the run finished first: nothing to interrupt at this point
            continue
        stopped.append(what)
        assert rc == 130, (what, err)
        assert "Traceback" not in err and "Error" not in err, (what, err)
        assert err.strip().splitlines()[-1] == (
            f"interrupted: the finished work is kept in {partial}; to resume, run the same "
            f"command: zkmargin {' '.join(args)}"
        ), (what, err)
        assert partial.exists() and not out.exists()
    assert stopped[:2] == ["while the workers start", "after a leaf"]
    done = subprocess.run(zkmargin(*args), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stdout and not partial.exists()
    assert out.read_bytes() == world["pub"].read_bytes()


@pytest.mark.slow
def test_ctrl_c_verify_with_workers_stops_cleanly(world: dict[str, Path]) -> None:
    cmd = zkmargin("exchange", "verify", world["pub"], "--workers", "2")
    expected = (
        "interrupted: nothing is kept (an audit starts over); run the same command again: "
        f"zkmargin exchange verify {world['pub']} --workers 2"
    )
    points = [
        ("while the workers start", workers_started(2), False),
        ("twice, as the workers start", workers_started(1), True),
        ("a little later", after(workers_started(2), 0.5), False),
    ]
    stopped = []
    for what, when, twice in points:
        rc, err = ctrl_c(cmd, when, twice=twice)
        if rc is None:
            continue
        stopped.append(what)
        assert rc == 130, (what, err)
        assert "Traceback" not in err and "Error" not in err, (what, err)
        assert err.strip().splitlines()[-1] == expected, (what, err)
    assert stopped[:2] == ["while the workers start", "twice, as the workers start"]


# ----- a finished publication rerun ------------------------------------------------------------


def _finished(world: dict[str, Path], d: Path) -> Path:
    copy_inputs(world, d)
    out = d / "pub.sqlite"
    shutil.copy(world["pub"], out)
    shutil.copy(world["secrets"], d / "pub.sqlite.secrets")
    return out


def test_ctrl_c_attest_says_what_was_kept(tmp_path: Path) -> None:
    """Ctrl-C ``venue attest`` once a few statements are written: exit 130, one message naming
    how many whole statements the folder holds; the rerun writes the same bytes."""
    book = tmp_path / "book"
    r = run("examples", "generate", "--exchange", "--accounts", "400", "--out-dir", book)
    assert r.exit_code == 0, r.output
    assert run("venue", "keygen", "--out", tmp_path / "v.key", "--venue", "V").exit_code == 0
    out = tmp_path / "st"
    args = zkmargin(
        "venue", "attest", "--key", tmp_path / "v.key", "--market", book / "market.json",
        "--accounts", book / "accounts.csv", "--out-dir", out,
    )  # fmt: skip

    def written(_: int) -> bool:
        return out.is_dir() and len(list(out.glob("*.statement.json"))) >= 3

    rc, err = ctrl_c(args, written)
    assert rc == 130 and "Traceback" not in err, (rc, err)  # 400 accounts: never done at 3
    last = err.strip().splitlines()[-1]
    n = int(re.search(r"interrupted: (\d+) statement\(s\) in ", last).group(1))  # type: ignore[union-attr]
    assert n >= 3 and "are whole" in last and "a rerun writes every account's again" in last
    first = {p.name: p.read_bytes() for p in out.glob("*.statement.json")}
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert all((out / name).read_bytes() == data for name, data in first.items())


def test_rerunning_a_finished_publish_does_nothing(world: dict[str, Path], tmp_path: Path) -> None:
    out = _finished(world, tmp_path)
    before = out.stat().st_mtime_ns
    r = run(*publish_args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"already complete: {out}"
    assert out.stat().st_mtime_ns == before
    assert out.read_bytes() == world["pub"].read_bytes()
    assert not Path(str(out) + ".partial").exists()


def test_publish_into_a_missing_folder_writes_nothing(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """An --out (or --secrets-out) in a folder that does not exist is refused before the
    secrets are written: one message, exit 2, no file left behind."""
    copy_inputs(world, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "missing" / "pub.sqlite"
    r = run(*publish_args(tmp_path, out, "--secrets-out", tmp_path / "pub.secrets"))
    assert r.exit_code == 2, r.output
    assert "missing" in r.output and "does not exist" in r.output
    assert "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    r = run(*publish_args(tmp_path, tmp_path / "pub.sqlite", "--secrets-out", out))
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_finished_publish_of_other_inputs_is_not_complete(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Another padding is another plan: its secrets file (this plan's) is refused as before,
    never taken for complete."""
    out = _finished(world, tmp_path)
    r = run(*publish_args(tmp_path, out, "--pad-to", "16"))
    assert r.exit_code == 2 and "already complete" not in r.output
    assert "other inputs" in r.output
    assert out.read_bytes() == world["pub"].read_bytes()


def test_publish_never_overwrites_another_file(world: dict[str, Path], tmp_path: Path) -> None:
    """An --out holding another finished publication (another epoch here), or a file that is no
    publication, is refused before anything is written; the file is untouched."""
    copy_inputs(world, tmp_path)
    other = tmp_path / "other.sqlite"
    shutil.copy(world["pub"], other)
    with sqlite3.connect(other) as conn:  # another venue's publication
        doc = json.loads(conn.execute("SELECT doc FROM header").fetchone()[0])
        conn.execute("UPDATE header SET doc = ?", (json.dumps({**doc, "venue": "Other"}),))
    conn.close()
    before = other.read_bytes()
    r = run(*publish_args(tmp_path, other))
    assert r.exit_code == 2, r.output
    assert "holds another publication (venue Other, epoch 3) whose venue differs" in r.output
    assert other.read_bytes() == before
    assert not Path(str(other) + ".secrets").exists()
    notes = tmp_path / "notes.sqlite"
    notes.write_text("my notes\n")
    r = run(*publish_args(tmp_path, notes))
    assert r.exit_code == 2 and "exists and is not a publication" in r.output, r.output
    assert notes.read_text() == "my notes\n" and not Path(str(notes) + ".secrets").exists()


def test_a_damaged_finished_publication_is_rebuilt(world: dict[str, Path], tmp_path: Path) -> None:
    out = _finished(world, tmp_path)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM leaves WHERE position = 0")
    conn.close()
    r = run(*publish_args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert "already complete" not in r.output and "published" in r.output
    assert out.read_bytes() == world["pub"].read_bytes()


# ----- progress as log lines -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def log_progress(interval: float = 30.0) -> tuple[LogProgress, Clock, io.StringIO]:
    clock, out = Clock(), io.StringIO()
    log = LogProgress(out, interval=interval, clock=clock, stamp=lambda: "T", label="publish")
    return log, clock, out


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_log_lines_at_phase_start_end_and_every_interval() -> None:
    log, clock, out = log_progress(interval=30)
    log("leaves", 0, 100)
    for t in range(1, 101):  # one leaf a second
        clock.now = float(t)
        log("leaves", t, 100)
        log.tick()
    assert lines(out) == [
        "T publish leaves: started, 0/100",
        "T publish leaves: 30/100 (30 %), 1/s, about 1 min 10 s left",
        "T publish leaves: 60/100 (60 %), 1/s, about 40 s left",
        "T publish leaves: 90/100 (90 %), 1/s, about 10 s left",
        "T publish leaves: done, 100/100 in 1 min 40 s (1/s on average)",
    ]
    log("nodes", 0, 4)
    clock.now += 5
    log.tick()  # not yet due
    log.close(ok=False)  # Ctrl-C
    assert lines(out)[-2:] == [
        "T publish nodes: started, 0/4",
        "T publish nodes: stopped at 0/4 after 5 s",
    ]


def test_time_left_follows_the_recent_rate() -> None:
    """A phase that speeds up (1/s for 100 s, then 10/s): the time left comes from the last
    minute's rate, not the whole phase's average (which would say 68 s here)."""
    log, clock, out = log_progress(interval=30)
    log("leaves", 0, 1000)
    for t in range(1, 101):
        clock.now = float(t)
        log("leaves", t, 1000)
    for t in range(101, 161):
        clock.now = float(t)
        log("leaves", 100 + 10 * (t - 100), 1000)
    log.tick()
    assert lines(out)[-1] == "T publish leaves: 700/1000 (70 %), 10/s, about 30 s left"


def test_time_left_ignores_the_workers_start() -> None:
    """20 s before the first leaf (workers starting), then a leaf a second: 89 s left, where the
    average since the start (11 in 30 s) would say four minutes."""
    log, clock, out = log_progress(interval=30)
    log("leaves", 0, 100)
    for t in range(20, 31):
        clock.now = float(t)
        log("leaves", t - 19, 100)
    log.tick()
    assert lines(out)[-1] == "T publish leaves: 11/100 (11 %), 1/s, about 1 min 29 s left"


def test_steps_and_an_unknown_rate() -> None:
    log, clock, out = log_progress(interval=10)
    log.step("margin figures")
    clock.now = 12
    log.tick()
    log("leaves", 0, 8)  # a phase within the step
    clock.now = 25
    log.tick()
    log.step("crypto")
    clock.now = 26
    log.close()
    assert lines(out) == [
        "T publish margin figures: started",
        "T publish margin figures: running for 12 s",
        "T publish leaves: started, 0/8",
        "T publish leaves: 0/8 (0 %), rate not known yet, time left not known yet",
        "T publish leaves: stopped at 0/8 after 13 s",
        "T publish crypto: started",
        "T publish crypto: done after 1 s",
    ]


def test_recent_rate_window() -> None:
    rate = RecentRate(window=10)
    rate.update(0, 0)
    assert rate.rate() is None
    rate.update(5, 5)
    assert rate.rate() is None  # one finished sample: no rate yet
    rate.update(6, 6)
    assert rate.rate() == pytest.approx(1.0)
    for t in range(7, 40):
        rate.update(t, 6 + 3 * (t - 6))
    assert rate.rate() == pytest.approx(3.0)


def test_commands_log_their_phases_when_stderr_is_not_a_terminal(
    world: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    with log.open("w") as err:
        p = subprocess.run(
            zkmargin("exchange", "verify", world["pub"], "--workers", "1"),
            stdout=subprocess.PIPE,
            stderr=err,
            env=os.environ | {"ZKMARGIN_PROGRESS_INTERVAL": "0.05"},
            timeout=300,
        )
    assert p.returncode == 0
    text = log.read_text()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    for phase, total in (("leaves", 8), ("nodes", 1)):
        assert re.search(rf"^{stamp} verify {phase}: started, 0/{total}$", text, re.M), text
        assert re.search(rf"^{stamp} verify {phase}: done, {total}/{total} in ", text, re.M), text
    for line in text.splitlines():
        assert re.fullmatch(rf"{stamp} verify (leaves|nodes): .*", line), line
    r = run(
        "venue",
        "attest",
        "--key",
        world["key"],
        "--market",
        world["market"],
        "--accounts",
        world["accounts"],
        "--out-dir",
        tmp_path / "statements",
    )
    assert r.exit_code == 0, r.output
    assert re.search(r"attest statements: started, 0/6$", r.stderr, re.M), r.stderr
    assert re.search(r"attest statements: done, 6/6 in ", r.stderr), r.stderr


# ----- example books for the exchange ----------------------------------------------------------


def test_examples_generate_exchange_writes_a_publishable_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = run("examples", "generate", "--exchange", "--accounts", "6")
    assert r.exit_code == 2 and "--out-dir" in r.output
    assert list(tmp_path.iterdir()) == []  # nothing written without a folder named
    book = tmp_path / "book"
    r = run("examples", "generate", "--exchange", "--accounts", "6", "--out-dir", book)
    assert r.exit_code == 0, r.output
    assert re.search(r"6 accounts: (\d+ cross|\d+ cross, \d+ isolated); \d+ below", r.output)
    assert sorted(p.name for p in book.iterdir()) == [
        "accounts.csv",
        "market.json",
        "reserves.json",
    ]
    assert run("venue", "keygen", "--out", tmp_path / "venue.key").exit_code == 0
    (book / "venue.key").symlink_to(tmp_path / "venue.key")
    out = tmp_path / "pub.sqlite"
    r = run(*publish_args(book, out))
    assert r.exit_code == 0, r.output
    assert run("exchange", "verify", out).exit_code == 0


def test_examples_generate_exchange_every_account_publishes(tmp_path: Path) -> None:
    """A generated book with accounts below maintenance and bankrupt ones: the plan of its
    publication takes every account (no refusal), writes the bankrupt ones off, and the
    generated reserves cover the totals the leaves commit to."""
    from zkmargin.exchange import load_reserves, load_venue_key
    from zkmargin.formats.market import canonical_market, market_digest
    from zkmargin.liabilities.leaf import liability_columns
    from zkmargin.liabilities.plan import make_plan
    from zkmargin.margin.market import compile_market, load_snapshot
    from zkmargin.margin.table_io import load_table

    book = tmp_path / "book"
    r = run(
        "examples", "generate", "--exchange", "--accounts", "60", "--below", "0.3",
        "--bankrupt", "0.2", "--out-dir", book,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    found = re.search(r"; (\d+) below maintenance, (\d+) of them bankrupt", r.output)
    assert found is not None, r.output
    unhealthy, bankrupt = int(found.group(1)), int(found.group(2))
    assert unhealthy > bankrupt > 0 and "takes them all" in r.output
    assert run("venue", "keygen", "--out", book / "venue.key").exit_code == 0
    key = load_venue_key(book / "venue.key")
    snap = load_snapshot(book / "market.json")
    market = compile_market(snap)
    plan = make_plan(
        key=key,
        market=market,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=snap.epoch,
        accounts=list(load_table(book / "accounts.csv", market).accounts()),
        reserves=load_reserves(
            book / "reserves.json", liability_columns(market), venue=key.venue, epoch=snap.epoch
        ),
        pad_to=None,
        decoys=0,
        file="accounts.csv",
    )
    assert plan.bankrupt == bankrupt and len(plan.accounts) == 60


def test_examples_generate_exchange_mode_mix(tmp_path: Path) -> None:
    market = exchange_market(1)
    assert set(exchange_accounts(market, 50).mode) == {0}  # cross by default: what publishes
    mixed = exchange_accounts(market, 200, modes={"cross": 1, "isolated": 1})
    assert set(mixed.mode) == {0, 1}
    assert (mixed.pos_isolated[mixed.mode[mixed.pos_account] == 1] > 0).all()
    assert (mixed.pos_isolated[mixed.mode[mixed.pos_account] == 0] == 0).all()
    for bad in ({"spot": 1.0}, {"cross": 0.0}, {"cross": -1.0}, {"portfolio": 1.0}):
        with pytest.raises(ValueError):
            exchange_accounts(market, 5, modes=bad)
    d = tmp_path / "d"
    r = run("examples", "generate", "--exchange", "--modes", "cross=x", "--out-dir", d)
    assert r.exit_code == 2 and "--modes" in r.output and not d.exists()


def test_generate_py_needs_a_folder_and_rebuilds_the_bundled_book(tmp_path: Path) -> None:
    script = ROOT / "examples" / "exchange" / "generate.py"
    p = subprocess.run([sys.executable, script], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2 and "--out-dir" in p.stderr
    assert list(tmp_path.iterdir()) == []
    p = subprocess.run(
        [sys.executable, script, "--out-dir", tmp_path / "x"], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    for name in ("market.json", "accounts.csv", "reserves.json"):
        assert (tmp_path / "x" / name).read_bytes() == (script.parent / name).read_bytes(), name


# ----- the documentation of the commands -------------------------------------------------------


def _commands(group: click.Group, prefix: str = "zkmargin") -> list[str]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            out += _commands(cmd, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells (``\\|`` is a pipe inside a cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_cli_md_command_table_is_one_table_with_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    lines = text.splitlines()
    start = lines.index("| command | what it does |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert all(len(_cells(r)) == 2 for r in rows), [r[:60] for r in rows if len(_cells(r)) != 2]
    listed = [_cells(r)[0] for r in rows]
    for command in _commands(main):
        assert any(cell.startswith(f"`{command}") for cell in listed), command
    # no command row outside the table (a blank line would leave the rest as plain text)
    outside = [ln for ln in lines if ln.startswith("| `zkmargin") and ln not in rows]
    assert outside == []


def test_trader_and_auditor_docs_walk_through_the_commands() -> None:
    docs = ROOT / "docs"
    trader = (docs / "trader.md").read_text()
    order = [
        "$ zkmargin venue keygen",
        "$ zkmargin venue attest",
        "$ zkmargin prove",
        "$ zkmargin verify",
        "$ zkmargin inclusion verify",
    ]
    positions = [trader.index(cmd) for cmd in order]
    assert positions == sorted(positions)
    for printed in ("wrote venue.key", "attested 1 account", "VALID cross proof", "INCLUDED:"):
        assert printed in trader, printed
    auditor = (docs / "auditor.md").read_text()
    for needed in ("exchange verify", "--venue-key", "inclusion verify", "| 130 |", "root hash"):
        assert needed in auditor, needed
    assert "(auditor.md)" in (docs / "index.md").read_text()


def test_examples_generate_exchange_writes_all_three_or_none(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "reserves.json").mkdir(parents=True)  # cannot be replaced
    r = run("examples", "generate", "--exchange", "--accounts", "3", "--out-dir", book)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1, r.output
    assert sorted(p.name for p in book.iterdir()) == ["reserves.json"]


def test_time_left_counts_the_wait_since_the_last_burst() -> None:
    """Two workers finish a batch of 8 each at 15 s and 16 s, then nothing until a tick at
    45 s: 8 leaves in the 30 s since the first batch, not the 8/s of the burst."""
    log, clock, out = log_progress(interval=30)
    log("leaves", 0, 64)
    for t, done in ((15.0, 8), (16.0, 16)):
        clock.now = t
        log("leaves", done, 64)
    clock.now = 45.0
    log.tick()
    assert lines(out)[-1] == "T publish leaves: 16/64 (25 %), 0.267/s, about 3 min 00 s left"
