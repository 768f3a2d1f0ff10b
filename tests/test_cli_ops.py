"""The command line as an operator meets it: closed pipes, Ctrl-C with worker processes, logs
when standard error is not a terminal, a finished publication rerun, the curve backend named by
the environment."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_exchange import _partial_leaves, account_ids, copy_inputs, publish_args, run, world

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
        assert err.strip().splitlines() == [expected], (what, err)
    assert stopped[:2] == ["while the workers start", "twice, as the workers start"]


# ----- a finished publication rerun ------------------------------------------------------------


def _finished(world: dict[str, Path], d: Path) -> Path:
    copy_inputs(world, d)
    out = d / "pub.sqlite"
    shutil.copy(world["pub"], out)
    shutil.copy(world["secrets"], d / "pub.sqlite.secrets")
    return out


def test_rerunning_a_finished_publish_does_nothing(world: dict[str, Path], tmp_path: Path) -> None:
    out = _finished(world, tmp_path)
    before = out.stat().st_mtime_ns
    r = run(*publish_args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"already complete: {out}"
    assert out.stat().st_mtime_ns == before
    assert out.read_bytes() == world["pub"].read_bytes()
    assert not Path(str(out) + ".partial").exists()


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


def test_a_damaged_finished_publication_is_rebuilt(world: dict[str, Path], tmp_path: Path) -> None:
    out = _finished(world, tmp_path)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM leaves WHERE position = 0")
    conn.close()
    r = run(*publish_args(tmp_path, out))
    assert r.exit_code == 0, r.output
    assert "already complete" not in r.output and "published" in r.output
    assert out.read_bytes() == world["pub"].read_bytes()
