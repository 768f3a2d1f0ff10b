"""Every input and output path (issue #8): each bad input gets exit 2, one line naming the file,
no traceback and no output left behind; outputs are safe; exit codes are the documented ones."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zkmargin.cli import main

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples" / "trader"
MARKET = EX / "market.json"
ACCOUNT = EX / "account.json"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_bad_input(r: Result, *needles: str) -> None:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    for n in needles:
        assert n in r.output, (n, r.output)


def _market_doc() -> dict[str, Any]:
    return json.loads(MARKET.read_text())


def _write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def report(market: Path, accounts: Path, *extra: str) -> Result:
    return run("margin", "report", "--market", market, "--accounts", accounts, *extra)


# ----- one strict reader ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        (
            "dup",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a","cash":"1","cash":"9"}]}',
            "duplicate key",
        ),
        ("deep", "[" * 5000 + "]" * 5000, "nested deeper"),
        (
            "nan",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a","cash":NaN}]}',
            "not a number",
        ),
        (
            "underscore",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a","cash":"1_000"}]}',
            "1_000",
        ),
        (
            "newline_id",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a\\nb","cash":"1"}]}',
            "control characters",
        ),
        (
            "huge",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a","cash":"1'
            + "0" * 40
            + '"}]}',
            "10^36",
        ),
        (
            "no_entry",
            '{"format":"zkmargin.accounts","version":1,"accounts":[{"id":"a","positions":[{"instrument":"BTCUSDT","size":"1"}]}]}',
            "entry_price",
        ),
    ],
)
def test_bad_json_accounts(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = _write(tmp_path / f"{name}.json", text)
    assert_bad_input(report(MARKET, path), str(path), needle)


def test_binary_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(bytes(range(128, 256)))
    assert_bad_input(report(MARKET, path), str(path), "UTF-8")


def test_json_with_a_byte_order_mark_is_accepted_as_csv_is(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + ACCOUNT.read_bytes())
    assert report(MARKET, path).exit_code == 0
    csv = tmp_path / "bom.csv"
    csv.write_bytes(
        b"\xef\xbb\xbfaccount_id,mode,kind,symbol,amount,entry_price,quote,isolated_margin\n"
        b"a,cross,cash,,1,,,\n"
    )
    assert report(MARKET, csv).exit_code == 0


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        (
            "unknown_column",
            "account_id,kind,symbol,amount,colour\na,cash,,1,red\n",
            "unknown columns",
        ),
        (
            "no_mode",
            "account_id,kind,symbol,amount,entry_price,isolated_margin\na,position,BTCUSDT,1,60000,100\n",
            "no mode column",
        ),
        ("huge", "account_id,kind,symbol,amount\na,cash,,1" + "0" * 40 + "\n", "10^36"),
        ("underscore", "account_id,kind,symbol,amount\na,cash,,1_000\n", "1_000"),
        ("newline_id", 'account_id,kind,symbol,amount\n"a\nb",cash,,1\n', "control characters"),
    ],
)
def test_bad_csv_accounts(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = _write(tmp_path / f"{name}.csv", text)
    assert_bad_input(report(MARKET, path), str(path), needle)


@pytest.mark.parametrize(
    ("name", "change", "needle"),
    [
        (
            "zero_contract_value",
            lambda m: m["instruments"][3].update(contract_value="0"),
            "contract_value",
        ),
        ("settle_priced_zero", lambda m: m["assets"][0].update(price="0"), "priced at 0"),
        ("decimals_string", lambda m: m["assets"][0].update(decimals="6"), "decimals"),
        ("decimals_float", lambda m: m["assets"][0].update(decimals=6.0), "decimals"),
        (
            "span_missing_range",
            lambda m: m["portfolio"]["grid"].pop("price_range"),
            "preset.price_range",
        ),
    ],
)
def test_market_fields_accepted_but_wrong(
    tmp_path: Path, name: str, change: Any, needle: str
) -> None:
    doc = _market_doc()
    change(doc)
    path = _write(tmp_path / f"{name}.json", doc)
    assert_bad_input(report(path, ACCOUNT), str(path), needle)


@pytest.mark.parametrize("theta", ["abc", "-1", "0", "1001", "NaN"])
def test_bad_threshold(theta: str) -> None:
    assert_bad_input(report(MARKET, ACCOUNT, "--threshold", theta), "threshold")


# ----- safe outputs ---------------------------------------------------------------------------


def test_out_dash_is_standard_output() -> None:
    r = report(MARKET, ACCOUNT, "--format", "json", "--out", "-")
    assert r.exit_code == 0 and json.loads(r.output)["accounts"][0]["account"] == "alice"


def test_out_never_replaces_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_bad_input(report(MARKET, ACCOUNT, "--out", fifo), str(fifo), "not a regular file")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert_bad_input(report(MARKET, ACCOUNT, "--out", "/dev/null"), "/dev/null")


def test_format_follows_the_extension_never_text_in_parquet(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    assert_bad_input(report(MARKET, ACCOUNT, "--format", "json", "--out", out), "contradicts")
    assert not out.exists()
    assert report(MARKET, ACCOUNT, "--out", out).exit_code == 0
    assert out.read_bytes()[:4] == b"PAR1"
    assert report(MARKET, ACCOUNT, "--out", tmp_path / "r.json").exit_code == 0
    json.loads((tmp_path / "r.json").read_text())


def test_public_outputs_follow_the_umask_and_secrets_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert report(MARKET, ACCOUNT, "--out", tmp_path / "r.csv").exit_code == 0
        assert run("venue", "keygen", "--out", tmp_path / "v.key").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.csv").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "v.pub").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "v.key").stat().st_mode) == 0o600


def test_examples_generate_writes_both_files_or_neither(tmp_path: Path) -> None:
    def generate(market_out: Path, accounts_out: str | Path) -> Result:
        return run(
            "examples",
            "generate",
            "--accounts",
            "5",
            "--market-out",
            market_out,
            "--accounts-out",
            accounts_out,
        )

    m = tmp_path / "m.json"
    assert_bad_input(generate(m, "/proc/x.csv"), "/proc/x.csv")
    assert not m.exists()
    assert_bad_input(generate(m, m), "two different files")
    assert_bad_input(generate(tmp_path / "no" / "dir" / "m.txt", tmp_path / "a.csv"), ".json")
    assert not (tmp_path / "a.csv").exists()


# ----- exit codes -----------------------------------------------------------------------------


def test_unknown_backend_in_the_environment_is_not_a_traceback() -> None:
    env = {**os.environ, "ZKMARGIN_BACKEND": "foo"}
    help_ = subprocess.run(
        [sys.executable, "-m", "zkmargin", "--help"], capture_output=True, text=True, env=env
    )
    assert help_.returncode == 0 and "Traceback" not in help_.stderr
    demo = subprocess.run(
        [sys.executable, "-m", "zkmargin", "demo"], capture_output=True, text=True, env=env
    )
    assert demo.returncode == 2 and "Traceback" not in demo.stderr and "foo" in demo.stderr


def test_an_internal_error_says_so_and_shows_a_traceback_only_with_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zkmargin import api

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(api, "margin_report", broken)
    r = report(MARKET, ACCOUNT)
    assert r.exit_code == 3 and "internal error" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(
        main, ["--debug", "margin", "report", "--market", str(MARKET), "--accounts", str(ACCOUNT)]
    )
    assert isinstance(r.exception, ZeroDivisionError)


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zkmargin",
            "examples",
            "generate",
            "--accounts",
            "3000000",
            "--market-out",
            str(tmp_path / "m.json"),
            "--accounts-out",
            str(tmp_path / "a.parquet"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # interrupt it in the middle of the work, not during start-up: after 4 s of its own CPU time
    # (imports take about 1.5 s; generating a million accounts takes 20 s or more)
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / ticks >= 4:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the generation finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (tmp_path / "m.json").exists()


def test_missing_reference_data_is_one_clear_line() -> None:
    """`make test` without ../shared says what is missing and where it is expected."""
    env = {**os.environ, "ZKMARGIN_SHARED": "/nonexistent/shared"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/test_pedersen.py"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "/nonexistent/shared/data" in out and "Traceback" not in out
