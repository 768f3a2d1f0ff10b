"""Progress of long work on standard error, for every command that does long work.

On a terminal: one click progress bar per phase, labelled with the phase and its recent rate.
Otherwise (``2> log``, CI, nohup): log lines, one when a phase starts, one when it ends, and one
every ``interval`` seconds while it runs (30 s; ``ZKMARGIN_PROGRESS_INTERVAL`` changes it),
each with the phase, done/total, the rate and the time left. Rate and time left come from the
recent rate (a sliding window of the last minute, counted from the phase's first finished item,
so that starting the workers does not count as slow work), not from the whole run's average.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import click

#: progress(phase, done, total)
PhaseProgress = Callable[[str, int, int], None]

INTERVAL = 30.0
WINDOW = 60.0
INTERVAL_VARIABLE = "ZKMARGIN_PROGRESS_INTERVAL"


def interval_from_env() -> float:
    """The log interval: ``ZKMARGIN_PROGRESS_INTERVAL`` seconds if set to a positive number."""
    text = os.environ.get(INTERVAL_VARIABLE, "")
    try:
        value = float(text)
    except ValueError:
        return INTERVAL
    return value if value > 0 else INTERVAL


class RecentRate:
    """Items per second over the last ``window`` seconds of updates. The window starts at the
    first update that finishes something, so the time before it (workers starting) is not
    taken for slow work."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self._start: int | None = None

    def update(self, now: float, done: int) -> None:
        if self._start is None:
            self._start = done
            return
        if not self._samples and done <= self._start:
            return
        self._samples.append((now, done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()

    def rate(self, now: float | None = None) -> float | None:
        """Items per second from the window's first sample to ``now`` (default: the last
        sample): counting the time since the last item finished too keeps items that finish in
        bursts (a batch per worker) from looking fast."""
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if now is not None:
            t1 = max(t1, now)
        if t1 <= t0 or d1 <= d0:
            return None
        return (d1 - d0) / (t1 - t0)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def rate_text(rate: float | None) -> str:
    if rate is None:
        return "rate not known yet"
    return f"{rate:.3g}/s" if rate < 100 else f"{rate:.0f}/s"


@dataclass
class _Phase:
    name: str
    total: int | None  # None: a step, without counts
    started: float
    done: int = 0
    rate: RecentRate = field(default_factory=RecentRate)
    last_line: float = 0.0


class LogProgress:
    """``progress(phase, done, total)`` and ``step(name)`` as log lines on ``stream`` (see the
    module docstring). ``clock`` (monotonic seconds), ``stamp`` (the wall-clock text that starts
    a line) and ``interval`` are injectable for tests; :meth:`tick` writes the periodic line
    when one is due (a thread calls it every second, see :func:`phases`)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = INTERVAL,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        stamp: Callable[[], str] | None = None,
        label: str = "",
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.window = window
        self.clock = clock
        self.stamp = stamp or (lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.prefix = f"{label} " if label else ""
        self._phase: _Phase | None = None
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(f"{self.stamp()} {self.prefix}{text}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed log is no reason to stop the work
            pass

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            now = self.clock()
            p = self._phase
            if p is None or p.name != phase or p.total != total:
                if p is not None and p.total is None:
                    self._phase = None  # a phase within a step: the step goes on
                self._end(now, ok=False)
                p = self._phase = _Phase(phase, total, now, done, RecentRate(self.window), now)
                p.rate.update(now, done)
                self._write(f"{phase}: started, {done}/{total}")
            else:
                p.done = done
                p.rate.update(now, done)
            if done >= total:
                self._end(now, ok=True)

    def step(self, name: str) -> None:
        """A step without counts; it ends when the next one starts or at :meth:`close`."""
        with self._lock:
            now = self.clock()
            self._end(now, ok=True)
            self._phase = _Phase(name, None, now, last_line=now)
            self._write(f"{name}: started")

    def _end(self, now: float, *, ok: bool) -> None:
        p = self._phase
        if p is None:
            return
        self._phase = None
        took = duration(now - p.started)
        if p.total is None:
            self._write(f"{p.name}: {'done' if ok else 'stopped'} after {took}")
        elif p.done >= p.total:
            average = p.total / (now - p.started) if now > p.started else None
            self._write(
                f"{p.name}: done, {p.done}/{p.total} in {took}"
                + (f" ({rate_text(average)} on average)" if average else "")
            )
        else:
            self._write(f"{p.name}: stopped at {p.done}/{p.total} after {took}")

    def tick(self) -> None:
        """Write the running phase's line if ``interval`` seconds passed since its last one."""
        with self._lock:
            p = self._phase
            now = self.clock()
            if p is None or now - p.last_line < self.interval:
                return
            p.last_line = now
            if p.total is None:
                self._write(f"{p.name}: running for {duration(now - p.started)}")
                return
            rate = p.rate.rate(now)
            left = (
                f"about {duration((p.total - p.done) / rate)} left"
                if rate
                else "time left not known yet"
            )
            pct = f" ({100 * p.done // p.total} %)" if p.total else ""
            self._write(f"{p.name}: {p.done}/{p.total}{pct}, {rate_text(rate)}, {left}")

    def close(self, ok: bool = True) -> None:
        """End the running phase or step: a step done (if ``ok``), a phase short of its total
        stopped."""
        with self._lock:
            self._end(self.clock(), ok=ok)


class BarProgress:
    """``progress(phase, done, total)`` as one labelled click bar per phase (a terminal), and
    ``step(name)`` as a bar of one, filled when the next starts."""

    def __init__(
        self, stream: TextIO, *, label: str = "", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.prefix = f"{label} " if label else ""
        self.clock = clock
        self._bar: Any = None
        self._phase: tuple[str, int] | None = None
        self._step = False
        self._rate = RecentRate()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._phase != (phase, total) or self._step:
            self.close(ok=False)
            self._phase = (phase, total)
            self._rate = RecentRate()
            self._bar = click.progressbar(
                length=total,
                label=f"{self.prefix}{phase}",
                show_pos=True,
                show_eta=True,
                file=self.stream,
            )
            self._bar.__enter__()
        self._rate.update(self.clock(), done)
        rate = self._rate.rate()
        self._bar.label = f"{self.prefix}{phase}" + (f" {rate_text(rate):>9}" if rate else "")
        self._bar.update(done - self._bar.pos)

    def step(self, name: str) -> None:
        self.close(ok=True)
        self(name, 0, 1)
        self._step = True

    def tick(self) -> None:
        pass

    def close(self, ok: bool = True) -> None:
        if self._bar is not None:
            if ok and self._step:
                self._bar.update(1)
            self._bar.__exit__(None, None, None)
        self._bar = None
        self._phase = None
        self._step = False


@contextmanager
def phases(
    label: str = "", *, interval: float | None = None, stream: TextIO | None = None
) -> Iterator[LogProgress | BarProgress]:
    """Yield ``progress(phase, done, total)`` (and ``.step(name)``) drawing bars on a terminal
    and writing log lines otherwise; ``label`` names the command in both."""
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        bars = BarProgress(out, label=label)
        done = False
        try:
            yield bars
            done = True
        finally:
            bars.close(done)
        return
    log = LogProgress(out, interval=interval or interval_from_env(), label=label)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(min(1.0, log.interval)):
            log.tick()

    thread = threading.Thread(target=ticker, name="zkmargin-progress", daemon=True)
    thread.start()
    ok = False
    try:
        yield log
        ok = True
    finally:
        stop.set()
        thread.join()
        log.close(ok)


@contextmanager
def steps(total: int) -> Iterator[Callable[[str], None]]:
    """Yield ``step(name)`` for ``total`` named steps of short work (a margin report, example
    data): on a terminal a bar over the steps with the elapsed time, otherwise nothing."""
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
