"""Progress of long work on standard error: a bar over named steps, only on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def steps(total: int) -> Iterator[Callable[[str], None]]:
    """Yield ``step(name)``; on a terminal, a bar advances over ``total`` steps with the
    elapsed time, each step named as it starts."""
    if not sys.stderr.isatty():
        yield lambda _: None
        return
    start = time.perf_counter()
    with click.progressbar(length=total, file=sys.stderr, show_eta=False) as bar:
        first = True

        def step(name: str) -> None:
            nonlocal first
            if not first:
                bar.update(1)
            first = False
            bar.label = f"{name} ({time.perf_counter() - start:.1f} s)"
            bar.render_progress()

        yield step
        bar.update(1)
