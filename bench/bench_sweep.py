"""Benchmark of sweeps (prints measured figures and ratios, all from one run).

    python bench/bench_sweep.py            # full sizes (a few minutes on 2 cores)
    python bench/bench_sweep.py --quick    # smaller sizes, same measurements

Targets (issue 5), on 2 cores:
- MC 100,000 samples of the main scenario (weekly, 10 years), stock-flow engine: <= 60 s with peak
  memory (this process + its workers, summed) <= 2 GB; prints sample-steps per second.
- Sobol, 12 parameters, N = 2048 (28,672 evaluations), including analysis and plots: <= 30 s.
- Dask LocalCluster: 2 workers >= 1.6x the throughput of 1 worker (cluster start excluded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAIN = ROOT / "scenarios" / "graphite-controls-2025.yaml"
SOBOL_PARAMS = [
    "calibrated.episodes.licence_approval_share", "calibrated.episodes.licence_decision_days", "controls.diversion",
    "controls.exempt_share", "calibrated.episodes.front_running", "inventory.anode_days", "us.cell_capacity_growth_2025_if_all_open", "cells.utilisation_max",
    "us.ev_battery_demand_share_2024", "supply.exchina_available_to_us_fraction", "lead_time.cn_us_ready_to_port_exit",
    "sic.max_share",
]


class PeakRSS:
    """Peak of the summed resident memory of this process and all its descendants (polled)."""

    def __init__(self, every: float = 0.05):
        import psutil

        self.proc, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> "PeakRSS":
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _burn(n: int) -> float:
    """Pure-Python busy loop; returns its wall time."""
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t


def cpu_check(n: int = 3_000_000) -> float:
    """How many CPUs two busy processes really get now (2.0 on an idle 2-core machine)."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [10_000, 10_000])
        one = min(pool.map(_burn, [n]))
        t = time.perf_counter()
        pool.map(_burn, [n, n])
        both = time.perf_counter() - t
    return 2 * one / both


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def bench_mc(scn, n: int, workers: int, tmp: Path) -> dict:
    """A full MC sweep (evaluation, shards, analysis, bands, plots); figures from one run."""
    from sim.sweep import sweep

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        r = sweep(scn, "mc", samples=n, seed=1, workers=workers, out=tmp / f"mc-{n}-{workers}", plots=True)
        total = time.perf_counter() - t0
    run = _manifest(r.folder)["runs"][-1]
    return {"n": n, "total_s": total, "eval_s": run["seconds"], "peak_rss": mem.peak, "failures": r.failures,
            "chunk": _manifest(r.folder)["chunk_size"]}


def bench_sobol(scn, n: int, workers: int, tmp: Path) -> dict:
    """A Sobol sweep over 12 parameters including analysis and plots."""
    from sim.sweep import sweep

    t0 = time.perf_counter()
    r = sweep(scn, "sobol", samples=n, seed=1, params=SOBOL_PARAMS, workers=workers, out=tmp / f"sobol-{n}", plots=True)
    total = time.perf_counter() - t0
    run = _manifest(r.folder)["runs"][-1]
    return {"n": n, "evals": len(r.design), "total_s": total, "eval_s": run["seconds"],
            "analysis_s": r.summary["analysis_seconds"], "plots": len(list((r.folder / "plots").glob("*.png")))}


def rate(scn, n: int, tmp: Path, name: str, **kw) -> float:
    """Evaluations per second of the evaluation loop of one MC sweep (no series kept, no plots)."""
    from sim.sweep import sweep

    r = sweep(scn, "mc", samples=n, seed=2, out=tmp / name, plots=False, keep=0, **kw)
    run = _manifest(r.folder)["runs"][-1]
    return run["evaluations"] / run["seconds"]


def bench_dask(scn, n: int, chunk: int, tmp: Path, repeats: int) -> dict[int, float]:
    """Best-of-``repeats`` throughput of the same sweep on a LocalCluster of 1 and of 2 worker processes."""
    import distributed

    best = {1: 0.0, 2: 0.0}
    for rep in range(repeats):
        for w in (1, 2):
            with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None,
                                          host="127.0.0.1") as cluster:
                addr = cluster.scheduler_address
                rate(scn, 64, tmp, f"dask-warm-{w}-{rep}", executor="dask", scheduler=addr, chunk_size=32)  # warm
                best[w] = max(best[w], rate(scn, n, tmp, f"dask-{w}-{rep}", executor="dask", scheduler=addr,
                                            chunk_size=chunk))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (MC 10,000; Sobol N = 256; Dask 8,000)")
    ap.add_argument("--workers", type=int, default=2, help="local pool size (default 2: the targets are for 2 cores)")
    a = ap.parse_args()
    import logging

    logging.getLogger("distributed").setLevel(logging.WARNING)
    import sim
    from sim.sweep.run import auto_chunk

    scn = sim.load_scenario(MAIN)
    steps = scn.calendar.n
    n_mc, n_sobol, n_ref, repeats = (10_000, 256, 8_000, 1) if a.quick else (100_000, 2048, 24_000, 2)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"scenario {scn.id}: {steps} {scn.calendar.step} steps; {os.cpu_count()} CPUs; local pool of {a.workers} "
          f"workers{'; quick sizes' if a.quick else ''}; load average before start {load:.2f}")
    print(f"CPU check: two busy processes get {cpu_check():.2f} CPUs now (2.00 on an idle 2-core machine; "
          "ratios below cannot exceed it)")
    if load > 0.5:
        print("  note: other processes are using the CPUs; wall-clock figures below are pessimistic")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp_s:
        tmp = Path(tmp_s)
        sim.run(scn, samples=64, record="summary")          # warm imports in this process
        chunk = auto_chunk(n_ref)

        # 1. the pool's speed-up over one process, same sweep and chunks
        r1 = rate(scn, n_ref, tmp, "serial", workers=1, chunk_size=chunk)
        r2 = rate(scn, n_ref, tmp, "pool", workers=a.workers, chunk_size=chunk)
        print(f"MC {n_ref:,} (chunks of {chunk}): 1 process {r1:,.0f} evals/s = {r1 * steps / 1e6:.2f} M sample-steps/s; "
              f"{a.workers} workers {r2:,.0f} evals/s = {r2 * steps / 1e6:.2f} M sample-steps/s: ratio {r2 / r1:.2f}x")

        # 2. MC on the local pool, the whole pipeline
        mc = bench_mc(scn, n_mc, a.workers, tmp)
        mrate = mc["n"] / mc["eval_s"]
        print(f"MC {mc['n']:,} samples, {a.workers} workers (chunks of {mc['chunk']}): evaluation {mc['eval_s']:.1f} s, "
              f"total incl. shards, analysis, bands and plots {mc['total_s']:.1f} s  [target <= 60 s for 100,000]")
        print(f"  {mrate:,.0f} evals/s = {mrate * steps / 1e6:.2f} M sample-steps/s; peak RSS of all processes "
              f"{mc['peak_rss'] / 2**20:,.0f} MiB  [target <= 2048 MiB]; failures {mc['failures']}")
        if a.quick:
            proj = 100_000 / mrate + (mc["total_s"] - mc["eval_s"])
            print(f"  projected for 100,000 samples at this rate: ~{proj:.0f} s")

        # 3. Sobol, 12 parameters
        sb = bench_sobol(scn, n_sobol, a.workers, tmp)
        print(f"Sobol, 12 parameters, N = {sb['n']} ({sb['evals']:,} evaluations): total {sb['total_s']:.1f} s "
              f"(evaluation {sb['eval_s']:.1f} s, analysis + {sb['plots']} plots {sb['analysis_s']:.1f} s)  "
              f"[target <= 30 s for N = 2048]")

        # 4. Dask LocalCluster, 1 vs 2 workers
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("Dask: dask.distributed not installed; skipped (pip install 'batsim[dask]')")
            return
        dk = bench_dask(scn, n_ref, chunk, tmp, repeats)
        print(f"Dask LocalCluster, MC {n_ref:,} (chunks of {chunk}, best of {repeats}): 1 worker {dk[1]:,.0f} evals/s, "
              f"2 workers {dk[2]:,.0f} evals/s: ratio {dk[2] / dk[1]:.2f}x  [target >= 1.6x]")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end {load:.2f}; CPU check at the end: {cpu_check():.2f} CPUs")


if __name__ == "__main__":
    main()
