"""Monotonicity: a tighter control never lowers the price nor raises the controlled origin's exports."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from market_cases import lever, run, write


def licensed(tmp: Path, approval: float) -> tuple[float, float, float]:
    """(mean allied link price, mean US graphite price index, CN graphite shipped) with a US licence."""
    name = f"lic{int(round(approval * 1000)):04d}"
    p = write(tmp, name, "policies:\n  export_controls:\n    - {id: cn-graphite-us-ban, remove: true}\n"
              "    - id: cn-graphite-us-licence\n      origin: CN\n      material: graphite\n      destination: US\n"
              "      regime: licence\n      effective: " + lever("2026-01-05", "date") + "\n"
              "      diversion: " + lever(0.5) + "\n      licence: {capacity_share: " + lever(0.4)
              + ", approval: " + lever(approval) + ", decision_days: " + lever(45, "day") + "}\n")
    mm = run(p, samples=1, record="summary")
    o, g = mm.st.regions.index("ALLIED"), mm.st.materials.index("graphite")
    allied = mm.links.index((o, g))
    li_cn = mm.links.index((mm.st.regions.index("CN"), g))
    pi = mm.result.importers["US"].series["price_index"][:, 0, g]
    cn_exports = sum(float(r.shipped_l[0, li_cn]) for r in mm.runs)
    return float(mm.link_price[:, 0, allied].mean()), float(pi.mean()), cn_exports


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.floats(0.05, 0.95), b=st.floats(0.05, 0.95))
def test_a_lower_approval_share_never_lowers_the_price_nor_raises_cn_exports(tmp_path, a, b):
    lo, hi = sorted((a, b))
    if hi - lo < 0.05:
        hi = min(1.0, lo + 0.05)
    p_tight, pi_tight, x_tight = licensed(tmp_path, lo)
    p_loose, pi_loose, x_loose = licensed(tmp_path, hi)
    assert p_tight >= p_loose - 1e-12
    assert pi_tight >= pi_loose - 1e-9
    assert x_tight <= x_loose * (1 + 1e-12)


def test_the_extremes_differ_so_the_property_is_not_vacuous(tmp_path):
    p_tight, pi_tight, x_tight = licensed(tmp_path, 0.05)
    p_loose, pi_loose, x_loose = licensed(tmp_path, 0.95)
    assert p_tight > 1.0                             # the diverted orders make allied supply scarce
    assert pi_tight > pi_loose * 1.05 and x_tight < x_loose * 0.9
