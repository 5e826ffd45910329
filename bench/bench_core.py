"""Benchmark of the stock-flow engine and the CLI start-up (prints ratios measured in one run).

    python bench/bench_core.py [--samples 10000] [--repeats 5]

Targets (issue 2): model time of one run of the main scenario <= 50 ms; `batsim --help` <= 0.3 s;
one vectorised call of 10,000 samples >= 100x faster per sample than 100 single-sample calls.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.scenario.compile import resolve  # noqa: E402
from sim.stockflow.engine import simulate  # noqa: E402

MAIN = ROOT / "scenarios" / "graphite-controls-2025.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--singles", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    scn = sim.load_scenario(MAIN)
    steps = scn.calendar.n
    print(f"scenario {scn.id}: {steps} {scn.calendar.step} steps "
          f"({scn.calendar.start} .. {scn.calendar.end}, {steps / 52.18:.1f} years)")

    one = resolve(scn, 1, 0)
    simulate(scn, one)  # warm caches
    model_ms = [(_timed(lambda: simulate(scn, one, record="full"))) * 1e3 for _ in range(a.repeats)]
    print(f"model time of one run (full record): median {statistics.median(model_ms):.1f} ms "
          f"over {a.repeats} runs  [target <= 50 ms]")

    sim.run(scn, samples=16, seed=0, record="summary")  # warm: imports used only when sampling
    t_single = _timed(lambda: [sim.run(scn, samples=1, seed=i, record="summary") for i in range(a.singles)])
    per_single = t_single / a.singles
    t_vec = _timed(lambda: sim.run(scn, samples=a.samples, seed=1, record="summary"))
    per_vec = t_vec / a.samples
    print(f"{a.singles} single-sample calls: {t_single:.2f} s ({per_single * 1e3:.2f} ms per sample)")
    print(f"one call of {a.samples} samples: {t_vec:.2f} s ({per_vec * 1e3:.3f} ms per sample)")
    print(f"per-sample speed-up of the vectorised call: {per_single / per_vec:.0f}x  [target >= 100x]")
    print(f"sample-steps per second (vectorised): {a.samples * steps / t_vec:,.0f}")

    cmd = [sys.executable, "-m", "sim", "--help"]
    subprocess.run(cmd, capture_output=True, check=True)
    help_s = [_timed(lambda: subprocess.run(cmd, capture_output=True, check=True)) for _ in range(a.repeats)]
    bare = [_timed(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True))
            for _ in range(a.repeats)]
    print(f"`batsim --help`: median {statistics.median(help_s):.3f} s (bare python start "
          f"{statistics.median(bare):.3f} s)  [target <= 0.3 s]")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
