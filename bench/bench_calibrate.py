"""Benchmark of the joint calibration (prints measured figures, all from one run).

    python bench/bench_calibrate.py            # the shipped config, full settings
    python bench/bench_calibrate.py --quick    # the same episodes, the --quick settings of the CLI

Target (issue 9): the joint fit of three episodes in <= 5 minutes on 2 cores (vectorised: each
Levenberg-Marquardt iteration is one engine call per episode holding every trial step and its
finite-difference Jacobian). Nothing is written to the registry.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = ROOT / "calibration" / "episodes.yaml"


def main() -> None:
    from sim.calibrate.episodes import load_config
    from sim.calibrate.joint import build_models, fit_joint
    from sim.calibrate.joint_run import shrink

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--config", default=str(CONFIG))
    args = ap.parse_args()
    t0 = time.perf_counter()
    cfg = load_config(args.config)
    if args.quick:
        shrink(cfg)
    models = build_models(cfg)
    t1 = time.perf_counter()
    res = fit_joint(cfg, models)
    t2 = time.perf_counter()
    print(f"episodes: {len(models)} ({', '.join(m.id for m in models)}); settings: population {cfg.population}, "
          f"starts {cfg.starts}, EM rounds <= {cfg.outer}, LM iterations <= {cfg.inner}")
    print(f"load and check: {t1 - t0:.1f} s")
    print(f"joint fit: {t2 - t1:.1f} s ({'within' if t2 - t1 <= 300 else 'OVER'} the 5-minute target); "
          f"{res.evaluations} model runs in {res.calls} vectorised engine calls "
          f"({res.evaluations / max(res.calls, 1):.0f} samples per call, {(t2 - t1) / max(res.calls, 1):.2f} s per call)")


if __name__ == "__main__":
    main()
