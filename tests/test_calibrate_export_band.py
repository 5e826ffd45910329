"""The export band of a scenario ensemble: ordered quantiles, 1 before the announcement, a dip after."""
from __future__ import annotations

import datetime as dt

from conftest import MAIN


def test_export_band_of_the_main_scenario():
    from sim.calibrate.export_band import monthly_band

    out = monthly_band(MAIN, samples=16, seed=0, months=30, start=dt.date(2025, 6, 1))
    rows = out["rows"]
    assert len(rows) == 30 and out["origin"] == "CN" and out["material"] == "graphite"
    for r in rows:
        assert 0 <= r["p05"] <= r["p50"] <= r["p95"]
    assert abs(rows[0]["p50"] - 1.0) < 0.05                     # June 2025: before the announcement
    after = [r["p50"] for r in rows if r["month"] >= "2027-01"]   # licensing back in force from 10 Nov 2026
    assert min(after) < 0.9
