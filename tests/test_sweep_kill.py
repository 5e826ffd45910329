"""Kill tests of `batsim sweep` and `batsim run` subprocesses (bounded: a few trials, each under 20 s).

SIGINT at random moments: the sweep ends within 5 s, with no process of its group left; a
second SIGINT ends it at once; SIGKILL: every worker (and the forkserver and resource tracker)
is gone within 5 s; a SIGKILLed `run` is repaired by the next run. Each trial's times are
printed (``pytest -s``) so the numbers in the report are measured ones.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, STRICT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")]

TRIALS = 5
EXIT_BOUND = 5.0
SHORT = f"""extends: {STRICT}
id: kill-short
calendar: {{start: 2025-01-01, end: 2027-12-31, step: month}}
"""


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scn") / "short.yaml"
    p.write_text(SHORT, encoding="utf-8")
    return p


def group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, read from /proc."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            pids.append(int(d))
    return pids


def wait_group_empty(pgid: int, bound: float) -> float | None:
    """Seconds until group ``pgid`` has no live process (None if some outlive ``bound``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        if not group(pgid):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def start_sweep(short: Path, out: Path, samples: int = 16000) -> subprocess.Popen:
    """A sweep subprocess in its own session (so its group can be watched), two workers."""
    cmd = [sys.executable, "-m", "sim", "sweep", str(short), "--method", "mc", "--samples", str(samples),
           "--chunk-size", "1000", "--workers", "2", "--out", str(out), "--no-plots", "--no-progress",
           "--params", "licence.approval_share_2024,controls.diversion,inventory.anode_days"]
    return subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _cleanup(p: subprocess.Popen) -> None:
    """Make sure nothing of a trial survives it (even when an assertion failed)."""
    for pid in group(p.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if p.poll() is None:
        p.kill()
    p.communicate(timeout=10)


def _wait_started(p: subprocess.Popen, folder: Path, bound: float = 15.0) -> None:
    """Until the sweep has its manifest (it is writing design shards or running chunks)."""
    t0 = time.monotonic()
    while not (folder / "manifest.json").is_file() and time.monotonic() - t0 < bound and p.poll() is None:
        time.sleep(0.05)


def _wait_workers(p: subprocess.Popen, bound: float = 45.0) -> int:
    """Until the pool runs: sweep, resource tracker, forkserver and two workers (returns the count)."""
    t0 = time.monotonic()
    while len(group(p.pid)) < 5 and time.monotonic() - t0 < bound and p.poll() is None:
        time.sleep(0.05)
    return len(group(p.pid))


def test_sigint_at_random_moments_ends_the_sweep_within_5_s(short, tmp_path):
    rng = random.Random(13)
    times = []
    for trial in range(TRIALS):
        out = tmp_path / f"t{trial}"
        p = start_sweep(short, out)
        try:
            if trial % 2:
                _wait_started(p, out / "kill-short-mc")  # while it prepares (design shards)
                time.sleep(rng.uniform(0.0, 1.0))
            else:
                _wait_workers(p)                         # while the pool runs chunks (or starts)
                time.sleep(rng.uniform(0.0, 2.0))
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=EXIT_BOUND)
            exited = time.monotonic() - t0
            left = wait_group_empty(p.pid, EXIT_BOUND - exited)
            err = p.stderr.read().decode()
            assert rc in (130, 0), (rc, err)
            assert "Traceback" not in err, err
            assert left is not None, f"processes of the sweep outlived it: {group(p.pid)}"
            if rc == 130 and (out / "kill-short-mc" / "manifest.json").is_file():
                m = json.loads((out / "kill-short-mc" / "manifest.json").read_text())
                assert m["status"] == "running"                 # valid JSON, not marked complete
                assert all(r.get("interrupted") for r in m["runs"]) or "interrupted" not in err
            times.append((round(exited, 2), round(exited + left, 2)))
        finally:
            _cleanup(p)
    print(f"\nSIGINT trials (exit s, all processes gone s): {times}")
    assert len(times) == TRIALS


def test_a_second_sigint_ends_the_sweep_at_once(short, tmp_path):
    times = []
    for trial in range(3):
        out = tmp_path / f"t{trial}"
        p = start_sweep(short, out)
        try:
            _wait_workers(p)
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            time.sleep(0.05)
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=EXIT_BOUND)
            times.append(round(time.monotonic() - t0, 2))
            assert rc in (130, -signal.SIGINT)     # -2: the second signal came as Python was already exiting
            assert wait_group_empty(p.pid, EXIT_BOUND) is not None, group(p.pid)
        finally:
            _cleanup(p)
    print(f"\nsecond-SIGINT trials (exit s after the second signal): {times}")
    assert max(times) < 2.0


def test_sigkill_of_the_sweep_leaves_no_worker_beyond_5_s(short, tmp_path):
    rng = random.Random(31)
    times = []
    for trial in range(TRIALS):
        out = tmp_path / f"t{trial}"
        p = start_sweep(short, out)
        try:
            assert _wait_workers(p) >= 5, f"no worker to watch: {group(p.pid)}"
            time.sleep(rng.uniform(0.0, 2.0))
            assert p.poll() is None, "the sweep ended before it could be killed; make it longer"
            p.kill()
            p.wait(timeout=5)
            t0 = time.monotonic()
            left = wait_group_empty(p.pid, EXIT_BOUND)
            assert left is not None, f"processes outlived the killed sweep by 5 s: {group(p.pid)}"
            times.append(round(time.monotonic() - t0, 2))
        finally:
            _cleanup(p)
    print(f"\nSIGKILL trials (s until no process of the sweep is left): {times}")
    assert len(times) == TRIALS


def test_a_sigkilled_run_is_repaired_by_the_next_run(tmp_path):
    """Kill `batsim run` while it writes; the next run restores or cleans, and the result is whole."""
    rng = random.Random(20)
    out = tmp_path / "out"
    scn = ROOT / "scenarios" / "graphite-controls-2025.yaml"
    cmd = [sys.executable, "-m", "sim", "run", str(scn), "--out", str(out), "--quiet"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr
    notes = []
    for trial in range(3):
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t0 = time.monotonic()
        while not any(n.startswith(".graphite-controls-2025.tmp-") for n in os.listdir(out)):
            if p.poll() is not None or time.monotonic() - t0 > 20:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))             # while plots and files are being written
        p.kill()
        p.communicate(timeout=10)
        again = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120, text=True)
        assert again.returncode == 0, again.stderr
        left = [n for n in os.listdir(out) if ".tmp-" in n or ".old-" in n]
        assert left == [], left
        final = out / "graphite-controls-2025"
        json.loads((final / "summary.json").read_text())
        assert {"timeseries.csv", "summary.json", "manifest.json", "plots"} <= {f.name for f in final.iterdir()}
        notes.append("cleaned" if "removed" in again.stderr else ("restored" if "restored" in again.stderr else "-"))
    print(f"\nrun SIGKILL trials (what the next run did): {notes}")


HANGING = """
import sys, time
from sim.cli.commands.sweep import _interrupts
with _interrupts():
    try:
        print("ready", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        print("stuck", flush=True)
        time.sleep(60)      # a shutdown that hangs (as the pool's exit handler once did)
"""


@pytest.mark.parametrize("second", [False, True])
def test_a_hanging_shutdown_is_ended_by_the_deadline_or_a_second_sigint(second):
    """The backstop: whatever hangs after the first Ctrl-C, the process ends by the deadline, or at once
    on a second Ctrl-C."""
    from sim.cli.commands.sweep import EXIT_DEADLINE

    p = subprocess.Popen([sys.executable, "-c", HANGING], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGINT)
        assert p.stdout.readline().strip() == "stuck"
        t0 = time.monotonic()
        if second:
            p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=EXIT_DEADLINE + 3)
        took = time.monotonic() - t0
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    assert rc == 130
    if second:
        assert took < 1.0 and "interrupted again" in err
    else:
        assert EXIT_DEADLINE - 0.5 < took < EXIT_DEADLINE + 2 and "overran" in err


def _slow(X):
    """A chunk that takes a while (so tasks queue up behind busy workers)."""
    time.sleep(0.5)
    return X[:, 0]


def test_an_interrupted_pool_leaves_no_thread_that_exit_would_wait_on():
    """The old hang lived in the pool's threads joined at interpreter exit (a queue feeder writing
    a large task to terminated workers). After an interrupt with large tasks queued, every pool
    thread must end by itself within the exit bound. (This guard passes on the old code too in
    the trials run here: the 1-in-31 race was not reproduced; the CLI also skips exit handlers.)"""
    import concurrent.futures.process as cfp

    import numpy as np

    from sim.sweep.evaluate import ChunkTask, FunctionEvaluator
    from sim.sweep.executors import ProcessExecutor

    big = np.zeros((40_000, 4))                    # 1.3 MB per task: far more than a pipe holds
    tasks = (ChunkTask(i, i * len(big), big, np.zeros(0, dtype=np.int64)) for i in range(50))
    before = set(cfp._threads_wakeups)
    gen = ProcessExecutor(2).run(FunctionEvaluator(_slow), tasks)
    next(gen)                                      # the pool runs, its queue is full
    # taken before the interrupt: the registry is weak, so a thread that ends at once drops out of it
    threads = [t for t in cfp._threads_wakeups if t not in before]
    t0 = time.monotonic()
    gen.close()                                    # what Ctrl-C does to the running sweep
    for t in threads:
        t.join(EXIT_BOUND)
    assert threads and not any(t.is_alive() for t in threads), "a pool thread would block the exit"
    assert time.monotonic() - t0 < EXIT_BOUND


def test_a_result_torn_by_a_killed_worker_does_not_leave_the_pool_reader_blocked():
    """The hang CI met: a worker terminated while sending a large result leaves the pool's manager
    thread in ``recv()`` waiting for the rest of the message, and interpreter exit joins it. Here
    the torn message is made by hand (a header promising 1 MB, then 100 bytes) so the race is
    certain; the stop path must complete it so the reader fails and ends."""
    import multiprocessing as mp
    import struct
    import threading

    from sim.sweep.executors import _unblock_manager

    results = mp.get_context("spawn").SimpleQueue()
    outcome: list[str] = []

    def reader() -> None:
        try:
            results.get()
            outcome.append("read")
        except Exception as exc:  # noqa: BLE001 - what the pool's manager sees: an unpicklable message
            outcome.append(type(exc).__name__)

    os.write(results._writer.fileno(), struct.pack("!i", 1 << 20) + bytes(100))
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive(), "the reader should be blocked on the torn message"
    t0 = time.monotonic()
    _unblock_manager(thread, results, time.monotonic() + EXIT_BOUND)
    thread.join(1.0)
    assert not thread.is_alive() and outcome and outcome[0] != "read"
    assert time.monotonic() - t0 < EXIT_BOUND


def test_two_runs_into_the_same_folder_at_once_both_succeed(tmp_path):
    """Once 'Directory not empty' (exit 1) and temporary folders left: now the second waits for the lock."""
    out = tmp_path / "out"
    scn = ROOT / "scenarios" / "graphite-controls-2025.yaml"
    cmd = [sys.executable, "-m", "sim", "run", str(scn), "--out", str(out), "--quiet", "--no-plots"]
    ps = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=180) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], results
    assert sorted(n for n in os.listdir(out) if not n.endswith(".lock")) == ["graphite-controls-2025"]
    json.loads((out / "graphite-controls-2025" / "summary.json").read_text())
