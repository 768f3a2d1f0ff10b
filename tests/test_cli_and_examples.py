"""The command line and the runnable examples."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_and_every_check_behaves() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "all checks behaved as expected" in result.output
    assert "UNEXPECTED" not in result.output
    assert "rejected" in result.output and "accepted" in result.output


def test_unknown_backend_is_a_clean_error() -> None:
    result = CliRunner().invoke(main, ["--backend", "gpu", "demo"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_console_script_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zkmargin.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "demo" in proc.stdout


# generate_accounts.py writes files; test_formats_and_cli runs it with arguments.
SCRIPTS = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "generate_accounts.py")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
