"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

One interface: :meth:`RunExecutor.results` takes a worker function and its tasks and yields
the results in batches as they complete (every result finished since the last batch), so the
caller can write each batch to disk at once. Only a bounded window of tasks is in flight at
any time, so memory does not grow with the number of runs.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import suppress
from typing import Any

from sim.experiments.stopping import check_stop

__all__ = [
    "LEAN_WORKER_CONFIG",
    "DaskExecutor",
    "InProcessExecutor",
    "PoolExecutor",
    "RunExecutor",
    "local_cluster",
    "make_executor",
]

#: How often a wait for results looks for a stop signal (seconds).
POLL_SECONDS = 0.2
#: Tasks in flight per worker: enough to keep every worker busy while results are written.
WINDOW_PER_WORKER = 2


class RunExecutor:
    """Runs tasks and yields their results in completion-order batches."""

    workers: int = 1
    description: str = ""

    def results(self, fn: Callable[[Any], list[Any]], tasks: Iterable[Any]) -> Iterator[list[Any]]:
        """Apply ``fn`` (which returns a list) to each task; yield concatenated results of the
        tasks finished since the last yield."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""

    def abort(self) -> None:
        """Stop at once (after a signal or an error): drop the tasks in flight, stop workers."""
        self.close()

    def __enter__(self) -> RunExecutor:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class InProcessExecutor(RunExecutor):
    """Every task in this process, one after another (``--workers 1``; easy to debug)."""

    description = "in-process"

    def results(self, fn: Callable[[Any], list[Any]], tasks: Iterable[Any]) -> Iterator[list[Any]]:
        """Run each task here and yield its results at once."""
        for task in tasks:
            yield fn(task)


class PoolExecutor(RunExecutor):
    """A local ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes.

    Workers start from a forkserver that has already imported the model's engine and run one
    small model (:mod:`sim.experiments.worker`), so they start fast, with nothing loaded they do not use,
    and share no state (or threads) with the caller. Each worker first freezes the objects it
    inherited (``gc.freeze``): the garbage collector then never writes to them, so their pages
    stay shared with the forkserver instead of being copied into every worker. Workers ignore
    SIGINT: Ctrl-C reaches the whole process group, and the caller alone decides what stops.
    """

    def __init__(self, workers: int, preload: tuple[str, ...] = ("sim.experiments.worker",)):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        self.workers = workers
        self.description = f"local pool, {workers} processes"
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker
        )

    def results(self, fn: Callable[[Any], list[Any]], tasks: Iterable[Any]) -> Iterator[list[Any]]:
        """Submit a window of tasks, yield each completed batch, top the window up."""
        pending = iter(tasks)
        window = WINDOW_PER_WORKER * self.workers
        running = {self._pool.submit(fn, t) for t in _take(pending, window)}
        while running:
            done, running = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            check_stop()
            if not done:
                continue
            running |= {self._pool.submit(fn, t) for t in _take(pending, len(done))}
            yield [r for future in done for r in future.result()]

    def close(self) -> None:
        """Stop the pool, cancelling tasks not started."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Cancel the tasks not started, end the running ones (SIGTERM), wait for the workers.

        Their results would be dropped anyway, and a long run should not hold up Ctrl-C.
        """
        # the pool has no public way to stop running tasks before Python 3.14
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        self._pool.shutdown(wait=True)


class DaskExecutor(RunExecutor):
    """The same tasks on a Dask distributed cluster (``dask.distributed.Client(address)``).

    Args:
        address: the scheduler, e.g. ``tcp://10.0.0.5:8786``, or a ``Client`` / cluster object
            already made (``LocalCluster``, ``dask_jobqueue.SLURMCluster``).
        timeout: how long to wait for the scheduler (seconds, or text such as ``"5s"``;
            default: Dask's ``distributed.comm.timeouts.connect``, 30 s unless configured).

    Raises:
        InputError: the scheduler cannot be reached (one line naming the address).
    """

    def __init__(self, address: Any, timeout: float | str | None = None):
        import dask
        from dask.distributed import Client

        timeout = timeout or dask.config.get("distributed.comm.timeouts.connect")

        try:
            self._client = (
                address if isinstance(address, Client) else Client(address, timeout=timeout)
            )
        except Exception as err:  # Dask raises many kinds (OSError, TimeoutError, TypeError..)
            from sim.experiments.store import SettingError, error_reason

            reason = error_reason(err)
            raise SettingError("scheduler", address, f"cannot connect ({reason})") from None
        self._own = not isinstance(address, Client)
        self._running: Any = None
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()))
        self.description = (
            f"dask scheduler {self._client.scheduler.address}, {self.workers} threads"
        )

    @property
    def client(self) -> Any:
        """The ``dask.distributed.Client`` the runs go through."""
        return self._client

    def results(self, fn: Callable[[Any], list[Any]], tasks: Iterable[Any]) -> Iterator[list[Any]]:
        """Submit a window of tasks to the scheduler; yield results as they complete."""
        from dask.distributed import as_completed

        pending = iter(tasks)
        window = WINDOW_PER_WORKER * self.workers
        submit = self._client.submit
        running = as_completed([submit(fn, t, pure=False) for t in _take(pending, window)])
        self._running = running
        while not running.is_empty():
            check_stop()
            if not running.has_ready():
                time.sleep(POLL_SECONDS)
                continue
            done = running.next_batch(block=False)
            for task in _take(pending, len(done)):
                running.add(submit(fn, task, pure=False))
            yield [r for future in done for r in future.result()]
            for future in done:
                future.release()

    def close(self) -> None:
        """Disconnect from the scheduler (a cluster passed in is left running)."""
        if self._own:
            self._client.close()

    def abort(self) -> None:
        """Cancel this sweep's tasks on the cluster, then disconnect."""
        futures = list(self._running.futures) if self._running is not None else []
        # the scheduler would also drop them once no client wants them; say so at once
        with suppress(Exception):  # already stopping: a lost scheduler must not hide why
            if futures:
                self._client.cancel(futures)
        self.close()


def _start_worker() -> None:
    """A pool worker's first act: leave SIGINT to the caller, freeze inherited objects."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


def _take(items: Iterator[Any], n: int) -> list[Any]:
    return list(itertools.islice(items, n))


#: Dask settings for :func:`local_cluster`. The cluster has no dashboard, so the workers'
#: statistical profiler (it samples the running task every 10 ms) feeds nothing; it and the
#: frequent event-loop and memory checks take the GIL from the runs. Measured on 2,000 short
#: runs, 2 workers: 1.19x the local pool's time with Dask's defaults, 1.09x with these.
LEAN_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def local_cluster(workers: int) -> Any:
    """A ``dask.distributed.LocalCluster`` of single-thread worker processes on 127.0.0.1 with no
    dashboard, which load the model as they start (:mod:`sim.experiments.worker`): the Dask path on one machine (tests,
    benchmarks, trying a cluster run). Its workers run with :data:`LEAN_WORKER_CONFIG`."""
    import dask
    from dask.distributed import LocalCluster

    # the nannies copy the configuration as they are made, and pass it to their workers
    with dask.config.set(LEAN_WORKER_CONFIG):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
            preload=["sim.experiments.worker"],
        )


def make_executor(workers: int | None = None, scheduler: Any = None) -> RunExecutor:
    """The executor for ``--workers N`` (default: every core; 1 runs in-process) or
    ``--scheduler ADDRESS`` (a Dask cluster)."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    workers = workers or len(os.sched_getaffinity(0))
    return InProcessExecutor() if workers == 1 else PoolExecutor(workers)
