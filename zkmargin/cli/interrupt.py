"""What Ctrl-C says: a command names what it keeps and how to go on; the group
(:class:`zkmargin.cli.ZkMarginGroup`) prints it with the exact command line that was run.

Ctrl-C raises :class:`KeyboardInterrupt` once; later ones, while the command stops its workers
(a bounded stop, see :class:`zkmargin.liabilities.parallel.LocalPool`) and says so, are ignored,
so a second Ctrl-C cannot cut the stop short and leave processes behind.
"""

from __future__ import annotations

import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import click

_NOTE = "zkmargin.interrupt-note"


def when_interrupted(note: Callable[[], str]) -> None:
    """Have an interrupt of the current command say ``note()`` (evaluated then, so that it can
    look at what is on disk): what was kept and what to run."""
    click.get_current_context().meta[_NOTE] = note


def message(ctx: click.Context | None, argv: tuple[str, ...]) -> str:
    """``interrupted``, with the command's note and the command line to run again."""
    note = ctx.meta.get(_NOTE) if ctx is not None else None
    if note is None:
        return "interrupted"
    return f"interrupted: {note()}: {shlex.join(['zkmargin', *argv])}"


#: Set by the command line's entry point (a process that exits after the command): there a
#: second Ctrl-C stays ignored until the process is gone. Elsewhere (the commands run in
#: process, as by tests or an embedding program) the previous handler comes back, so that the
#: process, and every process it starts later, can still be interrupted.
HOLD_AFTER_FIRST = False


@contextmanager
def once() -> Iterator[None]:
    """The first Ctrl-C raises :class:`KeyboardInterrupt`; from then on SIGINT is ignored (until
    the process exits, in the command line's own process; until the command ends, otherwise)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    fired = False

    def first(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        fired = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        if not fired or not HOLD_AFTER_FIRST:
            signal.signal(signal.SIGINT, signal.default_int_handler)
