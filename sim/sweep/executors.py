"""Where chunks run: in this process, a local process pool, or a Dask distributed cluster.

Every executor runs the same :func:`~.evaluate.evaluate_chunk` on the same chunks, so the
results do not depend on the executor or the number of workers. The evaluator is shipped to
each worker once (pool initializer / ``Client.scatter(broadcast=True)``), then only design
chunks travel. At most two chunks per worker are in flight, which bounds memory.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterable, Iterator

from ..core.errors import bad
from .evaluate import ChunkResult, ChunkTask, Evaluator, SweepError, evaluate_chunk

CONNECT_TIMEOUT = 5.0      # seconds to wait for a Dask scheduler to answer
WORKER_WAIT = 10.0         # seconds to wait for a connected scheduler to have a worker
WATCH_EVERY = 0.5          # seconds between a pool worker's checks that the sweep process is alive
STOP_WAIT = 2.0            # seconds an interrupted pool's workers get to exit after SIGTERM, before SIGKILL


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Evaluate chunks one after another in this process (``--workers 1``)."""

    name = "serial"
    workers = 1

    def run(self, evaluator: Evaluator, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        """Yield each chunk's result as it finishes."""
        for task in tasks:
            yield evaluate_chunk(evaluator, task)

    def close(self) -> None:
        """Nothing to release."""


# ---- local process pool -------------------------------------------------------------------------

_EVALUATOR: Any = None


def alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _watch(sweep_pid: int, ppid: int) -> None:
    """Worker thread: end this worker as soon as the sweep process (or our parent) is gone.

    A SIGKILLed sweep cannot stop its pool; without this, workers would finish their chunk
    first and keep the forkserver and resource tracker alive with them (minutes).
    """
    while os.getppid() == ppid and alive(sweep_pid):
        time.sleep(WATCH_EVERY)
    os._exit(3)


def _init_worker(blob: bytes, sweep_pid: int | None = None) -> None:
    """Pool initializer: ignore Ctrl-C (the parent handles it), watch the parent, unpickle the evaluator once."""
    global _EVALUATOR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sweep_pid is not None:
        threading.Thread(target=_watch, args=(sweep_pid, os.getppid()), daemon=True,
                         name="batsim-watch-parent").start()
    _EVALUATOR = pickle.loads(blob)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop an interrupted pool now: running chunks are abandoned, nothing waits on dead workers.

    The pool's queue-feeder thread may be blocked writing a task to a worker; once the workers
    are terminated nobody reads that pipe, and the manager thread (joined at interpreter exit)
    would wait on the feeder for good. So the join is cancelled before the workers are stopped.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    queue = getattr(pool, "_call_queue", None)
    # shutdown() drops the pool's references to these: keep them for _unblock_manager
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)
    if queue is not None:
        queue.cancel_join_thread()
    for p in procs:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_WAIT
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)
    _unblock_manager(manager, results, time.monotonic() + STOP_WAIT)


def _unblock_manager(thread: threading.Thread | None, results: Any, deadline: float) -> None:
    """Free a pool manager thread stuck reading a result that a terminated worker only half wrote.

    A worker killed in the middle of sending a large result leaves the manager thread blocked in
    ``recv()`` for the rest of the message, and interpreter exit joins that thread: the process
    would never end. The parent holds the result pipe's write end, so it completes the torn
    message with zero bytes; the manager then fails to unpickle it, marks the pool broken and
    ends. Nothing else writes to that pipe once the workers are gone.
    """
    writer = getattr(results, "_writer", None)
    if thread is None or writer is None:
        return
    thread.join(max(0.0, min(0.2, deadline - time.monotonic())))
    if not thread.is_alive():
        return
    try:
        fd = writer.fileno()
        os.set_blocking(fd, False)
    except (OSError, ValueError):  # already closed: the manager is not reading it
        return
    zeros = bytes(1 << 16)
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            os.write(fd, zeros)
        except BlockingIOError:  # pipe full: let the manager read
            thread.join(0.01)
        except OSError:
            return


class _SigintDeferred:
    """Hold Ctrl-C while the pool may be starting a worker, then raise it.

    ``pool.submit`` may start a worker, which writes the worker's set-up to the forkserver. A
    KeyboardInterrupt in the middle of that write leaves the forkserver's child reading a
    truncated pickle, and it prints a traceback to the user's terminal. So during a submit a
    SIGINT is only recorded; it is raised once the write is complete. Only the main thread can
    install signal handlers; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.hit = False
        self.saved: Any = None

    def _note(self, signum: int, frame: Any) -> None:
        self.hit = True

    def __enter__(self) -> "_SigintDeferred":
        if threading.current_thread() is threading.main_thread():
            self.saved = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, *exc: Any) -> None:
        saved, self.saved = self.saved, None
        if saved is None:
            return
        signal.signal(signal.SIGINT, saved)
        if self.hit:           # deliver the held Ctrl-C to the handler it was meant for
            self.hit = False
            if callable(saved):
                saved(signal.SIGINT, None)
            elif saved == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def _work(task: ChunkTask) -> ChunkResult:
    """Worker side of the pool: evaluate one chunk with the evaluator set by the initializer."""
    return evaluate_chunk(_EVALUATOR, task)


def _context() -> Any:
    """The multiprocessing context of the pool: forkserver where available, else spawn."""
    methods = mp.get_all_start_methods()
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and not os.path.exists(main_file) and "fork" in methods:
        # `python - < script`: forkserver/spawn children would try to re-run '<stdin>' and die
        return mp.get_context("fork")
    if "forkserver" in methods:  # safe with threads (tqdm, dask), and fast: workers fork a warm server
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "sim.api", "sim.sweep.evaluate"])
        return ctx
    return mp.get_context("spawn")


class ProcessExecutor:
    """A local pool of ``workers`` processes (default: one per CPU)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or cpu_count()

    def run(self, evaluator: Evaluator, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        """Yield each chunk's result as it finishes (any order)."""
        pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_init_worker,
                                   initargs=(pickle.dumps(evaluator), os.getpid()))
        pending: set[Future] = set()
        it = iter(tasks)
        ok = False
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    task = next(it, None)
                    if task is None:
                        break
                    with _SigintDeferred():
                        pending.add(pool.submit(_work, task))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        yield fut.result()
                    except BrokenProcessPool as exc:
                        raise SweepError("a worker process died (out of memory, or killed); finished chunks are "
                                         "kept: rerun with --resume, perhaps with fewer --workers") from exc
            ok = True
        finally:
            for fut in pending:
                fut.cancel()
            if ok:
                pool.shutdown(wait=True)
            else:  # interrupted or failed: do not wait for running chunks
                _stop(pool)

    def close(self) -> None:
        """The pool lives only during run()."""


# ---- Dask distributed ---------------------------------------------------------------------------

def _import_distributed() -> Any:
    """Import dask.distributed lazily; BadInput (exit 2) with the install hint if it is missing."""
    try:
        import distributed
    except ImportError as exc:
        raise bad("--executor", "the dask executor needs dask.distributed, which is not installed",
                  "pip install 'batsim[dask]'   (or: pip install 'dask[distributed]')") from exc
    return distributed


class DaskExecutor:
    """Chunks as tasks on a Dask cluster: an existing scheduler, or a LocalCluster started here."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT):
        distributed = _import_distributed()
        self.cluster = None
        if scheduler is None:
            self.cluster = distributed.LocalCluster(n_workers=workers or cpu_count(), threads_per_worker=1,
                                                    processes=True, dashboard_address=None)
            address = self.cluster.scheduler_address
        else:
            address = scheduler
        self.address = address
        hint = ("start one with 'dask scheduler' and workers with 'dask worker ADDRESS' (each with batsim "
                "installed), and check the host, port and firewall")
        try:
            self.client = distributed.Client(address, timeout=connect_timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address
            self.close()
            raise bad("--scheduler", f"no Dask scheduler answered at '{address}' within {connect_timeout:g} s "
                                     f"({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                      hint) from None
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except Exception:  # noqa: BLE001
            self.close()
            raise bad("--scheduler", f"the Dask scheduler at '{address}' has no workers (waited {WORKER_WAIT:g} s)",
                      f"start workers with 'dask worker {address}'") from None
        info = self.client.scheduler_info()
        self.workers = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1

    def run(self, evaluator: Evaluator, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        """Yield each chunk's result as it finishes (any order)."""
        import distributed

        client = self.client
        ev = client.scatter(evaluator, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:12]
        it = iter(tasks)
        ac = distributed.as_completed(loop=client.loop)
        inflight: set = set()

        def top_up() -> None:
            """Submit chunks until two per worker thread are in flight."""
            while len(inflight) < 2 * self.workers:
                task = next(it, None)
                if task is None:
                    return
                fut = client.submit(evaluate_chunk, ev, task, key=f"batsim-chunk-{token}-{task.index}", pure=False)
                inflight.add(fut)
                ac.add(fut)

        ok = False
        try:
            top_up()
            while inflight:
                fut = next(ac)
                inflight.discard(fut)
                try:
                    res = fut.result()
                except (ImportError, ModuleNotFoundError) as exc:
                    raise SweepError(f"a Dask worker cannot import batsim ({exc}); install the same batsim on "
                                     "every worker") from exc
                fut.release()
                top_up()
                yield res
            ok = True
        finally:
            if not ok and inflight:
                client.cancel(list(inflight))
            ev.release()

    def close(self) -> None:
        """Disconnect, and stop the LocalCluster if this executor started it."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def make(executor: str = "local", workers: int | None = None, scheduler: str | None = None) -> Any:
    """The executor for the CLI options; BadInput for inconsistent ones."""
    if workers is not None and workers < 1:
        raise bad("--workers", f"--workers must be at least 1 (got {workers})")
    if executor == "dask":
        return DaskExecutor(scheduler, workers)
    if executor != "local":
        raise bad("--executor", f"unknown executor '{executor}'", "one of local, dask")
    if scheduler is not None:
        raise bad("--scheduler", "--scheduler is for the Dask executor", "add --executor dask")
    n = workers or cpu_count()
    return SerialExecutor() if n == 1 else ProcessExecutor(n)
