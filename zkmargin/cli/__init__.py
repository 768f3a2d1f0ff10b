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
from .exchange import exchange
from .inclusion import inclusion
from .liquidation import equivocation, liquidation, prove_liquidation, verify_liquidation
from .margin import margin
from .trader import prove
from .venue import venue

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class ZkMarginGroup(click.Group):
    """A click group that turns every failure into one line and a documented exit code:
    bad input 2, an unexpected internal error 3 (its traceback only with ``--debug``),
    Ctrl-C 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ZkMarginError, ValueError, OSError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                exc = ValueError("input nested too deeply")
            click.echo(f"error: {_one_line(exc)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug") or ctx.find_root().params.get("debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                "(this is a bug; run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None


def _one_line(exc: BaseException) -> str:
    """An error's message on one line (control characters shown escaped)."""
    text = str(exc) or type(exc).__name__
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@click.group(cls=ZkMarginGroup)
@click.option(
    "--backend",
    type=click.Choice(api.available_backends()),
    envvar="ZKMARGIN_BACKEND",
    default="native",
    show_default=True,
    help="Curve backend: native (arkworks) or reference (pure Python, slow).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.version_option(package_name="zkmargin")
def main(backend: str, debug: bool) -> None:
    """Zero-knowledge proofs that leveraged trading accounts are solvent.

    Exit codes: 0 ok; 1 an invalid proof or an account not healthy enough; 2 bad input;
    3 an internal error; 130 interrupted.
    """
    api.use_backend(backend)


main.add_command(demo)
main.add_command(margin)
main.add_command(examples)
main.add_command(venue)
main.add_command(prove)
main.add_command(verify)

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_INVALID", "main"]
main.add_command(exchange)
main.add_command(inclusion)
venue.add_command(prove_liquidation)
main.add_command(verify_liquidation)
main.add_command(liquidation)
main.add_command(equivocation)
