"""Benchmark of `batsim explore` on the main scenario (prints measured figures only).

    python bench/bench_explore.py                 # 50 policies x 200 futures (10,000 evaluations)
    python bench/bench_explore.py --futures 10000 # the issue's full size (50 x 10,000; long on 2 cores)

Target (issue 15): 50 policy combinations x 10,000 futures of the main scenario (weekly, 10 years)
in <= 10 minutes on 2 cores. The default size is smaller; the script prints the measured rate and,
labelled as such, what the full size would take at that rate (evaluations are independent
chunks, so time grows linearly with policies x futures).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from sim.explore import explore

    with tempfile.TemporaryDirectory() as tmp:
        pol = Path(tmp) / "bench.yaml"
        pol.write_text(_policy(), encoding="utf-8")
        t0 = time.perf_counter()
        res = explore(MAIN, pol, samples=args.futures, seed=0, out=Path(tmp) / "out", workers=args.workers,
                      plots=True, log=lambda m: None)
        wall = time.perf_counter() - t0
    n = len(res.names) * args.futures
    rate = n / wall
    print(f"explore, main scenario: {len(res.names)} policies x {args.futures:,} futures = {n:,} evaluations "
          f"in {wall:.1f} s on {args.workers} workers (including checks, PRIM and plots): {rate:,.0f} evaluations/s")
    if n < FULL:
        print(f"extrapolated at that rate (not measured): 50 x 10,000 = {FULL:,} evaluations in {FULL / rate / 60:.1f} min "
              f"(target <= 10 min)")
    else:
        print(f"measured at full size: {wall / 60:.1f} min (target <= 10 min)")


if __name__ == "__main__":
    main()
