"""Benchmark of the market engine: sample-steps per second of a five-importer weekly ten-year run
beside the single-importer engine on the same base scenario (one vectorised call each).

    python bench/bench_market.py              # 2,000 samples
    python bench/bench_market.py --samples 10000

The five-importer scenario is the test fixture tests/market/five-importers.yaml (what-if market
values over the shipped baseline). A sample-step is one sample advanced one step for all importers.
Then the shipped world scenario (scenarios/world-graphite-controls-2025.yaml: six importers,
weekly, ten years): CPU per sample of one vectorised call of --samples samples against one-sample
calls (issue 10 asks for at least 100x).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIVE = ROOT / "tests" / "market" / "five-importers.yaml"
WORLD = ROOT / "scenarios" / "world-graphite-controls-2025.yaml"
SINGLE_CALLS = 3
ONE = ROOT / "scenarios" / "baseline.yaml"


def main() -> None:
    import sim
    from sim.scenario.compile import resolve
    from sim.stockflow.engine import simulate
    from sim.stockflow.market import simulate_market

    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    S = args.samples
    rows = []
    for label, path, fn in (("single importer (simulate)", ONE, simulate),
                            ("five importers (simulate_market)", FIVE, simulate_market)):
        scn = sim.load_scenario(path)
        res = resolve(scn, samples=S, seed=1)
        t0 = time.process_time()
        fn(scn, res, record="summary")
        cpu = time.process_time() - t0
        n = len(getattr(scn, "importers", {})) + 1
        rows.append((label, n, scn.calendar.n, cpu, S * scn.calendar.n / cpu))
    for label, n, T, cpu, rate in rows:
        print(f"{label:34s} importers={n} samples={S} steps={T} cpu={cpu:.2f}s  {rate / 1e6:.3f} M sample-steps/s")
    print(f"five-importer run per sample-step: {rows[0][4] / rows[1][4]:.2f}x the single-importer cost")

    world = sim.load_scenario(WORLD)
    res = resolve(world, samples=S, seed=1)
    t0 = time.process_time()
    simulate_market(world, res, record="summary")
    vec = (time.process_time() - t0) / S
    singles = []
    for k in range(SINGLE_CALLS):
        one = resolve(world, samples=1, seed=k)
        t0 = time.process_time()
        simulate_market(world, one, record="summary")
        singles.append(time.process_time() - t0)
    single = sorted(singles)[len(singles) // 2]
    n = len(world.importers) + 1
    print(f"world scenario ({n} importers, {world.calendar.n} steps): vectorised {S} samples "
          f"{vec * 1e3:.2f} ms CPU/sample, one-sample call {single * 1e3:.0f} ms (median of {SINGLE_CALLS}): "
          f"{single / vec:.0f}x cheaper per sample (target >= 100x)")


if __name__ == "__main__":
    main()
