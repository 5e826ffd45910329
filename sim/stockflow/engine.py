"""The stock-flow engine: the calendar is a Python loop, samples are one array axis.

State per sample: inventories at cell makers by material, goods in transit (a ring buffer of
arrivals by origin and material), licence backlogs and pending decisions per export control,
strategic reserves. Each step: goods arrive; reserves release if cover is low; cells are made
from what is in stock (substitutes first, within their share limit); buyers re-order with an
order-up-to rule that counts what is already on order; orders are split across origins by
preferred shares, sourcing rules, diversion away from a binding control and capacity; export
controls pass, queue, cap or block them; shipments enter transit. Mass balance and
non-negativity are checked at every step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..scenario.compile import Resolved, Scenario
from .controls import ControlPlan
from .production import plan_step
from .prices import _ffill
from .stepper import ImporterRun, ModelError, _slot
from .structure import Structure, build_structure

BIG = 1e15          # stands in for "no capacity limit" so that arithmetic stays finite
MASS_TOL = 1e-7     # relative tolerance of the mass-balance check

__all__ = ["BIG", "MASS_TOL", "ModelError", "StockFlowModel", "Trajectory", "simulate"]


@dataclass
class Trajectory:
    """Recorded series (time first, then samples) and the structure they index."""

    structure: Structure
    t_days: np.ndarray
    dt_days: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    shock_day: np.ndarray | None = None      # (S,) first effective date of a control, NaN if none
    mass_error_max: float = 0.0
    bind_day: np.ndarray | None = None       # (S,) first day a control binds this importer, NaN if never

    @property
    def samples(self) -> int:
        return self.series["cell_output"].shape[1]


def _ramp(td: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(T,S) fraction of a ramp from 0 at ``start`` to 1 at ``start+length``."""
    x = (td[:, None] - start[None, :]) / np.maximum(length[None, :], 1e-9)
    frac = np.clip(x, 0.0, 1.0)
    return np.where(length[None, :] <= 0, (td[:, None] >= start[None, :]).astype(float), frac)


def _yield_curve(td: np.ndarray, online: np.ndarray, ramp: np.ndarray, y0: np.ndarray, y1: np.ndarray,
                 y2: np.ndarray) -> np.ndarray:
    """(T,S) yield rising from pilot ``y0`` to target ``y1`` at mid-ramp, then to mature ``y2``."""
    r = _ramp(td, online, ramp)
    return np.where(r < 0.5, y0 + (y1 - y0) * (2 * r), y1 + (y2 - y1) * (2 * r - 1))


class StockFlowModel:
    """A compiled scenario with resolved values, ready to integrate."""

    def __init__(self, scn: Scenario, res: Resolved):
        self.scn, self.res = scn, res
        self.st = build_structure(scn)
        self.cal = scn.calendar
        self._prepare()

    # ---- time-dependent inputs, computed once for all steps ------------------------------------
    def _prepare(self) -> None:
        st, res, S = self.st, self.res, self.res.samples
        td, T = self.cal.t_days, self.cal.n
        R, M = st.R, st.M
        years = td / DAYS_PER_YEAR
        demand = np.zeros((T, S))
        grown: list[tuple[np.ndarray, np.ndarray]] = []       # segments usually share one growth rate
        for seg in st.segments:
            base = _slot(res, f"demand.segments.{seg}.base")
            g = _slot(res, f"demand.segments.{seg}.growth")
            factor = next((fac for g0, fac in grown if np.array_equal(g0, g)), None)
            if factor is None:
                factor = np.exp(np.log1p(g)[None, :] * years[:, None])
                grown.append((g, factor))
            demand += base[None, :] * factor
        self.demand = demand
        self.intensity = np.stack([_slot(res, f"cells.intensity.{g}") for g in st.groups], axis=1)  # (S,G)
        self.disp = np.stack([_slot(res, f"materials.{m}.displaces", 1.0) for m in st.materials], axis=1)
        self.maxshare = np.stack([_slot(res, f"materials.{m}.max_share", 1.0) for m in st.materials], axis=1)
        # cells: established lines at mature yield, plus projects ramping their yield
        cap0 = _slot(res, "cells.capacity")
        y_mature = _slot(res, "cells.yield", 1.0)
        nameplate = np.broadcast_to(cap0, (T, S)).copy()
        good = nameplate * y_mature[None, :]
        self.util = _slot(res, "cells.utilisation", 1.0)
        # supply by origin and material
        share = np.zeros((S, R, M))
        cap = np.zeros((S, R, M))
        lead = np.zeros((S, R, M))
        for (o, m) in st.supplied:
            base = f"supply.{st.materials[m]}.{st.regions[o]}"
            share[:, o, m] = _slot(res, f"{base}.share")
            cap[:, o, m] = _slot(res, f"{base}.capacity", BIG)
            lead[:, o, m] = _slot(res, f"{base}.lead_time")
        self.share, self.cap_base, self.lead = share, cap, lead
        self.proj_cap: list[tuple[int, int, np.ndarray]] = []     # (origin, material, (T,S) good t/day)
        self._stage_inputs: list[tuple] = []
        for p in st.projects:
            c = _slot(res, f"{p.path}.capacity")
            online = _slot(res, f"{p.path}.online") + _slot(res, f"{p.path}.delay_days", 0.0)
            ramp = _slot(res, f"{p.path}.ramp_years", 0.0)
            build = _slot(res, f"{p.path}.build_years", 0.0)
            announced = _slot(res, f"{p.path}.announced", -1e9)
            frac = _ramp(td, online, ramp)
            if f"{p.path}.yield.end" in res.slots:
                y2 = _slot(res, f"{p.path}.yield.end")
                y0 = _slot(res, f"{p.path}.yield.start", float("nan"))
                y0 = np.where(np.isnan(y0), y2, y0)
                y1 = _slot(res, f"{p.path}.yield.target", float("nan"))
                y1 = np.where(np.isnan(y1), (y0 + y2) / 2, y1)
                yc = _yield_curve(td, online, ramp, y0, y1, y2)
            else:
                yc = np.broadcast_to(y_mature if p.material < 0 else np.ones(S), (T, S))
            if p.material < 0:
                nameplate += c[None, :] * frac
                good += c[None, :] * frac * yc
                unit_cap = c
            else:
                g = st.group_of[p.material]
                unit_cap = c * self.intensity[:, g] / self.disp[:, p.material] if p.in_cell_units else c
                self.proj_cap.append((p.origin, p.material, unit_cap[None, :] * frac * (yc if p.material >= 0 and
                                      f"{p.path}.yield.end" in res.slots else 1.0)))
            self._stage_inputs.append((p.product, unit_cap, announced, online, build, ramp))
        self.nameplate, self.good_cap = nameplate, good
        self.cell_yield = np.where(nameplate > 0, good / np.maximum(nameplate, 1e-12), y_mature[None, :])

    def capacity_stages(self) -> dict[tuple[str, str], np.ndarray]:
        """(T,S) capacity per (product, stage): announced, building, ramping, operating."""
        t2 = self.cal.t_days[:, None]
        out: dict[tuple[str, str], np.ndarray] = {}
        for product, unit_cap, announced, online, build, ramp in self._stage_inputs:
            for stage, mask in (("announced", (t2 >= announced) & (t2 < online - build)),
                                ("building", (t2 >= online - build) & (t2 < online)),
                                ("ramping", (t2 >= online) & (t2 < online + ramp)),
                                ("operating", t2 >= online + ramp)):
                out[(product, stage)] = out.get((product, stage), 0.0) + np.where(mask, unit_cap[None, :], 0.0)
        return out

    def supply_capacity(self, t: int) -> np.ndarray:
        """(S,R,M) what each origin can ship per day at step t."""
        cap = self.cap_base
        if self.proj_cap:
            cap = cap.copy()
            for o, m, c in self.proj_cap:
                cap[:, o, m] += c[t]
        return cap

    def planned_use(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Planned output (T,S), anode need (T,S,G, t geq/day) and planned use by material (T,S,M).

        Buyers plan to use each substitute up to its share limit and what its suppliers can
        ship; the base material of a group covers the rest. Independent of the state, so it is
        computed for all steps at once.
        """
        st = self.st
        planned = np.minimum(self.demand, self.util[None, :] * self.good_cap)
        need = (planned / np.maximum(self.cell_yield, 1e-12))[:, :, None] * self.intensity[None]
        supply = np.broadcast_to(self.cap_base.sum(axis=1)[None], (len(planned),) + self.cap_base.shape[::2]).copy()
        for o, m, c in self.proj_cap:
            supply[:, :, m] += c
        supply_geq = supply * self.disp[None]
        subs = [[m for m in st.substitutes if st.group_of[m] == g] for g in range(st.G)]
        base = [[m for m in range(st.M) if st.group_of[m] == g and m not in st.substitutes] for g in range(st.G)]
        use = plan_step(need, supply_geq, self.disp, self.maxshare, subs, base)
        return planned, need, use

    def control_plans(self) -> list[ControlPlan]:
        """Per export control: its phases as per-step arrays (regime, phase, front-running) and terms."""
        dt_ref = float(np.mean(self.cal.dt_days))
        return [ControlPlan(c, self.st, self.res, self.cal.t_days, dt_ref) for c in self.st.controls]

    @property
    def mass_tol(self) -> float:
        """Relative tolerance of the mass-balance check (this module's MASS_TOL, read when checked)."""
        return MASS_TOL

    # ---- integration ---------------------------------------------------------------------------
    def run(self, record: str = "full") -> Trajectory:
        """Integrate over the calendar: one importer, its own capacity, the allocation of clearing.clear."""
        from .clearing import clear

        run = ImporterRun(self, record)
        ctl_li = [run.c_li]
        ctl_m = [[pl.c.material for pl in run.plans]]
        for t in range(self.cal.n):
            ask = run.ask(t)
            placed, blocked, _, _ = clear([ask], run.link_mat, run.lm, c_li=ctl_li, ctl_mat=ctl_m)
            run.settle(t, placed[0], blocked[0])
        return self.finish(run)

    def finish(self, run: ImporterRun, price_index: bool = True) -> Trajectory:
        """The trajectory of a finished :class:`ImporterRun`: final checks, indicators, records."""
        st, S = self.st, self.res.samples
        T, R, M = self.cal.n, st.R, st.M
        td, dts = self.cal.t_days, self.cal.dt_days
        lo, lm, full = run.lo, run.lm, run.full
        # a last, independent check of the transit bookkeeping against the buffer itself
        drift = float(np.abs(run.in_transit_total() - run.transit).max())
        if drift > MASS_TOL * run.scale:
            raise ModelError(f"in-transit bookkeeping drifted by {drift:.6g} t")
        rec_arr = run.rec_arr
        if full:
            full_arr = np.zeros((T, S, R, M))
            full_arr[:, :, lo, lm] = rec_arr
            rec_arr = full_arr
            controlled = self._controlled_mask()
            price_w = self._price_weights()
            arr_geq = rec_arr * self.disp[None, :, None, :]
            rec_arr_tot = arr_geq.sum(axis=(2, 3))
            rec_arr_ctrl = (arr_geq * controlled[None]).sum(axis=(2, 3))
            rec_arr_price = np.stack([(arr_geq[t] * price_w(t)).sum(axis=(1, 2)) for t in range(T)])
        else:
            rec_arr_tot, rec_arr_ctrl, rec_arr_price = run.rec_arr_tot, run.rec_arr_ctrl, run.rec_arr_price
        series = self._indicators(run.planned_all, run.need_all, run.rec_f, run.rec_inv, run.rec_use, rec_arr_tot,
                                  rec_arr_ctrl, rec_arr_price)
        if full:
            rec_use = run.rec_use
            series.update(inventory=run.rec_inv, in_transit=run.rec_transit,
                          deliveries=rec_arr / dts[:, None, None, None], orders_blocked=run.rec_blocked,
                          reserve=run.rec_reserve, consumption=rec_use / dts[:, None, None],
                          licence_backlog=run.rec_backlog)
            tot_geq = (rec_use * self.disp[None]).sum(axis=2, keepdims=True)
            is_sub = np.isin(np.arange(M), st.substitutes)[None, None, :]
            series["substitute_by_material"] = np.where(tot_geq > 0, rec_use * self.disp[None] /
                                                        np.maximum(tot_geq, 1e-300), 0.0) * is_sub
            per_gwh = self.intensity[None, :, 0] / np.maximum(self.cell_yield, 1e-12)           # (T,S)
            gmask0 = np.array([g == 0 for g in st.group_of])
            series["supportable_by_origin"] = (arr_geq * gmask0).sum(axis=3) / (per_gwh[:, :, None] * dts[:, None, None])
            series["stages"] = self.capacity_stages()  # type: ignore[assignment]
            series["nameplate"] = self.nameplate
        if price_index:
            series["price_index"] = run.price_index()
        shock = np.full(S, np.nan)
        for pl in run.plans:
            shock = np.fmin(shock, pl.eff)
        return Trajectory(structure=st, t_days=td, dt_days=dts, series=series, shock_day=shock,
                          mass_error_max=run.worst, bind_day=run.bind_day())

    # ---- indicators, vectorised over time ------------------------------------------------------
    def _controlled_mask(self) -> np.ndarray:
        """(S,R,M) origins whose share is reported: those under a control, else each sample's
        incumbent (largest preferred share) per material -- per sample, so blocks cannot change it."""
        st, S = self.st, self.res.samples
        mask = np.zeros((S, st.R, st.M), bool)
        for c in st.controls:
            mask[:, c.origin, c.material] = True
        if not st.controls:
            inc = self.share.argmax(axis=1)                                        # (S,M)
            has = self.share.sum(axis=1) > 0                                       # (S,M)
            np.put_along_axis(mask, inc[:, None, :], has[:, None, :], axis=1)
        return mask

    def _price_weights(self):
        """A function of the step giving (S,R,M) relative prices: premium off-incumbent, tariffs."""
        st, res, S = self.st, self.res, self.res.samples
        premium = _slot(res, "costs.exchina_premium", 0.0)
        inc = self.share.argmax(axis=1)
        off = np.ones((S, st.R, st.M))
        np.put_along_axis(off, inc[:, None, :], 0.0, axis=1)
        base = 1.0 + premium[:, None, None] * off
        tariffs = [(tf, _slot(res, f"{tf.path}.rate"), _slot(res, f"{tf.path}.from", -1e9)) for tf in st.tariffs]
        td = self.cal.t_days

        def at(t: int) -> np.ndarray:
            if not tariffs:
                return base
            p = base.copy()
            for tf, rate, start in tariffs:
                p[:, tf.origin, tf.material] *= 1.0 + np.where(td[t] >= start, rate, 0.0)
            return p

        return at

    def _indicators(self, planned, need, f, inv, use, arr_tot, arr_ctrl, arr_price) -> dict[str, np.ndarray]:
        st, res, dts = self.st, self.res, self.cal.dt_days
        output = planned * f
        sf = np.where(planned > 0, 1.0 - f, 0.0)
        geq_stock = np.zeros_like(planned)
        tot_geq = np.zeros_like(planned)
        sub_geq = np.zeros_like(planned)
        for m, g in enumerate(st.group_of):
            if g != 0:
                continue
            geq_stock += inv[:, :, m] * self.disp[None, :, m]
            u = use[:, :, m] * self.disp[None, :, m]
            tot_geq += u
            if m in st.substitutes:
                sub_geq += u
        cover = np.where(need[:, :, 0] > 0, geq_stock / np.maximum(need[:, :, 0], 1e-300), np.inf)
        ctrl_share = np.where(arr_tot > 0, arr_ctrl / np.maximum(arr_tot, 1e-300), 0.0)
        pavg = np.where(arr_tot > 0, arr_price / np.maximum(arr_tot, 1e-300), np.nan)
        pavg = _ffill(pavg, 1.0)
        elasticity = _slot(res, "costs.scarcity_elasticity", 0.0)
        lrate = _slot(res, "costs.learning_rate", 0.0)
        exposed = _slot(res, "jobs.exposed", 0.0)
        cum0 = np.maximum(planned[0] * DAYS_PER_YEAR, 1e-9)
        cum_out = np.cumsum(output * dts[:, None], axis=0)
        b_learn = np.log2(np.maximum(1.0 - lrate, 1e-12))
        return {
            "demand": self.demand, "cell_capacity": self.good_cap, "planned_output": planned, "cell_output": output,
            "shortfall": planned - output, "shortfall_fraction": sf, "days_of_cover": cover,
            "substitute_share": np.where(tot_geq > 0, sub_geq / np.maximum(tot_geq, 1e-300), 0.0),
            "controlled_origin_share": ctrl_share, "jobs_at_risk": exposed[None, :] * sf,
            "anode_cost_index": pavg * (1.0 + elasticity[None, :] * sf),
            "cell_cost_index": ((cum0 + cum_out) / cum0) ** b_learn[None, :],
            "material_limited": ((f < 1.0 - 1e-9) & (planned > 0)).astype(float),
        }


def simulate(scn: Scenario, res: Resolved, record: str = "full") -> Trajectory:
    """Integrate ``scn`` with the values in ``res`` over its calendar; all samples at once."""
    return StockFlowModel(scn, res).run(record=record)
