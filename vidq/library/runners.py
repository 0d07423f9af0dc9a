"""Where the per-file analysis of an index run happens: in this process, in worker processes,
or as Ray tasks on a cluster.  The driver (the ``vidq index`` process) is always the one
that writes the library; runners only return each file's timeline in its stored form.

    runner = make_runner(jobs=2)                 # or ray="auto" / "HOST:PORT" / "local"
    for task, result in runner.map(tasks):       # completion order; tasks are pulled lazily
        ...                                      # result: analyse_file()'s dict
    runner.close()

:func:`analyse_file` is the unit of work: ``analyze()`` of one path into a JSON-able
document and NumPy arrays (picklable, so they travel through a process pool or Ray's
object store), or ``{"error": reason}``.

Knows nothing about the library's tables or the CLI.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from vidq.analysis import AnalysisOptions, analyze
from vidq.analysis.timeline import timeline_to_json
from vidq.errors import InputError, MissingDependency, VidqError
from vidq.store import Store

log = logging.getLogger("vidq.library")

PR_SET_PDEATHSIG = 1  # prctl option: a signal for this process when its parent dies (Linux)


@dataclass(frozen=True)
class Task:
    """One file to analyse."""

    path: str  # absolute path (the same on every Ray node: a shared file system)
    options: AnalysisOptions  # what decides the timeline
    cache_dir: str | None  # the cache the analysis reads and writes (None: none)


def analyse_file(task: Task) -> dict[str, Any]:
    """The timeline of ``task.path`` in its stored form, or ``{"error": reason}``; never raises."""
    t0 = time.perf_counter()
    try:
        tl = analyze(task.path, task.options, store=Store(task.cache_dir))
        doc, arrays = timeline_to_json(tl)
    except VidqError as e:
        return {"error": str(e)}
    except MemoryError:
        return {"error": "out of memory"}
    except Exception as e:  # one bad file must not end a run over hundreds
        return {"error": f"{type(e).__name__}: {e}"}
    analysed = not tl.meta.get("cached")
    doc["meta"] = {k: v for k, v in doc["meta"].items() if k != "cached"}
    return {"doc": doc, "arrays": arrays, "params": task.options.key(tl.span), "analysed": analysed,
            "seconds": time.perf_counter() - t0, "node": os.uname().nodename}


class LocalRunner:
    """Analyses files one after the other in this process (``-j 1``)."""

    jobs = 1

    def map(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, dict[str, Any]]]:
        for task in tasks:
            yield task, analyse_file(task)

    def close(self) -> None:
        pass


def _worker_init() -> None:
    """In a pool worker: die with the parent (a killed ``vidq index`` leaves no analysis running),
    and leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker ends when its next task cannot be sent
        pass
    if os.getppid() == 1:  # the parent died before prctl
        os._exit(1)


class PoolRunner:
    """Analyses up to ``jobs`` files at once in worker processes (each loads the models once)."""

    def __init__(self, jobs: int):
        import multiprocessing

        self.jobs = jobs
        self.pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_worker_init)

    def map(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, dict[str, Any]]]:
        done: queue.Queue[tuple[Task, dict[str, Any]]] = queue.Queue()
        pending = 0
        it = iter(tasks)

        def fill() -> None:
            nonlocal pending
            while pending < self.jobs:
                task = next(it, None)
                if task is None:
                    return
                pending += 1
                self.pool.apply_async(analyse_file, (task,), callback=lambda r, t=task: done.put((t, r)),
                                      error_callback=lambda e, t=task: done.put((t, {"error": f"worker: {e}"})))

        fill()
        while pending:
            task, result = done.get()
            pending -= 1
            yield task, result
            fill()

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


class RayRunner:
    """Analyses files as Ray tasks of ``cpus`` CPUs each, at most ``jobs`` at a time.

    ``address``: ``auto`` (the cluster this machine belongs to, or ``RAY_ADDRESS``), ``HOST:PORT``
    of a cluster's head, ``ray://HOST:PORT`` (Ray client) or ``local`` (start a private Ray
    here).  Every node must see the files at the same paths and have vidq installed.
    """

    def __init__(self, address: str, *, jobs: int | None, cpus: float):
        try:
            import ray
        except ImportError as e:
            raise MissingDependency("ray", "ray", "vidq index --ray") from e
        self.ray = ray
        try:
            ray.init(address=None if address == "local" else address, log_to_driver=False,
                     logging_level=logging.WARNING, include_dashboard=False if address == "local" else None,
                     ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError(f"--ray {address}: cannot reach a Ray cluster ({str(e).splitlines()[0]})") from e
        total = float(ray.cluster_resources().get("CPU", 1.0))
        self.jobs = jobs or max(1, int(total // max(cpus, 1e-3)))
        self.remote = ray.remote(num_cpus=cpus, max_retries=1)(analyse_file)
        log.info("Ray cluster: %g CPUs; %d files at a time, %g CPUs each", total, self.jobs, cpus)

    def map(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, dict[str, Any]]]:
        pending: dict[Any, Task] = {}
        it = iter(tasks)

        def fill() -> None:
            while len(pending) < self.jobs:
                task = next(it, None)
                if task is None:
                    return
                pending[self.remote.remote(task)] = task

        fill()
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            task = pending.pop(ready[0])
            try:
                result = self.ray.get(ready[0])
            except Exception as e:  # a worker died, the task could not run: that file fails, the run goes on
                result = {"error": f"ray: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
            yield task, result
            fill()

    def close(self) -> None:
        self.ray.shutdown()


def default_jobs() -> int:
    """What the machine can take: one analysis per 2 cores (each runs ASR and the picture pass
    side by side) and per 3 GiB of memory, at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 0
    by_memory = int(memory // (3 * 2**30)) if memory else cores
    return max(1, min(cores // 2, by_memory))


def make_runner(*, jobs: int | None, ray: str | None = None, ray_cpus: float = 1.0):
    """The runner a run asked for (``jobs`` None: :func:`default_jobs`, or all the cluster takes)."""
    if ray is not None:
        return RayRunner(ray, jobs=jobs, cpus=ray_cpus)
    n = jobs or default_jobs()
    return LocalRunner() if n == 1 else PoolRunner(n)
