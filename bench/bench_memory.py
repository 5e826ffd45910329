"""Benchmark of bounded memory: peak RSS of a large run against its budget (printed as a ratio).

    python bench/bench_memory.py [--samples 20000] [--memory 512MB] [--record summary]
    python bench/bench_memory.py --calibrate      # measured vs estimated bytes per sample-step

The run is made in a fresh subprocess (so that nothing else in this process counts) that reads
its own ``ru_maxrss`` before and after ``sim.run``; the budget covers the run's arrays, not the
interpreter or the modules it imports, so "before" is read after a 2-sample warm-up run and the
ratio printed is (peak - RSS before the run) / budget. ``--calibrate`` measures, by tracemalloc on
blocks of 64 and 128 samples, what each shipped scenario allocates per sample-step, beside the
estimate of ``sim.stockflow.memory`` and the fixed part it implies (the constants' source).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAIN = ROOT / "scenarios" / "graphite-controls-2025.yaml"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import sim
from sim.stockflow.ensemble import block_for
from sim.stockflow.memory import resolved_bytes
scn = sim.load_scenario({scenario!r})
sim.run(scn, samples=2, seed=1, record={record!r})     # warm-up: modules the engine imports lazily (scipy, ...)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
res = sim.run(scn, samples={samples}, seed=1, record={record!r}, memory={memory!r})
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"before_kib": before, "peak_kib": peak, "seconds": seconds,
                  "block": block_for(scn, {samples}, {memory!r}, {record!r}, resolved_bytes(res.resolved)),
                  "shortfall_median": float(sorted(res.kpis["cell_output_shortfall_gwh"])[{samples} // 2])}}))
"""


def measure_run(scenario: Path, samples: int, memory: str, record: str) -> dict:
    """Run ``sim.run`` in a subprocess and return its RSS before and at the peak (KiB), and timing."""
    code = CHILD.format(root=str(ROOT), scenario=str(scenario), samples=samples, memory=memory, record=record)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def calibrate() -> None:
    """Measured bytes per sample-step per shipped scenario and record, beside the estimate."""
    import sim
    from sim.stockflow import memory as mem
    from sim.stockflow.structure import build_structure

    print(f"{'scenario':34s} {'record':7s} {'measured':>9s} {'estimate':>9s} {'ratio':>6s} {'fixed part':>10s}")
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scn = sim.load_scenario(path)
        st = build_structure(scn)
        for record in ("summary", "full"):
            got = mem.measured_bytes_per_sample_step(scn, record)
            est = mem.bytes_per_sample_step(st, record)
            fixed = got / 8 - (mem.series_per_sample_step(st, record) - mem.FIXED[record])
            print(f"{scn.id:34s} {record:7s} {got:9.0f} {est:9.0f} {est / got:6.2f} {fixed:10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=MAIN)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--memory", default="512MB", help="budget, e.g. 512MB, 2GB (default 512MB)")
    ap.add_argument("--record", default="summary", choices=("summary", "full"))
    ap.add_argument("--calibrate", action="store_true", help="measured vs estimated bytes per sample-step")
    a = ap.parse_args()
    if a.calibrate:
        calibrate()
        return
    from sim.stockflow.memory import fmt_bytes, parse_memory

    budget = parse_memory(a.memory)
    r = measure_run(a.scenario, a.samples, a.memory, a.record)
    used = (r["peak_kib"] - r["before_kib"]) * 1024
    print(f"{a.scenario.name}: {a.samples:,} samples, record={a.record}, budget {a.memory} ({fmt_bytes(budget)}), "
          f"block {r['block']} samples, {r['seconds']:.1f} s")
    print(f"  RSS before the run {fmt_bytes(r['before_kib'] * 1024)}, peak {fmt_bytes(r['peak_kib'] * 1024)}")
    print(f"  peak - before = {fmt_bytes(used)}; ratio to budget {used / budget:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
