"""Benchmark of `batsim explore` on the main scenario (prints measured figures only).

    python bench/bench_explore.py                  # 4 of the 50 policies x 4,096 futures (16,384 evaluations)
    python bench/bench_explore.py --one-worker     # also explore on 1 worker, like for like with the plain run
    python bench/bench_explore.py --policies 50 --futures 10000   # the issue's full size (long on 2 cores)

Target (issue 15): 50 policy combinations x 10,000 futures of the main scenario (weekly, 10 years)
in <= 10 minutes on 2 cores. The default size is smaller but runs the full size's chunks (4,096
rows, so each engine call is as large as at full size); the script prints the measured rate, the
rate of a plain ensemble of the same scenario in the same run (``sim.run(samples=N,
record="summary")`` in one process), their ratio, and, labelled as such, what the full size would
take at the measured rate (evaluations are independent chunks, so time grows linearly with
policies x futures).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAIN = ROOT / "scenarios" / "graphite-controls-2025.yaml"
FULL = 50 * 10_000

# 5 x 5 x 2 = 50 combinations: stockpile size, Si/C expansion date, allied offtake
POLICY = """id: bench-explore
kpi: cell_output_shortfall_gwh
threshold: {kpi: peak_shortfall_fraction, max: 0.05}
levers:
  stockpile:
    options:
%s
  sic:
    options:
%s
  offtake:
    options:
      "off": {patch: {}, cost: {lever: 0, unit: USD, why: bench}}
      "on":
        patch: {supply: {graphite: {ALLIED: {capacity: {param: policy_levers.allied_capacity_with_offtake}}}}}
        cost: {param: policy_costs.allied_offtake_premium}
design: full_factorial
"""


def _policy() -> str:
    stock = []
    for days in (0, 30, 60, 90, 120):
        stock.append(f"      d{days}:\n        patch: {{reserves: {{graphite: {{initial: {{lever: {days * 480}, unit: t, "
                     f"why: bench}}, trigger_days: {{lever: 20, unit: day, why: bench}}, release_days: {{lever: 90, "
                     f"unit: day, why: bench}}}}}}}}\n        cost: {{lever: {days * 3.6e6}, unit: USD, why: bench}}")
    sic = ['      none: {patch: {}, cost: {lever: 0, unit: USD, why: bench}}']
    for i, year in enumerate((2026, 2027, 2028, 2029)):
        sic.append(f"      y{year}:\n        patch:\n          pipeline:\n            - {{id: bench-sic, name: bench, "
                   f"region: US, product: sic, capacity: {{lever: 20, unit: GWh/year, why: bench}}, online: "
                   f"{{lever: {year}-07-01, unit: date, why: bench}}, ramp_years: {{lever: 3, unit: year, why: bench}}}}"
                   f"\n        cost: {{lever: {(4 - i) * 5e7}, unit: USD, why: bench}}")
    return POLICY % ("\n".join(stock), "\n".join(sic))


def _explore(pol: Path, out: Path, futures: int, workers: int, chunk: int) -> tuple[float, Any]:
    """Wall time of one exploration, and its result with the run record of its evaluations attached."""
    import json

    from sim.explore import explore

    t0 = time.perf_counter()
    res = explore(MAIN, pol, samples=futures, seed=0, out=out, workers=workers, chunk_size=chunk, plots=True,
                  log=lambda m: None)
    wall = time.perf_counter() - t0
    res.summary_run = json.loads((res.folder / "manifest.json").read_text())["runs"][-1]   # seconds, evals/s
    return wall, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", type=int, default=4, help="combinations of the 50 to run (a sampled design; 50 = all)")
    ap.add_argument("--futures", type=int, default=4096)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--one-worker", action="store_true", help="also time explore on 1 worker (like for like with "
                    "the single-process plain ensemble)")
    args = ap.parse_args()
    from sim.api import run
    from sim.sweep.run import auto_chunk

    import sim

    chunk = auto_chunk(FULL)          # the full size's chunks, so each engine call is as large as there
    with tempfile.TemporaryDirectory() as tmp:
        pol = Path(tmp) / "bench.yaml"
        text = _policy()
        if args.policies != 50:
            text = text.replace("design: full_factorial", f"design: {{sampled: {args.policies}}}")
        pol.write_text(text, encoding="utf-8")
        wall, res = _explore(pol, Path(tmp) / "out", args.futures, args.workers, chunk)
        one = None
        if args.one_worker:
            w1, r1 = _explore(pol, Path(tmp) / "out1", args.futures, 1, chunk)
            one = (w1, r1.summary_run["evals_per_second"])
        scn = sim.load_scenario(MAIN)
        t0 = time.perf_counter()
        run(scn, samples=args.futures, seed=0, record="summary")
        plain = time.perf_counter() - t0
    n = len(res.names) * args.futures
    ev = res.summary_run["evals_per_second"]
    fixed = wall - res.summary_run["seconds"]
    rate, prate = n / wall, args.futures / plain
    print(f"explore, main scenario: {len(res.names)} policies x {args.futures:,} futures = {n:,} evaluations in "
          f"{wall:.1f} s on {args.workers} workers, chunks of {chunk:,}: {rate:,.0f} evaluations/s overall")
    print(f"  of which the evaluations: {res.summary_run['seconds']:.1f} s, {ev:,.0f} evaluations/s; the rest "
          f"(checks and compile of every policy, futures, PRIM, CART, plots, files): {fixed:.1f} s")
    if one is not None:
        print(f"explore on 1 worker: evaluations {one[1]:,.0f} evaluations/s ({n / one[0]:,.0f}/s overall)")
    print(f"plain ensemble, same scenario, same run: sim.run(samples={args.futures:,}, record='summary') in one "
          f"process: {plain:.1f} s, {prate:,.0f} samples/s")
    print(f"ratio of evaluation rates explore / plain: {ev / prate:.2f} on {args.workers} workers "
          f"({ev / prate / args.workers:.2f} per worker)" + (f"; {one[1] / prate:.2f} on 1 worker" if one else ""))
    if n < FULL:
        print(f"extrapolated (not measured): 50 x 10,000 = {FULL:,} evaluations at the measured evaluation rate "
              f"plus the fixed part: {(FULL / ev + fixed) / 60:.1f} min on {args.workers} workers (target <= 10 min); "
              f"at {args.workers} x the plain rate: {FULL / (prate * args.workers) / 60:.1f} min")
    else:
        print(f"measured at full size: {wall / 60:.1f} min (target <= 10 min)")


if __name__ == "__main__":
    main()
