"""Everything one replication needs, as plain numbers and short arrays (picklable for workers).

Static inputs (demand, intensities, shares, lead times, policies) come from the stock-flow model's
own preparation of the same resolved values, so both engines read one interpretation of the
scenario. The slow layer differs by engine: ``des`` keeps each capacity project's dates and
yields and commissions it as a SimPy process (random slip); ``hybrid`` keeps the stock-flow
model's precomputed capacity, yield and learning paths (see :mod:`.hybrid`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scenario.compile import Resolved, Scenario
from ..stockflow.controls import ControlPlan
from ..stockflow.engine import BIG, StockFlowModel
from ..stockflow.structure import Structure
from .params import Settings


def _slot(res: Resolved, path: str, i: int, default: float) -> float:
    v = res.slots.get(path)
    return float(default) if v is None else float(v[i])


@dataclass
class ControlIn:
    """An export control on (origin, material): its phases for this sample (the stock-flow engine's plan)."""

    id: str
    origin: int
    material: int
    regime: str
    in_transit: str
    eff: float                    # first day a phase binds (NaN: never)
    ann: float                    # announced (the first binding day when not stated)
    exempt: float
    div: float
    surge: float
    plan: ControlPlan             # S = 1: regime, phase and front-running per step and destination
    td: np.ndarray                # step start days
    _terms: dict = field(default_factory=dict, repr=False, compare=False)   # by step, see terms()

    @property
    def D(self) -> int:
        """Destinations."""
        return self.plan.D

    @property
    def w(self) -> np.ndarray:
        """(D,) the importer's demand split by destination."""
        return self.plan.w[0]

    def at_step(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(regime codes (D,), front-running (D,)) at step ``t``: the stock-flow engine's arrays."""
        return self.plan.regime[t, 0], self.plan.waiting[t, 0]

    def state(self, now: float) -> tuple[bool, bool]:
        """(binds some destination, some destination's buyers front-run) in the step containing day ``now``."""
        t = max(0, int(np.searchsorted(self.td, now, side="right")) - 1)
        reg, wait = self.at_step(t)
        return bool((reg != 0).any()), bool(wait.any())

    def terms(self, t: int) -> dict:
        """The licence and quota terms in force at step ``t`` ((1,D) arrays, the stock-flow definition);
        they depend on the plan and the step only, so every replication of the sample reuses them."""
        tm = self._terms.get(t)
        if tm is None:
            tm = self._terms[t] = self.plan.terms(t, float(self.td[t]))
        return tm

    def change_steps(self) -> list[int]:
        """Steps (after the first) at which the regime or front-running of some destination changes."""
        r, w = self.plan.regime[:, 0], self.plan.waiting[:, 0]
        moved = (r[1:] != r[:-1]).any(axis=1) | (w[1:] != w[:-1]).any(axis=1)
        return (np.nonzero(moved)[0] + 1).tolist()


@dataclass
class ProjectIn:
    """A capacity project: nameplate (t/day of material, or GWh/day of cells), dates and yield ramp."""

    id: str
    product: str
    origin: int
    material: int                 # -1 for cells
    unit_cap: float               # t/day (material) or GWh/day (cells)
    online: float                 # planned online day, scenario slip included
    ramp: float
    build: float
    announced: float
    yields: tuple[float, float, float] | None


@dataclass
class SlowPaths:
    """Precomputed slow variables (hybrid): per step cell capacity, yield, supply capacity, learning."""

    nameplate: np.ndarray         # (T,) GWh/day
    good_cap: np.ndarray          # (T,) GWh/day of good cells
    supply_cap: np.ndarray        # (T,R,M) t/day
    learning: np.ndarray          # (T,) cell cost index
    stages: dict[tuple[str, str], np.ndarray]


@dataclass
class Inputs:
    """Inputs of one replication (one parameter sample) in engine units."""

    engine: str
    td: np.ndarray
    dts: np.ndarray
    end_day: float
    dt_ref: float
    regions: list[str]
    materials: list[str]
    group_of: list[int]
    substitutes: list[int]
    subs_by_group: list[list[int]]
    base_by_group: list[list[int]]
    reserves: list[int]
    demand: np.ndarray
    intensity: np.ndarray
    disp: np.ndarray
    maxshare: np.ndarray
    util: float
    cap0: float
    y_mature: float
    share: np.ndarray
    cap_base: np.ndarray
    lead: np.ndarray
    projects: list[ProjectIn]
    controls: list[ControlIn]
    rules: list[tuple[int, tuple[int, ...], list[tuple[float, float]], float]]
    target_days: np.ndarray
    init_days: np.ndarray
    adj: float
    reserve0: np.ndarray
    trig: np.ndarray
    rel_days: np.ndarray
    premium: float
    elasticity: float
    lrate: float
    tariffs: list[tuple[int, int, float, float]]
    exposed: float
    controlled: np.ndarray
    shock: float
    lot_size: np.ndarray
    settings: Settings
    slow: SlowPaths | None = None
    n_controls: int = 0
    destinations: list[str] = field(default_factory=list)

    @property
    def T(self) -> int:
        """Steps."""
        return len(self.td)

    @property
    def R(self) -> int:
        """Regions."""
        return len(self.regions)

    @property
    def M(self) -> int:
        """Materials."""
        return len(self.materials)

    @property
    def G(self) -> int:
        """Material groups."""
        return len(self.intensity)

    def forget(self) -> None:
        """Drop what replications cached on these inputs (the controls' terms by step): called when no
        further replication will use them, so a run of many samples does not keep one cache each."""
        for c in self.controls:
            c._terms.clear()


def peak_use_per_step(sfm: StockFlowModel) -> np.ndarray:
    """(S,M) largest planned use of each material in one step, by the stock-flow planning rule."""
    _, _, use = sfm.planned_use()                                   # (T,S,M) t/day
    return (use * sfm.cal.dt_days[:, None, None]).max(axis=0)


def build_inputs(scn: Scenario, st: Structure, sfm: StockFlowModel, res: Resolved, settings: list[Settings],
                 engine: str, slow: list[SlowPaths] | None = None) -> list[Inputs]:
    """One :class:`Inputs` per sample of ``res`` (the stock-flow model ``sfm`` built from the same)."""
    cal = scn.calendar
    td, dts = cal.t_days, cal.dt_days
    end_day = float(td[-1] + dts[-1])          # the end of the last step (the calendar may stop short of `end`)
    M, R = st.M, st.R
    subs_by_group = [[m for m in st.substitutes if st.group_of[m] == g] for g in range(st.G)]
    base_by_group = [[m for m in range(M) if st.group_of[m] == g and m not in st.substitutes] for g in range(st.G)]
    peak = peak_use_per_step(sfm)
    plans = sfm.control_plans()
    out = []
    for i in range(res.samples):
        s = settings[i]
        controls = []
        for c, plan in zip(st.controls, plans):
            one = plan.take(i)
            controls.append(ControlIn(
                id=c.id, origin=c.origin, material=c.material, regime=c.regime, in_transit=c.in_transit,
                eff=float(one.eff[0]), ann=float(one.ann[0]), exempt=float(one.exempt[0]), div=float(one.div[0]),
                surge=float(one.surge[0]), plan=one, td=td))
        projects = []
        for p in st.projects:
            c = _slot(res, f"{p.path}.capacity", i, 0.0)
            if p.material >= 0:
                g = st.group_of[p.material]
                unit_cap = c * sfm.intensity[i, g] / sfm.disp[i, p.material] if p.in_cell_units else c
            else:
                unit_cap = c
            yields = None
            if f"{p.path}.yield.end" in res.slots:
                y2 = _slot(res, f"{p.path}.yield.end", i, 1.0)
                y0 = _slot(res, f"{p.path}.yield.start", i, float("nan"))
                y0 = y2 if np.isnan(y0) else y0
                y1 = _slot(res, f"{p.path}.yield.target", i, float("nan"))
                y1 = (y0 + y2) / 2 if np.isnan(y1) else y1
                yields = (y0, y1, y2)
            projects.append(ProjectIn(
                id=p.id, product=p.product, origin=p.origin, material=p.material, unit_cap=unit_cap,
                online=_slot(res, f"{p.path}.online", i, 0.0) + _slot(res, f"{p.path}.delay_days", i, 0.0),
                ramp=_slot(res, f"{p.path}.ramp_years", i, 0.0), build=_slot(res, f"{p.path}.build_years", i, 0.0),
                announced=_slot(res, f"{p.path}.announced", i, -1e9), yields=yields))
        rules = []
        for r in st.rules:
            steps = [(_slot(res, f"{r.path}.schedule.{j}.from", i, 0.0),
                      _slot(res, f"{r.path}.schedule.{j}.min_share", i, 0.0)) for j in range(r.n_steps)]
            rules.append((r.material, r.excluded, steps, _slot(res, f"{r.path}.uptake", i, 1.0)))
        reserve0, trig, rel_days = np.zeros(M), np.zeros(M), np.ones(M)
        for m in st.reserves:
            name = st.materials[m]
            reserve0[m] = _slot(res, f"reserves.{name}.initial", i, 0.0)
            trig[m] = _slot(res, f"reserves.{name}.trigger_days", i, 0.0)
            rel_days[m] = _slot(res, f"reserves.{name}.release_days", i, 30.0)
        share = sfm.share[i]
        controlled = np.zeros((R, M), bool)
        for c in st.controls:
            controlled[c.origin, c.material] = True
        if not st.controls:
            inc = share.argmax(axis=0)                          # this sample's incumbent, as stock-flow
            for m in range(M):
                if share[:, m].sum() > 0:
                    controlled[inc[m], m] = True
        shock = float(np.fmin.reduce([c.eff for c in controls])) if controls else float("nan")
        lots = peak[i] / s.lots_per_step
        lot_size = np.array([s.lot_size.get(name, lots[m] if lots[m] > 0 else 1.0)
                             for m, name in enumerate(st.materials)])
        out.append(Inputs(
            engine=engine, td=td, dts=dts, end_day=end_day, dt_ref=float(np.mean(dts)),
            regions=list(st.regions), materials=list(st.materials), group_of=list(st.group_of),
            substitutes=list(st.substitutes), subs_by_group=subs_by_group, base_by_group=base_by_group,
            reserves=list(st.reserves), demand=sfm.demand[:, i].copy(), intensity=sfm.intensity[i].copy(),
            disp=sfm.disp[i].copy(), maxshare=sfm.maxshare[i].copy(), util=float(sfm.util[i]),
            cap0=_slot(res, "cells.capacity", i, 0.0), y_mature=_slot(res, "cells.yield", i, 1.0),
            share=share.copy(), cap_base=np.minimum(sfm.cap_base[i], BIG), lead=sfm.lead[i].copy(),
            projects=projects, controls=controls, rules=rules,
            target_days=np.array([_slot(res, f"inventory.{m}.target_days", i, 0.0) for m in st.materials]),
            init_days=np.array([_slot(res, f"inventory.{m}.initial_days", i, 0.0) for m in st.materials]),
            adj=_slot(res, "ordering.adjustment_days", i, 28.0), reserve0=reserve0, trig=trig, rel_days=rel_days,
            premium=_slot(res, "costs.exchina_premium", i, 0.0), elasticity=_slot(res, "costs.scarcity_elasticity", i, 0.0),
            lrate=_slot(res, "costs.learning_rate", i, 0.0),
            tariffs=[(tf.origin, tf.material, _slot(res, f"{tf.path}.rate", i, 0.0), _slot(res, f"{tf.path}.from", i, -1e9))
                     for tf in st.tariffs],
            exposed=_slot(res, "jobs.exposed", i, 0.0), controlled=controlled, shock=shock, lot_size=lot_size,
            settings=s, slow=slow[i] if slow is not None else None, n_controls=len(st.controls),
            destinations=list(st.destinations)))
    return out
