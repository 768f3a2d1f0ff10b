"""The ``zkmargin`` command line: one module per command group, each a thin adapter over
:mod:`zkmargin.api`.

Exit codes: 0 success (or a valid proof), 1 an invalid proof or a failed check, 2 bad input.
Bad input gets one line on stderr, never a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from .. import api
from ..api import ZkMarginError
from .auditor import verify
from .demo import demo
from .examples import examples
from .margin import margin
from .trader import prove
from .venue import venue

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


class ZkMarginGroup(click.Group):
    """A click group that turns expected errors into one clear message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ZkMarginError, ValueError, OSError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=ZkMarginGroup)
@click.option(
    "--backend",
    type=click.Choice(api.available_backends()),
    envvar="ZKMARGIN_BACKEND",
    default="native",
    show_default=True,
    help="Curve backend: native (arkworks) or reference (pure Python, slow).",
)
@click.version_option(package_name="zkmargin")
def main(backend: str) -> None:
    """Zero-knowledge proofs that leveraged trading accounts are solvent."""
    api.use_backend(backend)


main.add_command(demo)
main.add_command(margin)
main.add_command(examples)
main.add_command(venue)
main.add_command(prove)
main.add_command(verify)

__all__ = ["EXIT_BAD_INPUT", "EXIT_INVALID", "main"]
