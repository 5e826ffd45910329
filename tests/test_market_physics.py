"""Physics of the coupled run: mass balance (global and per importer), prices, who is bound and when."""
from __future__ import annotations

import numpy as np
import pytest

from market_cases import FIXTURE, global_balance, lever, run, write


@pytest.fixture(scope="module")
def mm():
    return run(FIXTURE, samples=8, seed=5)


def test_what_origins_ship_is_received_in_transit_or_lost_for_every_material(mm):
    assert global_balance(mm).max() < 1e-9


def test_each_importer_balances_its_own_mass(mm):
    for r in mm.runs:
        err = r.inv + r.transit + r.reserve + r.consumed_cum + r.lost_cum - r.total0 - r.shipped_cum
        assert np.abs(err).max() <= 1e-9 * max(r.scale, float(r.shipped_cum.max()))
        assert r.inv.min() >= 0


def test_prices_are_positive_finite_and_rise_when_the_ban_makes_allied_supply_scarce(mm):
    lp = mm.link_price
    assert np.all(np.isfinite(lp)) and lp.min() >= 1.0 and lp.max() <= 20.0
    allied = mm.links.index((mm.st.regions.index("ALLIED"), mm.st.materials.index("graphite")))
    t_ban = int(np.searchsorted(mm.models["US"].cal.t_days, mm.result.importers["US"].bind_day[0]))
    assert np.all(lp[:t_ban, :, allied] == 1.0)          # nothing binds before the ban: no scarcity
    assert lp[t_ban:, :, allied].max() > 1.1
    for tr in mm.result.importers.values():
        pi = tr.series["price_index"]
        assert np.all(np.isfinite(pi)) and (pi > 0).all()


def test_the_ban_binds_only_the_importer_it_names(mm):
    us, eu = mm.result.importers["US"], mm.result.importers["EU"]
    assert np.all(us.bind_day == us.bind_day[0]) and np.isfinite(us.bind_day).all()
    assert np.isnan(eu.bind_day).all()
    cn = mm.st.regions.index("CN")
    g = mm.st.materials.index("graphite")
    late = us.t_days > us.bind_day[0] + 120
    assert us.series["deliveries"][late][:, :, cn, g].max() == 0.0      # a ban with no exempt share
    assert eu.series["deliveries"][late][:, :, cn, g].min() > 0.0


def test_shared_capacity_is_never_exceeded(mm):
    allied = mm.links.index((mm.st.regions.index("ALLIED"), mm.st.materials.index("graphite")))
    K = mm.shared[:, allied]                                     # t/day
    total = sum(r.rec_arr[:, :, allied] for r in mm.runs)       # arrivals one lead time after shipping
    dts = mm.models["US"].cal.dt_days
    assert np.all(total / dts[:, None] <= K[None, :] * (1 + 1e-9) + 1e-9)


def test_available_supply_for_the_des_is_the_shared_capacity_less_the_others(mm):
    a_us, a_eu = mm.available("US"), mm.available("EU")
    st = mm.st
    S, T = 8, mm.models["US"].cal.n
    assert a_us.shape == (S, T, st.R, st.M)
    o, m = st.regions.index("ALLIED"), st.materials.index("graphite")
    K = mm.shared[:, mm.links.index((o, m))]
    assert np.all(a_us[:, :, o, m] <= K[:, None] * (1 + 1e-12))
    assert (a_us[:, :, o, m] < K[:, None] * (1 - 1e-6)).any()        # the EU took part of it


def test_higher_willingness_gets_a_larger_share_of_allied_supply(tmp_path):
    def allied_to(code: str, w: float) -> float:
        p = write(tmp_path, f"w{str(w).replace('.', '')}", "market:\n  importers:\n    EU:\n      willingness: "
                  + lever(w) + "\n")
        mm = run(p, samples=1)
        o, m = mm.st.regions.index("ALLIED"), mm.st.materials.index("graphite")
        return float(mm.result.importers[code].series["deliveries"][:, 0, o, m].sum())
    assert allied_to("EU", 3.0) > allied_to("EU", 1.0)
    assert allied_to("US", 3.0) < allied_to("US", 1.0)


def test_leakage_conserves_mass_and_brings_some_refused_supply_round(tmp_path):
    p = write(tmp_path, "leaky", "market:\n  leakage:\n    share: " + lever(0.3) + "\n    delay_days: "
              + lever(60, "day") + "\n")
    mm = run(p, samples=3, seed=2)
    assert global_balance(mm).max() < 1e-9
    base = run(FIXTURE, samples=3, seed=2)
    cn, g = mm.st.regions.index("CN"), mm.st.materials.index("graphite")
    us, us0 = mm.result.importers["US"], base.result.importers["US"]
    late = us.t_days > us.bind_day[0] + 120
    leaked = us.series["deliveries"][late][:, :, cn, g]
    assert leaked.min() > 0 and us0.series["deliveries"][late][:, :, cn, g].max() == 0
    assert us.series["shortfall"].sum() < us0.series["shortfall"].sum()


def test_the_des_slow_layer_takes_the_supply_left_to_the_importer_of_interest():
    import sim
    from sim.des.hybrid import slow_paths
    from sim.scenario.compile import resolve
    from sim.stockflow.engine import StockFlowModel

    scn = sim.load_scenario(FIXTURE)
    res = resolve(scn, samples=2, seed=1)
    paths = slow_paths(StockFlowModel(scn, res))
    mm = run(FIXTURE, samples=2, seed=1)
    st = mm.st
    o, m = st.regions.index("ALLIED"), st.materials.index("graphite")
    for i, sp in enumerate(paths):
        assert np.allclose(sp.supply_cap, mm.available("US")[i])
        assert sp.supply_cap[:, o, m].max() <= mm.shared[i, mm.links.index((o, m))] * (1 + 1e-12)
