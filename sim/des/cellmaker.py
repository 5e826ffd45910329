"""Cell makers: one production batch and one round of orders per calendar step.

At each step start (priority PLANT, after the step's arrivals and control changes) the cell
makers of the importer, taken together:

1. plan output: ``min(demand, utilisation x good-cell capacity)``, and the anode duty it needs
   (graphite-equivalent), grossed up for the yield loss of the lines now running;
2. release strategic reserves if cover is below their trigger;
3. make a batch from stock: substitutes (Si/C) first, within their ``max_share`` of the duty,
   then the base material; output falls in proportion when the anode material runs short;
   the batch's yield scatters around the lines' yield (``des.batch_yield_sd``);
4. re-order up to a target position that counts stock on hand, lots in transit and licence
   applications pending: replace this step's use and close part (``dt / adjustment_days``) of
   the gap to the target (target cover raised by ``front_running`` while a control is announced
   or suspended);
5. split orders across origins (preferred shares, sourcing rules, diversion away from a binding
   control, origin capacity), then ship: freely, or - from a binding control - as licence
   applications (licence), up to the quota (quota), or not at all (ban), exempt share aside.

These are the stock-flow engine's rules, applied to one sample at a time; what differs is that
material moves in lots with random transit times and licences are decided one application at a
time by a queue with finite capacity.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..stockflow.controls import BAN, NONE, QUOTA
from .clock import StepClock
from .controls import ControlProcess
from .inputs import Inputs
from .streams import Normal
from .suppliers import Ledger, Suppliers

SERIES_1D = ("demand", "cell_capacity", "planned_output", "cell_output", "shortfall", "shortfall_fraction",
             "days_of_cover", "substitute_share", "controlled_origin_share", "jobs_at_risk", "anode_cost_index",
             "cell_cost_index", "material_limited", "nameplate")


class CellMakers:
    """The importer's cell makers: stock, reserves, batches, orders."""

    def __init__(self, inp: Inputs, clock: StepClock, plants, suppliers: Suppliers, ledger: Ledger,
                 controls: list[ControlProcess], yield_noise: Normal,
                 log: Callable[[str, str, float], None] | None):
        self.inp, self.clock, self.plants, self.suppliers, self.ledger = inp, clock, plants, suppliers, ledger
        self.controls, self.yield_noise, self.log = controls, yield_noise, log
        T, R, M, G = inp.T, inp.R, inp.M, inp.G
        self.rec = {k: np.zeros(T) for k in SERIES_1D}
        self.rec.update(inventory=np.zeros((T, M)), in_transit=np.zeros((T, M)), deliveries=np.zeros((T, R, M)),
                        orders_blocked=np.zeros((T, M)), reserve=np.zeros((T, M)), consumption=np.zeros((T, M)),
                        licence_backlog=np.zeros((T, max(inp.n_controls, 1))),
                        supportable_by_origin=np.zeros((T, R)), substitute_by_material=np.zeros((T, M)))
        self.gmask = np.zeros((G, M), bool)
        for m, g in enumerate(inp.group_of):
            self.gmask[g, m] = True
        self.is_sub = np.isin(np.arange(M), inp.substitutes)
        self.disp, self.maxshare = inp.disp.tolist(), inp.maxshare.tolist()
        self.share, self.target_days = inp.share.tolist(), inp.target_days.tolist()
        k_lead = np.maximum(1, np.rint(inp.lead / inp.dt_ref))          # whole steps, as lots are booked
        self.lead_avg = (inp.share * k_lead * inp.dt_ref).sum(axis=0).tolist()
        self.reserve = inp.reserve0.copy()
        self.consumed = np.zeros(M)
        self.released = np.zeros(M)
        incumbent = inp.share.argmax(axis=0)
        self.not_incumbent = np.ones((R, M))
        self.not_incumbent[incumbent, np.arange(M)] = 0.0
        self.b_learn = np.log2(max(1.0 - inp.lrate, 1e-12))
        self.cum_out = 0.0
        self.limited = False
        self._f, self._need0, self._cy = np.ones(T), np.zeros(T), np.ones(T)
        self._use, self._arr = np.zeros((T, M)), np.zeros((T, R, M))
        self._initial_state()

    # ---- planning --------------------------------------------------------------------------------
    def _plan(self, t: int, now: float, cap_now: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float, float, float]:
        """(planned output, duty by group, planned use by material, yield, nameplate, good capacity)."""
        inp = self.inp
        nameplate, good = self.plants.cells(t, now)
        cy = good / max(nameplate, 1e-12) if nameplate > 0 else inp.y_mature
        planned = min(float(inp.demand[t]), inp.util * good)
        need = (planned / max(cy, 1e-12)) * inp.intensity                     # (G,) t/day geq
        supply_geq = (cap_now.sum(axis=0) * inp.disp).tolist()
        disp, maxshare, need_l = self.disp, self.maxshare, need.tolist()     # plain floats: M and G are small
        use = [0.0] * inp.M
        for g in range(inp.G):
            left = need_l[g]
            for m in inp.subs_by_group[g]:
                u = min(maxshare[m] * need_l[g], supply_geq[m], left)
                use[m] = u / disp[m]
                left -= u
            for m in inp.base_by_group[g][:1]:
                use[m] = left / disp[m]
        return planned, need, np.array(use), cy, nameplate, good

    def _initial_state(self) -> None:
        inp, led = self.inp, self.ledger
        cap0 = self.plants.supply_cap(0, 0.0)
        _, _, u0, _, _, good0 = self._plan(0, 0.0, cap0)
        led.inv[:] = u0 * inp.init_days
        self.inv0 = led.inv.copy()
        self.flow0 = u0[None, :] * inp.share                                   # (R,M) t/day
        for o in range(inp.R):
            for m in range(inp.M):
                if self.flow0[o, m] > 0:
                    k = max(1, int(round(float(inp.lead[o, m]) / inp.dt_ref)))
                    for j in range(k):
                        self.suppliers.ship_initial(o, m, float(self.flow0[o, m]) * inp.dt_ref, j)
        self.cum0 = max(min(float(inp.demand[0]), inp.util * good0) * DAYS_PER_YEAR, 1e-9)

    # ---- one step ------------------------------------------------------------------------------
    def step(self, t: int) -> None:
        """The cell makers' step ``t`` (arrivals and control changes already applied)."""
        inp, led, rec = self.inp, self.ledger, self.rec
        M, G = inp.M, inp.G
        now = float(inp.td[t])
        dt = float(inp.dts[t])
        arr = led.arrivals.copy()
        led.arrivals[:] = 0.0
        inv = led.inv
        cap_now = self.plants.supply_cap(t, now)
        planned, need, u_plan, cy, nameplate, good_cap = self._plan(t, now, cap_now)
        self.u_plan_now = u_plan.tolist()
        # reserves
        if inp.reserves:
            want = (inv < u_plan * inp.trig) & (self.reserve > 0)
            rel = np.where(want, np.minimum(self.reserve, inp.reserve0 * dt / inp.rel_days), 0.0)
            self.reserve -= rel
            inv += rel
            self.released += rel
            if self.log is not None and rel.sum() > 0:
                for m in np.flatnonzero(rel):
                    self.log("reserve_release", f"reserve:{inp.materials[m]}", float(rel[m]))
        # production batch from stock (plain floats: M is small and this runs every step)
        disp, maxshare = self.disp, self.maxshare
        avail = [x * d for x, d in zip(inv.tolist(), disp)]
        need_l = need.tolist()
        f = 1.0
        for g in range(G):
            nd = max(need_l[g] * dt, 1e-300)
            subs, base = inp.subs_by_group[g], inp.base_by_group[g]
            ms_sum = sum(maxshare[m] for m in subs)
            base_av = avail[base[0]] if base else 0.0
            tot_av = base_av + sum(avail[m] for m in subs)
            fg = min(1.0, tot_av / nd)
            if ms_sum < 1.0:
                fg = min(fg, base_av / (max(1.0 - ms_sum, 1e-300) * nd))
            if need_l[g] > 0:
                f = min(f, fg)
        use_l = [0.0] * M
        got = [1.0] * G
        for g in range(G):
            want = need_l[g] * dt * f
            left = want
            for m in inp.subs_by_group[g]:
                u = min(avail[m], maxshare[m] * want, left)
                use_l[m] = u / disp[m]
                left -= u
            for m in inp.base_by_group[g][:1]:
                u = min(avail[m], left)
                use_l[m] = u / disp[m]
                left -= u
            got[g] = 1.0 - left / max(want, 1e-300) if want > 0 else 1.0
        short = min(got)
        if short < 1.0:
            use_l = [u * short / max(got[inp.group_of[m]], 1e-300) for m, u in enumerate(use_l)]
        f *= short
        use = np.array(use_l)
        inv -= use
        np.maximum(inv, 0.0, out=inv)
        self.consumed += use
        output = planned * f
        if inp.settings.yield_sd > 0 and output > 0:
            y = min(1.0, max(0.0, cy + inp.settings.yield_sd * self.yield_noise()))
            output *= y / cy
        self.cum_out += output * dt
        limited = f < 1.0 - 1e-9 and planned > 0
        if self.log is not None:
            self.log("batch", "cells", output * dt)
            if limited != self.limited:
                self.log("shortage_starts" if limited else "shortage_ends", "cells", planned * (1 - f) * dt)
        self.limited = limited
        # orders: order-up-to, counting stock in transit and licences pending
        position = (inv + led.transit).tolist()
        surge = [0.0] * M
        for cp in self.controls:
            m = cp.c.material
            position[m] += cp.pending_t()
            if cp.waiting:                 # the share of demand whose buyers front-run raises the target
                surge[m] = max(surge[m], cp.c.surge * cp.wait_frac)
        af = min(1.0, dt / inp.adj)
        order = []
        for m, u in enumerate(u_plan.tolist()):
            goal_days = self.target_days[m] * (1.0 + surge[m]) + self.lead_avg[m]   # on hand and on order
            # replace this step's use, and close part of the gap left after it (steady state: no gap)
            order.append(max(0.0, u * dt + (u * (goal_days - dt) - position[m]) * af))
        self._place(t, now, dt, order, cap_now)
        # the state of the step; indicators are derived from it after the run (finish)
        rec["planned_output"][t] = planned
        rec["cell_output"][t] = output
        rec["cell_capacity"][t] = good_cap
        rec["nameplate"][t] = nameplate
        rec["material_limited"][t] = limited
        rec["inventory"][t] = inv
        rec["reserve"][t] = self.reserve
        learning = self.plants.learning(t)
        rec["cell_cost_index"][t] = learning if learning is not None else self.cum_out
        self._f[t], self._need0[t], self._cy[t] = f, need[0], cy
        self._use[t], self._arr[t] = use, arr

    def finish(self) -> dict[str, np.ndarray]:
        """The recorded series with the indicators (the stock-flow engine's definitions), all steps at once."""
        inp, rec = self.inp, self.rec
        dts = inp.dts
        planned, f = rec["planned_output"], self._f
        sf = np.where(planned > 0, 1.0 - f, 0.0)
        rec["demand"][:] = inp.demand
        rec["shortfall"][:] = planned * (1.0 - f)
        rec["shortfall_fraction"][:] = sf
        rec["jobs_at_risk"][:] = inp.exposed * sf
        g0 = self.gmask[0]
        disp = inp.disp
        geq_stock = (rec["inventory"] * disp)[:, g0].sum(axis=1)
        rec["days_of_cover"][:] = np.where(self._need0 > 0, geq_stock / np.maximum(self._need0, 1e-300), np.inf)
        use_geq = self._use * disp
        tot_geq = use_geq[:, g0].sum(axis=1)
        sub_geq = use_geq[:, self.is_sub].sum(axis=1)
        rec["substitute_share"][:] = np.where(tot_geq > 0, sub_geq / np.maximum(tot_geq, 1e-300), 0.0)
        rec["substitute_by_material"][:] = np.where(tot_geq[:, None] > 0, use_geq / np.maximum(tot_geq, 1e-300)[:, None],
                                                    0.0) * self.is_sub
        arr_geq = self._arr * disp
        tot_arr = arr_geq.sum(axis=(1, 2))
        ctrl = (arr_geq * inp.controlled).sum(axis=(1, 2))
        rec["controlled_origin_share"][:] = np.where(tot_arr > 0, ctrl / np.maximum(tot_arr, 1e-300), 0.0)
        price = np.broadcast_to(1.0 + inp.premium * self.not_incumbent, arr_geq.shape).copy()
        for o, m, rate, start in inp.tariffs:
            price[inp.td >= start, o, m] *= 1.0 + rate
        paid = (arr_geq * price).sum(axis=(1, 2))
        pavg = np.empty(inp.T)
        last = 1.0
        for t in range(inp.T):              # with nothing delivered, the last price stands
            last = paid[t] / tot_arr[t] if tot_arr[t] > 0 else last
            pavg[t] = last
        rec["anode_cost_index"][:] = pavg * (1.0 + inp.elasticity * sf)
        if inp.slow is None:                 # engine des: the learning curve of its own cumulative output
            rec["cell_cost_index"][:] = ((self.cum0 + rec["cell_cost_index"]) / self.cum0) ** self.b_learn
        rec["deliveries"][:] = self._arr / dts[:, None, None]
        rec["consumption"][:] = self._use / dts[:, None]
        per_gwh = inp.intensity[0] / np.maximum(self._cy, 1e-12)
        rec["supportable_by_origin"][:] = (arr_geq * g0).sum(axis=2) / (per_gwh * dts)[:, None]
        return rec

    def _place(self, t: int, now: float, dt: float, order: list[float], cap_now: np.ndarray) -> None:
        """Split ``order`` (by material) across origins and ship it, through the export controls.

        The stock-flow engine's rules on (origin, material) pairs, in plain floats (R and M are small).
        """
        inp, led = self.inp, self.ledger
        R, M = inp.R, inp.M
        origins, mats = range(R), range(M)
        s = [row[:] for row in self.share]
        for m, excluded, steps, uptake in inp.rules:
            h = 0.0
            for start, val in steps:
                if now >= start:
                    h = val
            ok = [o for o in origins if o not in excluded]
            e = sum(s[o][m] for o in excluded)
            allowed = min(e, 1.0 - uptake * h)
            keep = allowed / e if e > 0 else 1.0
            for o in excluded:
                s[o][m] *= keep
            rest = sum(s[o][m] for o in ok)
            moved = e - allowed
            if rest > 0:
                for o in ok:
                    s[o][m] += s[o][m] / rest * moved
            else:
                has = [1.0 if inp.cap_base[o, m] > 0 else 0.0 for o in ok]
                for o, x in zip(ok, has):
                    s[o][m] += x * moved / max(sum(has), 1.0)
        desired = [[order[m] * s[o][m] for m in mats] for o in origins]
        redirect = [0.0] * M
        barred = set()
        diverted = []
        for cp in self.controls:
            c = cp.c
            if cp.active:
                barred.add((c.origin, c.material))
                mv = c.div * (1.0 - c.exempt) * desired[c.origin][c.material] * cp.bound_frac
                desired[c.origin][c.material] -= mv
                redirect[c.material] += mv
                diverted.append((c, mv))
        cap = cap_now.tolist()
        placed = [[0.0] * M for _ in origins]
        spare = [[0.0] * M for _ in origins]
        for o in origins:
            for m in mats:
                cs = cap[o][m] * dt
                x = min(desired[o][m], cs)
                placed[o][m] = x
                redirect[m] += desired[o][m] - x
                spare[o][m] = 0.0 if (o, m) in barred else max(cs - x, 0.0)
        # orders no origin could take go where there is spare capacity, in proportion to it
        blocked = redirect[:]
        for m in mats:
            if redirect[m] > 0:
                room = sum(spare[o][m] for o in origins)
                take = min(1.0, redirect[m] / max(room, 1e-300))
                for o in origins:
                    extra = spare[o][m] * take
                    placed[o][m] += extra
                    blocked[m] -= extra
        # diverted orders no one else could take go back to the controlled origin (as stock-flow)
        for c, mv in diverted:
            m = c.material
            if redirect[m] > 0 and mv > 0:
                back = min(mv * blocked[m] / redirect[m], max(cap[c.origin][m] * dt - placed[c.origin][m], 0.0))
                placed[c.origin][m] += back
                blocked[m] -= back
        for cp in self.controls:           # by destination: free, banned, within a quota, or licence applications
            c = cp.c
            o, m = c.origin, c.material
            x = placed[o][m]
            rests = [x * w - x * w * c.exempt for w in cp.w_l]
            if cp.active:
                out = 0.0
                for d, (w, reg) in enumerate(zip(cp.w_l, cp.reg_l)):
                    x_d = x * w
                    free = x_d * c.exempt
                    rest = x_d - free
                    if reg == NONE:
                        out += x_d
                    elif reg == BAN:
                        out += free
                        blocked[m] += rest
                    elif reg == QUOTA:
                        allowed = min(rest, float(cp.quota(t, now)[d]) * dt)
                        out += free + allowed
                        blocked[m] += rest - allowed
                    else:
                        out += free
                        auth = cp.authorities[d]
                        assert auth is not None
                        q = float(inp.lot_size[m])
                        if rest > 1e-9 * q:
                            n = max(1, math.ceil(rest / q - 1e-9))
                            for _ in range(n):
                                auth.apply(rest / n, (o, m))
                placed[o][m] = out
            cp.update_terms(t, now, dt, rests, self.u_plan_now[m] * self.share[o][m])
        led.blocked[t] += blocked
        for o in origins:
            for m in mats:
                if placed[o][m] > 0:
                    self.suppliers.ship(o, m, placed[o][m], t)
