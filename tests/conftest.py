"""Shared fixtures: the backend parametrisation and the reference data in ../shared."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zkmargin import group

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZKMARGIN_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Stop with one clear line when the reference data is not where the tests expect it; and
    make Ctrl-C reach the commands the tests start. A shell starts a background job (``make
    test &``, a CI runner's job) with SIGINT ignored, which every process it starts inherits:
    the tests that interrupt a command would then see it run on. Handling SIGINT here again
    gives every child the default disposition."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not DATA.is_dir():
        pytest.exit(
            f"the reference data is missing: expected {DATA} (the shared/ folder beside this "
            "checkout, or set ZKMARGIN_SHARED to it)",
            returncode=4,
        )


def load_json(path: Path) -> Any:
    with path.open() as f:
        return json.load(f)


BACKENDS = [
    pytest.param("native", id="native"),
    pytest.param("reference", id="reference", marks=pytest.mark.slow),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per backend (the reference one is marked slow)."""
    with group.using(request.param):
        yield request.param


@pytest.fixture
def both_backends() -> list[str]:
    return ["native", "reference"]
