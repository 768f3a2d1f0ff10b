"""Options that more than one command takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import api


def layout_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--decoys``, ``--layout`` and ``--min-share``: which slots each statement holds."""
    f = click.option(
        "--min-share",
        type=click.IntRange(1, 1 << 20),
        default=api.MIN_SHARE,
        show_default=True,
        help="With --layout shared: the least number of accounts sharing a layout.",
    )(f)
    f = click.option(
        "--layout",
        type=click.Choice(["shared", "own"]),
        default="shared",
        show_default=True,
        help="shared: every statement's slot layout is shared by at least --min-share accounts "
        "of its mode (decoy slots fill the rest); own: each account's holdings (smaller, and "
        "traceable from epoch to epoch).",
    )(f)
    return click.option(
        "--decoys",
        type=click.IntRange(0, 64),
        default=0,
        show_default=True,
        help="With --layout own: zero-valued slots per account for other assets or instruments.",
    )(f)
