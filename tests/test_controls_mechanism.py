"""Physics of the licence mechanism: capacity basis and adaptation, distributed decisions, destinations."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hs

from controls_cases import control, destinations, exports, lever, licence, run, write
import sim
from sim.scenario.compile import resolve
from sim.stockflow.controls import decision_kernel
from sim.stockflow.engine import StockFlowModel

EFF = lever("2023-12-01", "date")
ANN = lever("2023-10-20", "date")
T_EFF = 334                     # step of 2023-12-01 in the daily calendar starting 2023-01-01


@given(mean=hs.floats(0, 200), cv=hs.floats(0, 2), dt=hs.sampled_from([1.0, 7.0, 30.4]))
@settings(max_examples=60, deadline=None)
def test_decision_kernel_is_a_distribution_with_the_stated_mean(mean, cv, dt):
    k = decision_kernel(np.array([mean]), np.array([cv]), dt)[0]
    assert np.all(k >= 0) and abs(k.sum() - 1.0) < 1e-12
    steps = np.arange(len(k))
    # rounding to whole steps, and the tail beyond 8 sd folded into the last step (heavy tails: cv > 1)
    assert abs((k * steps).sum() * dt - mean) <= 0.5 * dt + 0.005 * mean + 1e-9
    if cv == 0:
        assert k[int(np.rint(mean / dt))] == 1.0


def test_a_spread_of_decision_times_makes_approvals_trickle_in_before_the_fixed_delay(tmp_path):
    fixed = exports(run(write(tmp_path, "fixed", control(f"licence: {licence(0.3, 1.0, 42)}\n"
                                                         f"phases:\n  - {{regime: licence, start: {EFF}}}"))))[:, 0]
    spread = exports(run(write(tmp_path, "spread", control(f"licence: {licence(0.3, 1.0, 42, decision_cv=0.7)}\n"
                                                           f"phases:\n  - {{regime: licence, start: {EFF}}}"))))[:, 0]
    pre = fixed[T_EFF - 30:T_EFF].mean()
    first = lambda x: int(np.argmax(x[T_EFF:] > 0.05 * pre))          # noqa: E731
    assert first(fixed) == 42 and first(spread) < 30                   # a fixed delay: nothing for 42 days
    # both settle at the same licensed flow: capacity 0.3 of the pre-control flow, all approved
    np.testing.assert_allclose(spread[T_EFF + 250:T_EFF + 300].mean(), fixed[T_EFF + 250:T_EFF + 300].mean(), rtol=1e-3)
    np.testing.assert_allclose(fixed[T_EFF + 250:T_EFF + 300].mean(), 0.3 * pre, rtol=1e-3)


def test_capacity_adapts_from_its_initial_to_its_final_share(tmp_path):
    def licensed(**terms):
        p = write(tmp_path, "ramp-" + "-".join(f"{k}{v}" for k, v in terms.items()).replace(".", "_"),
                  control(f"licence: {licence(terms.pop('cap', 0.2), 1.0, 0, **terms)}\n"
                          f"phases:\n  - {{regime: licence, start: {EFF}}}"))
        return exports(run(p))[:, 0]
    ramp = licensed(cap=0.2, capacity_share_final=0.6, capacity_tau_days=60)
    at_once = licensed(cap=0.2, capacity_share_final=0.6, capacity_tau_days=0)
    final = licensed(cap=0.6)
    np.testing.assert_allclose(at_once, final, rtol=1e-12, atol=1e-12)    # tau = 0: the final share at once
    pre = final[T_EFF - 30:T_EFF].mean()
    assert ramp[T_EFF + 3] < 0.25 * pre                                  # starts near 0.2 of the flow
    assert abs(ramp[T_EFF + 300] - final[T_EFF + 300]) < 0.05 * pre     # ends at the final share


def test_a_capacity_of_all_current_applications_lets_everything_through(tmp_path):
    free = exports(run(write(tmp_path, "free", control("phases:\n  - {regime: none, start: " + EFF + "}"))))
    lic = exports(run(write(tmp_path, "apps", control(
        f"licence: {licence(1.0, 1.0, 0, capacity_basis='applications', basis_smoothing_days=0)}\n"
        f"phases:\n  - {{regime: licence, start: {EFF}}}"))))
    np.testing.assert_allclose(lic, free, rtol=1e-9, atol=1e-9)


def test_a_demand_basis_follows_growing_demand_where_the_pre_control_basis_stays_flat(tmp_path):
    grow = "demand:\n  segments:\n    all:\n      growth: " + lever(0.5) + "\n"
    def licensed(basis):
        body = f"licence: {licence(0.5, 1.0, 0, capacity_basis=basis)}\nphases:\n  - {{regime: licence, start: {EFF}}}"
        return exports(run(write(tmp_path, basis, grow, control(body))))[:, 0]
    pre, dem = licensed("pre_control"), licensed("demand")
    late = slice(T_EFF + 200, T_EFF + 300)
    assert np.ptp(pre[late]) < 1e-9 * pre[late].mean()                  # flat: a share of the 2023 flow
    assert dem[late][-1] > dem[late][0] * 1.05 and dem[late].mean() > pre[late].mean()


@pytest.mark.parametrize("us_share", [0.0, 1.0])
def test_a_destination_ban_is_the_whole_ban_or_nothing_at_the_extreme_shares(tmp_path, us_share):
    split = destinations(US=us_share, other=1.0 - us_share)
    targeted = run(write(tmp_path, f"us-{us_share}", split,
                         control(f"phases:\n  - {{regime: ban, destinations: [US], start: {EFF}}}")))
    whole = run(write(tmp_path, f"all-{us_share}", control(
        "phases:\n  - {regime: " + ("ban" if us_share else "none") + f", start: {EFF}}}")))
    for key in ("cell_output", "inventory", "deliveries", "orders_blocked"):
        np.testing.assert_allclose(targeted.series[key], whole.series[key], rtol=1e-12, atol=1e-12, err_msg=key)


def test_a_destination_ban_cuts_only_that_destinations_share(tmp_path):
    split = destinations(US=0.25, other=0.75)
    tr = run(write(tmp_path, "us-ban", split, control(f"phases:\n  - {{regime: ban, destinations: [US], start: {EFF}}}")))
    shipped, blocked = exports(tr)[:, 0], tr.series["orders_blocked"][:, 0, 0]
    step = T_EFF + 5          # orders placed with China: shipped (other) or refused (US), in proportion 3:1
    np.testing.assert_allclose(blocked[step] / (shipped[step] + blocked[step]), 0.25, rtol=1e-9)


def test_splitting_demand_without_targeting_a_destination_changes_nothing(tmp_path):
    body = f"licence: {licence(0.3, 0.8, 35, decision_cv=0.5)}\nphases:\n  - {{regime: licence, start: {EFF}}}"
    one = run(write(tmp_path, "one", control(body, front_running=1.0)))
    two = run(write(tmp_path, "two", destinations(US=0.3, EU=0.2, other=0.5), control(body, front_running=1.0)))
    for key in ("cell_output", "inventory", "deliveries", "licence_backlog"):
        np.testing.assert_allclose(two.series[key], one.series[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_a_destination_losing_its_licence_to_a_ban_has_its_pending_applications_refused(tmp_path):
    ban = lever("2024-02-01", "date")
    tr = run(write(tmp_path, "lic-ban", destinations(US=0.5, other=0.5), control(
        f"licence: {licence(0.2, 1.0, 60)}\n"
        f"phases:\n  - {{regime: licence, start: {EFF}, end: {ban}}}\n"
        f"  - {{regime: ban, destinations: [US], start: {ban}}}\n"
        f"  - {{regime: licence, destinations: [other], start: {ban}}}")))
    backlog, blocked = tr.series["licence_backlog"][:, 0, 0], tr.series["orders_blocked"][:, 0, 0]
    t_ban = T_EFF + 62
    assert backlog[t_ban] < 0.6 * backlog[t_ban - 1]                     # the US half of the queue is gone
    assert blocked[t_ban] * 1.0 > 0.4 * backlog[t_ban - 1]              # ... refused in that step


def test_front_running_follows_the_announcement_and_a_suspension_due_to_end(tmp_path):
    s0, s1 = lever("2024-03-01", "date"), lever("2024-06-01", "date")
    body = (f"announced: {ANN}\nlicence: {licence(0.3, 1.0, 28)}\n"
            f"phases:\n  - {{regime: licence, start: {EFF}, end: {s0}}}\n"
            f"  - {{regime: none, start: {s0}, end: {s1}}}\n  - {{regime: licence, start: {s1}}}")
    tr = run(write(tmp_path, "fr", control(body, front_running=1.0)))
    scn = sim.load_scenario(tmp_path / "fr.yaml")
    pl = StockFlowModel(scn, resolve(scn)).control_plans()[0]
    waiting = pl.waiting[:, 0, 0]
    days = scn.calendar.t_days
    assert waiting[(days >= 292) & (days < T_EFF)].all() and not waiting[:292].any()       # 20 Oct to 1 Dec
    sus = (days >= 425) & (days < 517)                                                     # 1 Mar to 1 Jun 2024
    assert waiting[sus].all() and not waiting[(days >= T_EFF) & (days < 425)].any() and not waiting[days >= 517].any()
    assert tr.series["inventory"][400, 0, 0] < tr.series["inventory"][510, 0, 0]           # stocks rebuilt in the pause


def test_a_ban_on_one_destination_seizes_its_share_of_goods_in_transit(tmp_path):
    split = destinations(US=0.3, other=0.7)
    tr = run(write(tmp_path, "lose", split, control(
        f"in_transit: lose\nphases:\n  - {{regime: ban, destinations: [US], start: {EFF}}}")))
    free = run(write(tmp_path, "keep", split, control(f"phases:\n  - {{regime: ban, destinations: [US], start: {EFF}}}")))
    at_sea = slice(T_EFF, T_EFF + 7)          # lead time 7 days: these arrivals were at sea when the ban began
    lost, kept = tr.series["deliveries"][at_sea].sum(), free.series["deliveries"][at_sea].sum()
    np.testing.assert_allclose(lost, 0.7 * kept, rtol=1e-9)
    assert tr.series["deliveries"][T_EFF + 8:].sum() > free.series["deliveries"][T_EFF + 8:].sum()   # re-ordered


def test_the_phased_example_in_the_docs_validates_and_runs(tmp_path):
    import re
    import shutil

    from conftest import ROOT
    text = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "controls.md").read_text(encoding="utf-8"), re.S)[0]
    shutil.copyfile(ROOT / "calibration" / "scenarios" / "cn-graphite-licensing-2023.yaml",
                    tmp_path / "cn-graphite-licensing-2023.yaml")
    p = tmp_path / "example.yaml"
    p.write_text(text, encoding="utf-8")
    tr = run(p)
    st = tr.structure
    assert st.destinations == ["US", "other"] and [ph.regime for ph in st.controls[0].phases] == \
        ["licence", "ban", "licence", "none"]
    shipped = exports(tr)[:, 0]
    assert shipped[T_EFF + 5] < 0.5 * shipped[T_EFF - 40] and shipped[-30:-8].mean() > shipped[T_EFF + 5]


MONTHS = ["2023-11-01", "2023-12-01", "2024-02-01", "2024-04-01", "2024-07-01", "2024-10-01"]


@pytest.mark.slow
@given(regimes=hs.lists(hs.sampled_from(["licence", "ban", "quota", "none"]), min_size=1, max_size=4),
       targeted=hs.booleans(), cv=hs.sampled_from([0.0, 0.4, 1.2]), basis=hs.sampled_from(["pre_control", "applications", "demand"]),
       approval=hs.sampled_from([0.5, 1.0]))
@settings(max_examples=10, deadline=None)
def test_any_sequence_of_phases_keeps_the_books(tmp_path_factory, regimes, targeted, cv, basis, approval):
    """Random phase sequences (for all, or US then the rest): mass balance closes (the engine checks it
    every step), stocks and queues stay non-negative, and nothing is refused unless a phase refuses."""
    tmp = tmp_path_factory.mktemp("seq")
    phases = []
    for j, reg in enumerate(regimes):
        k, last = (j // 2, j + 2 >= len(regimes)) if targeted else (j, j + 1 == len(regimes))
        dest = f", destinations: [{'US' if j % 2 == 0 else 'other'}]" if targeted else ""
        end = "" if last else f", end: {lever(MONTHS[k + 2], 'date')}"
        quota = f", quota: {lever(300, 't/year')}" if reg == "quota" else ""
        phases.append(f"  - {{regime: {reg}, start: {lever(MONTHS[k + 1], 'date')}{end}{dest}{quota}}}")
    body = (f"licence: {licence(0.3, approval, 30, decision_cv=cv, capacity_basis=basis, basis_smoothing_days=20)}\n"
            "phases:\n" + "\n".join(phases))
    tr = run(write(tmp, "seq", destinations(US=0.3, other=0.7), control(body, front_running=0.5, diversion=0.2)),
             samples=2, seed=4)
    s = tr.series
    assert tr.mass_error_max < 1e-6 * max(1.0, float(s["inventory"].max()))
    for key in ("inventory", "in_transit", "deliveries", "licence_backlog", "orders_blocked"):
        assert s[key].min() >= -1e-9, key
    if approval == 1.0 and not {"ban", "quota"} & set(regimes):
        assert s["orders_blocked"].max() <= 1e-9
