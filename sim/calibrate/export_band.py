"""The predictive band of the controlled origin's exports in a scenario run as an ensemble.

``python -m sim.calibrate.export_band SCENARIO [--samples N] [--seed S]`` prints, month by month, the
median and 5-95% band over samples of what arrives from the control's origin of its material, as a
ratio to the mean of the months before the control is announced (arrivals, not customs exports:
they lag shipments by the lead time). With licence terms drawn from a fitted population this is the
band the history of the calibrated episodes supports.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np


def monthly_band(path: str | Path, samples: int = 1000, seed: int = 0, months: int = 14,
                 start: dt.date | None = None) -> dict:
    """Monthly median and 5-95% band of the first control's origin-material arrivals, normalised."""
    import sim

    scn = sim.load_scenario(path)
    res = sim.run(scn, samples=samples, seed=seed, record="full")
    ctl = scn.doc.data["policies"]["export_controls"][0]
    st = res.trajectory.structure
    origin, material = str(ctl["origin"]), str(ctl["material"])
    flow = res.trajectory.series["deliveries"][:, :, st.regions.index(origin), st.materials.index(material)]
    cal = scn.calendar
    td, dts = res.trajectory.t_days, res.trajectory.dt_days
    announced = np.asarray(res.resolved.slots.get("policies.export_controls.0.announced"), dtype=float)
    ann = float(np.min(announced))

    def over(a: float, b: float) -> np.ndarray:
        w = np.clip(np.minimum(td + dts, b) - np.maximum(td, a), 0.0, None)
        return (w[:, None] * flow).sum(axis=0) / max(b - a, 1e-9)

    base = over(max(0.0, ann - 365.0), ann)                      # (S,) t/day in the year before the announcement
    first = start or cal.date_of(ann)
    d = dt.date(first.year, first.month, 1)
    rows = []
    for _ in range(months):
        n = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        v = over(float(cal.day_of(d)), float(cal.day_of(n))) / np.maximum(base, 1e-300)
        rows.append({"month": d.isoformat()[:7], "p05": float(np.quantile(v, 0.05)),
                     "p50": float(np.median(v)), "p95": float(np.quantile(v, 0.95))})
        d = n
    return {"scenario": scn.id, "samples": samples, "seed": seed, "origin": origin, "material": material,
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", default=None, help="first month, YYYY-MM (default: the announcement's month)")
    ap.add_argument("--months", type=int, default=14)
    a = ap.parse_args()
    start = dt.date.fromisoformat(a.start + "-01") if a.start else None
    out = monthly_band(a.scenario, a.samples, a.seed, a.months, start)
    print(f"{out['scenario']}: arrivals from {out['origin']} of {out['material']}, ratio to the year before the "
          f"announcement ({out['samples']} samples, seed {out['seed']})")
    print(f"{'month':<8} {'p05':>6} {'median':>6} {'p95':>6}")
    for r in out["rows"]:
        print(f"{r['month']:<8} {r['p05']:>6.2f} {r['p50']:>6.2f} {r['p95']:>6.2f}")


if __name__ == "__main__":
    main()
