"""The ``zkmargin`` command line: one module per command group, each a thin adapter over
:mod:`zkmargin.api`.

Exit codes: 0 success (or a valid proof), 1 an invalid proof or a failed check, 2 bad input.
Bad input gets one line on stderr, never a traceback.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

from .. import api
from ..api import ZkMarginError
from . import interrupt
from .auditor import verify
from .demo import demo
from .examples import examples
from .exchange import exchange
from .inclusion import inclusion
from .interrupt import message as interrupt_message
from .interrupt import once as interrupt_once
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
            click.echo(interrupt_message(ctx, self._argv), err=True)
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

    _argv: tuple[str, ...] = ()

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        """As click's, with standard output and error that survive a closed pipe and one
        Ctrl-C that stops the command (see :mod:`.interrupt`)."""
        self._argv = tuple(sys.argv[1:] if args is None else args)
        with _quiet_on_closed_pipes(), interrupt_once():
            try:
                return super().main(list(self._argv), *rest, **kwargs)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                raise SystemExit(EXIT_INTERRUPTED) from None


class _DropAfterEpipe(io.RawIOBase):
    """Writes to a file descriptor; once its reader has gone (EPIPE, as after ``| head -1``)
    the descriptor is pointed at /dev/null, as the Python documentation recommends, and the rest
    is dropped: the command runs on and exits with its own code (a verdict's 0 or 1)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        view = memoryview(data)
        try:
            return os.write(self._fd, view)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._fd)
            finally:
                os.close(devnull)
            return view.nbytes


def _guarded(stream: TextIO | None) -> TextIO | None:
    """``stream`` rebuilt over :class:`_DropAfterEpipe` (None if it has no descriptor, as under
    click's test runner)."""
    if stream is None:
        return None
    try:
        fd = stream.fileno()
        stream.flush()
    except (OSError, ValueError, AttributeError):
        return None
    return io.TextIOWrapper(
        io.BufferedWriter(_DropAfterEpipe(fd)),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=bool(stream.line_buffering) or stream is sys.__stderr__,
        write_through=True,
    )


@contextmanager
def _quiet_on_closed_pipes() -> Iterator[None]:
    """Standard output and error that survive a closed pipe (see :class:`_DropAfterEpipe`)."""
    saved = sys.stdout, sys.stderr
    out = _guarded(sys.stdout) if sys.stdout is sys.__stdout__ else None
    err = _guarded(sys.stderr) if sys.stderr is sys.__stderr__ else None
    if out is not None:
        sys.stdout = out
    if err is not None:
        sys.stderr = err
    try:
        yield
    finally:
        for new in (out, err):
            if new is not None:
                new.flush()
        sys.stdout, sys.stderr = saved


def _one_line(exc: BaseException) -> str:
    """An error's message on one line (control characters shown escaped)."""
    text = str(exc) or type(exc).__name__
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class BadInput(click.ClickException):
    """One line on standard error, ``error: …``, and exit 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


BACKEND_VARIABLE = "ZKMARGIN_BACKEND"


def _backend(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The backend's name, refused by where it came from: the option or the variable."""
    names = api.available_backends()
    if value in names:
        return value
    choices = " or ".join(names)
    if ctx.get_parameter_source("backend") is click.core.ParameterSource.ENVIRONMENT:
        raise BadInput(f"{BACKEND_VARIABLE}={value}: unknown curve backend; choose {choices}")
    raise click.BadParameter(f"{value!r}: unknown curve backend; choose {choices}")


@click.group(cls=ZkMarginGroup)
@click.option(
    "--backend",
    metavar="[" + "|".join(api.available_backends()) + "]",
    callback=_backend,
    envvar=BACKEND_VARIABLE,
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


def entry() -> None:
    """The ``zkmargin`` program: :data:`main` in a process of its own (a second Ctrl-C stays
    ignored while it stops)."""
    interrupt.HOLD_AFTER_FIRST = True
    main()


__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_INVALID", "entry", "main"]
main.add_command(exchange)
main.add_command(inclusion)
venue.add_command(prove_liquidation)
main.add_command(verify_liquidation)
main.add_command(liquidation)
main.add_command(equivocation)
