"""Benchmark of the discrete-event engine (prints rates and ratios measured in one run).

    python bench/bench_des.py [--replications 48] [--rounds 3] [--repeats 3] [--convergence]

Targets (issue 4): one 10-year weekly DES run of the main scenario <= 2 s; replications on 2
processes >= 1.6x faster than on 1. Issue 14: SimPy events per second of the DES within 3x of
bare SimPy timeouts per second measured in the same process (so a busy machine slows both).
Prints SimPy events per CPU-second of one replication, the events per replication (lots are sized
so a run holds thousands to tens of thousands), bare SimPy timeouts per CPU-second (interleaved
with the replications) and their ratio, one replication's CPU time in bare SimPy timeouts, and
replications per second (wall time) on 1 and 2 processes.
``--convergence`` also prints the table of DES errors against the stock-flow engine as lots
shrink (fixed delays; see docs/des.md).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import simpy  # noqa: E402

import sim  # noqa: E402
from sim.des import run_des  # noqa: E402
from sim.des.inputs import build_inputs  # noqa: E402
from sim.des.model import Replication  # noqa: E402
from sim.des.params import read_settings  # noqa: E402
from sim.des.streams import replication_seeds  # noqa: E402
from sim.scenario.compile import resolve  # noqa: E402
from sim.stockflow.engine import StockFlowModel  # noqa: E402
from sim.stockflow.structure import build_structure  # noqa: E402

MAIN = ROOT / "scenarios" / "graphite-controls-2025.yaml"


def _timed(fn, clock=time.perf_counter) -> tuple[float, object]:
    t = clock()
    out = fn()
    return clock() - t, out


def _cpu(fn) -> tuple[float, object]:
    """CPU seconds of this process (a shared machine's other jobs stretch wall time, not this)."""
    return _timed(fn, time.process_time)


def bare_simpy(n: int = 100_000, procs: int = 100) -> float:
    """Timeouts per second of bare SimPy: ``procs`` processes each yielding timeouts of random length."""
    env = simpy.Environment()
    delays = np.random.default_rng(0).exponential(1.0, (procs, n // procs)).tolist()

    def proc(row):
        for d in row:
            yield env.timeout(d)

    for row in delays:
        env.process(proc(row))
    dt, _ = _cpu(env.run)
    return procs * (n // procs) / dt


def events_per_second(scn: sim.Scenario, repeats: int) -> None:
    """SimPy events per second inside one replication (model build + run, no pool, no output),
    against bare SimPy timeouts per second measured between the replications."""
    res = resolve(scn)
    inp = build_inputs(scn, build_structure(scn), StockFlowModel(scn, res), res, read_settings(scn, res), "des")[0]
    seeds = replication_seeds(7, repeats + 1)
    Replication(inp, seeds[-1]).run()  # warm
    bare_simpy(10_000)
    rates, counts, secs, bare = [], [], [], [bare_simpy()]
    for ss in seeds[:repeats]:
        dt, out = _cpu(lambda: Replication(inp, ss).run())
        rates.append(out.n_events / dt)
        counts.append(out.n_events)
        secs.append(dt)
        bare.append(bare_simpy())
    rate, simpy_rate = statistics.median(rates), statistics.median(bare)
    print(f"SimPy events per replication: median {statistics.median(counts):,.0f} "
          f"(graphite lot {inp.lot_size[0]:.0f} t, {inp.T} steps)")
    print(f"SimPy events per CPU-second (one replication): median {rate:,.0f} "
          f"({statistics.median(secs) * 1e3:.0f} ms CPU per replication, model build included)")
    print(f"bare SimPy timeouts per CPU-second (same process, between the replications): median {simpy_rate:,.0f}; "
          f"DES {simpy_rate / rate:.2f}x below bare SimPy  [target <= 3x]")
    # a load-independent size of one replication: how many bare SimPy timeouts take as long
    ratios = [dt * b for dt, b in zip(secs, bare[1:])]
    print(f"one replication takes as long as {statistics.median(ratios):,.0f} bare SimPy timeouts "
          f"(the timeouts measured just after it)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, default=48, help="0: skip the 1- and 2-process rounds")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved 1- and 2-process rounds")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--convergence", action="store_true", help="also print the convergence table")
    a = ap.parse_args()
    scn = sim.load_scenario(MAIN)
    cal = scn.calendar
    print(f"scenario {scn.id}: {cal.n} {cal.step} steps ({cal.start} .. {cal.end}); CPUs: {os.cpu_count()}")

    run_des(scn, seed=0, workers=1)  # warm imports and caches
    one = [_timed(lambda: run_des(scn, seed=s, workers=1))[0] for s in range(a.repeats)]
    print(f"one 10-year weekly DES run (API, setup included): median {statistics.median(one):.3f} s  [target <= 2 s]")
    events_per_second(scn, a.repeats)

    # 1 and 2 processes interleaved, several rounds: a burst of other load on the machine hits
    # both sides alike, and the medians show it less
    n = a.replications
    if n < 1:
        if a.convergence:
            convergence()
        return
    t1s, t2s, same = [], [], True
    for r in range(a.rounds):
        t1, r1 = _timed(lambda: run_des(scn, replications=n, seed=1 + r, workers=1))
        t2, r2 = _timed(lambda: run_des(scn, replications=n, seed=1 + r, workers=2))
        t1s.append(t1)
        t2s.append(t2)
        same &= all(np.array_equal(r1.trajectory.series[k], r2.trajectory.series[k]) for k in r1.trajectory.series
                    if isinstance(r1.trajectory.series[k], np.ndarray))
    m1, m2 = statistics.median(t1s), statistics.median(t2s)
    print(f"{n} replications on 1 process: median {m1:.2f} s over {a.rounds} rounds ({n / m1:.1f} replications/s)")
    print(f"{n} replications on 2 processes: median {m2:.2f} s ({n / m2:.1f} replications/s)")
    ratios = ", ".join(f"{x / y:.2f}" for x, y in zip(t1s, t2s))
    print(f"speed-up on 2 processes: {m1 / m2:.2f}x (rounds: {ratios})  [target >= 1.6x]; "
          f"identical results: {same}")
    if a.convergence:
        convergence()


def convergence() -> None:
    """Errors of the DES against the stock-flow engine as lots shrink (fixed delays)."""
    from sim.des.verify import agreement, deterministic_variant, licence_terms
    from sim.stockflow import kpis as K
    from sim.stockflow.engine import simulate

    with tempfile.TemporaryDirectory() as tmp:
        for label, extra, reps in (("licence approvals random (p = 0.6)", licence_terms("cn-anode-2025", approval=0.6), 8),
                                   ("licence approvals all granted (fully deterministic DES)",
                                    licence_terms("cn-anode-2025", approval=1.0), 1)):
            print(f"\nconvergence, {label}; mean over {reps} replication(s)")
            print(f"{'lots/step':>9} {'lot t':>7} {'events':>8} {'out rms':>8} {'out max':>8} {'out cum':>8} "
                  f"{'backlog':>8} {'shortfall':>9} {'stockout d':>10}")
            sf = k_sf = None
            for lps in (1, 2, 4, 8, 16, 32, 64):
                p = Path(tmp) / f"v{lps}.yaml"
                p.write_text(deterministic_variant(MAIN, lps, extra=extra), encoding="utf-8")
                v = sim.load_scenario(p)
                if sf is None:
                    sf = simulate(v, resolve(v))
                    k_sf = K.compute(sf)
                r = run_des(v, replications=reps, seed=3)
                e = {k: float(x.mean()) for k, x in agreement(r.trajectory, sf).items()}
                short = float(np.abs(r.kpis["cell_output_shortfall_gwh"] / k_sf["cell_output_shortfall_gwh"][0] - 1).mean())
                dso = float(np.abs(r.kpis["days_until_stockout"] - k_sf["days_until_stockout"][0]).mean())
                print(f"{lps:>9} {r.settings['lot_size_t']['graphite']:>7.0f} {int(r.n_events.mean()):>8} "
                      f"{e['output_rms']:>8.4f} {e['output_max']:>8.4f} {e['output_cum']:>8.5f} {e['backlog_max']:>8.4f} "
                      f"{short:>9.4f} {dso:>10.1f}")
            print("out rms/max: cell output error / peak planned output; out cum: cumulative output gap / total "
                  "planned; backlog: max licence-backlog error / peak; shortfall: relative error of the "
                  "shortfall KPI; stockout d: |days until stock-out difference|")


if __name__ == "__main__":
    main()
