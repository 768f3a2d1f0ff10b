"""Where the work runs: in this process, on a local process pool, or on a Dask distributed
cluster. The same tasks (module-level functions of :mod:`.work`, arguments and results made of
ints, strings and bytes: points travel as their 48-byte encodings) run on each; results come back
as they finish, and the caller stores each one before asking for more.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from ..formats.common import FormatError


class Runner(Protocol):
    """Runs ``fn(*task)`` for every task and yields the results in completion order."""

    workers: int
    where: str

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class InProcess:
    """One worker: this process."""

    workers = 1
    where = "this process"

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        for task in tasks:
            yield fn(*task)

    def close(self) -> None:
        pass


def _ignore_interrupts() -> None:
    """A worker's initializer: Ctrl-C (sent by a terminal to every process of the foreground
    group) is the main process's to handle; it stops the pool. SIGINT was blocked when the
    worker started (see :func:`_interrupts_held`): ignoring it first drops one that came during
    the start, then it is unblocked."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C held back in this (the main) thread while it touches the pool, then raised.

    SIGINT is blocked, so a worker started meanwhile inherits the mask and a Ctrl-C during its
    start (before its initializer runs) cannot print a traceback there; and the Python-level
    handler only notes a signal that arrived just before (Python runs handlers later than the
    signal comes), so that no KeyboardInterrupt lands between starting a worker and sending it
    its task, or while a lock is held. A Ctrl-C that came meanwhile is raised at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a blocked Ctrl-C is delivered now
        signal.signal(signal.SIGINT, handler)
    if noted and handler is not signal.SIG_IGN:
        if callable(handler):
            handler(signal.SIGINT, None)  # raises KeyboardInterrupt, as it would have
        raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ctrl-C ignored (in the main thread) while the pool is stopped: the stop is bounded, and
    a second Ctrl-C must not cut it short and leave workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class LocalPool:
    """A pool of ``workers`` processes started fresh (spawn), at most two tasks in flight per
    worker so that a stop loses little work. Workers ignore Ctrl-C; on an interrupt (or any
    error) :meth:`close` terminates and joins them itself rather than waiting for their tasks."""

    #: seconds a terminated worker gets to exit before it is killed
    GRACE = 5.0

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.where = f"{workers} local processes"
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_interrupts,
        )
        self._inflight: set[Future[Any]] = set()

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        # Finished futures come through a queue filled by their callbacks: this thread waits on
        # the queue alone, holding no future's lock, and touches futures (submit, callback,
        # result) only with SIGINT held back, so that a Ctrl-C cannot leave a lock taken that
        # the pool's thread needs to stop (it would hang at exit). Unfinished tasks are not
        # cancelled here: close() stops the workers, and the pool fails their futures.
        finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        pending = self._inflight
        todo = list(tasks)
        todo.reverse()
        while todo or pending:
            while todo and len(pending) < 2 * self.workers:
                with _interrupts_held():  # submit may start a worker, too
                    f = self._pool.submit(fn, *todo.pop())
                    pending.add(f)
                    f.add_done_callback(finished.put)
            f = finished.get()
            with _interrupts_held():
                pending.discard(f)
                result = f.result()
            yield result

    def close(self) -> None:
        """Shut the pool down: at once (terminate, join, kill what is left) when an exception
        is on its way or tasks are unfinished, else the ordinary way (idle workers exit)."""
        unfinished = any(not f.done() for f in self._inflight)
        if sys.exc_info()[0] is None and not unfinished:
            self._pool.shutdown(wait=True)
            return
        with _interrupts_ignored():
            self._stop()

    def _stop(self) -> None:
        pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        queue = getattr(pool, "_call_queue", None)
        if queue is not None:
            # its feeder thread may be blocked on a pipe no worker reads any more: do not wait
            # for it at exit (multiprocessing's exit handler would)
            queue.cancel_join_thread()
        for p in processes:
            p.terminate()
        for p in processes:
            p.join(self.GRACE)
            if p.is_alive():
                p.kill()
                p.join()
        pool.shutdown(wait=True)  # its thread sees the workers gone and fails their tasks
        self._inflight.clear()


class DaskCluster:
    """The workers of a Dask distributed scheduler at ``address``."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise FormatError("--scheduler needs the 'distributed' package") from None
        try:
            self._client = Client(  # type: ignore[no-untyped-call]
                address, timeout="20s", set_as_default=True
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise FormatError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        n = len(self._client.scheduler_info().get("workers", {}))
        if n == 0:
            self._client.close()  # type: ignore[no-untyped-call]
            raise FormatError(f"the Dask scheduler at {address} has no workers")
        self.workers = n
        self.where = f"Dask cluster {address} ({n} workers)"

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        from distributed import as_completed

        futures = [self._client.submit(fn, *t, pure=False) for t in tasks]
        try:
            for f in as_completed(futures):  # type: ignore[no-untyped-call]
                yield f.result()
        finally:
            for f in futures:
                f.cancel()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def make_runner(workers: int | None = None, scheduler: str | None = None) -> Runner:
    """A Dask runner for ``scheduler``, else a local pool of ``workers`` (1: in process)."""
    if scheduler is not None:
        if workers is not None:
            raise FormatError("give --workers or --scheduler, not both")
        return DaskCluster(scheduler)
    if workers is None:
        workers = default_workers()
    if workers < 1:
        raise FormatError("--workers must be at least 1")
    return InProcess() if workers == 1 else LocalPool(workers)


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
