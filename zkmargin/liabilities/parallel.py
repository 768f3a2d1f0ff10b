"""Where the work runs: in this process, on a local process pool, or on a Dask distributed
cluster. The same tasks (module-level functions of :mod:`.work`, arguments and results made of
ints, strings and bytes: points travel as their 48-byte encodings) run on each; results come back
as they finish, and the caller stores each one before asking for more.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
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


class LocalPool:
    """A pool of ``workers`` processes started fresh (spawn), at most two tasks in flight per
    worker so that a stop loses little work."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.where = f"{workers} local processes"
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        pending: set[Future[Any]] = set()
        todo = list(tasks)
        todo.reverse()
        try:
            while todo or pending:
                while todo and len(pending) < 2 * self.workers:
                    pending.add(self._pool.submit(fn, *todo.pop()))
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        finally:
            for f in pending:
                f.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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
