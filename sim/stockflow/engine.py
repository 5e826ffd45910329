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
from .structure import Structure, build_structure

BIG = 1e15          # stands in for "no capacity limit" so that arithmetic stays finite
MASS_TOL = 1e-7     # relative tolerance of the mass-balance check


class ModelError(RuntimeError):
    """A physical invariant broke: mass not conserved or a stock negative."""


@dataclass
class Trajectory:
    """Recorded series (time first, then samples) and the structure they index."""

    structure: Structure
    t_days: np.ndarray
    dt_days: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    shock_day: np.ndarray | None = None      # (S,) first effective date of a control, NaN if none
    mass_error_max: float = 0.0

    @property
    def samples(self) -> int:
        return self.series["cell_output"].shape[1]


def _slot(res: Resolved, path: str, default: float | None = None) -> np.ndarray:
    v = res.slots.get(path)
    if v is None:
        if default is None:
            raise KeyError(path)
        return np.full(res.samples, float(default))
    return v


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
        R, M, G = st.R, st.M, st.G
        years = td / DAYS_PER_YEAR
        demand = np.zeros((T, S))
        for seg in st.segments:
            base = _slot(res, f"demand.segments.{seg}.base")
            g = _slot(res, f"demand.segments.{seg}.growth")
            demand += base[None, :] * (1.0 + g[None, :]) ** years[:, None]
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
        self.stages: dict[tuple[str, str], np.ndarray] = {}
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
            t2 = td[:, None]
            for stage, mask in (("announced", (t2 >= announced) & (t2 < online - build)),
                                ("building", (t2 >= online - build) & (t2 < online)),
                                ("ramping", (t2 >= online) & (t2 < online + ramp)),
                                ("operating", t2 >= online + ramp)):
                key = (p.product, stage)
                self.stages[key] = self.stages.get(key, 0.0) + np.where(mask, unit_cap[None, :], 0.0)
        self.nameplate, self.good_cap = nameplate, good
        self.cell_yield = np.where(nameplate > 0, good / np.maximum(nameplate, 1e-12), y_mature[None, :])

    def supply_capacity(self, t: int) -> np.ndarray:
        """(S,R,M) what each origin can ship per day at step t."""
        cap = self.cap_base
        if self.proj_cap:
            cap = cap.copy()
            for o, m, c in self.proj_cap:
                cap[:, o, m] += c[t]
        return cap

    # ---- integration ---------------------------------------------------------------------------
    def run(self, record: str = "full") -> Trajectory:
        st, res, S = self.st, self.res, self.res.samples
        T, R, M, G = self.cal.n, st.R, st.M, st.G
        td, dts = self.cal.t_days, self.cal.dt_days
        dt_ref = float(np.mean(dts))
        ar = np.arange(S)
        gmask = np.zeros((G, M), bool)
        for m, g in enumerate(st.group_of):
            gmask[g, m] = True
        subs_by_group = [[m for m in st.substitutes if st.group_of[m] == g] for g in range(G)]
        base_by_group = [[m for m in range(M) if st.group_of[m] == g and m not in st.substitutes] for g in range(G)]
        # lead times as whole steps (arrive at the start of step t+k, k >= 1)
        k_lead = np.maximum(1, np.rint(self.lead / dt_ref)).astype(np.int64)
        controls = st.controls
        kd = [np.maximum(0, np.rint(_slot(res, f"{c.path}.licence.decision_days", 0.0) / dt_ref)).astype(np.int64)
              if c.regime == "licence" else np.zeros(S, np.int64) for c in controls]
        Lb = int(k_lead.max()) + 2
        Ld = int(max([int(k.max()) for k in kd] + [0])) + 2
        # control timing (days since start)
        ctl = []
        for c, kdec in zip(controls, kd):
            eff = _slot(res, f"{c.path}.effective", 0.0)
            ctl.append(dict(
                c=c, eff=eff, ann=_slot(res, f"{c.path}.announced", float("nan")) if c.has_announced else eff,
                ends=_slot(res, f"{c.path}.ends", np.inf) if c.has_ends else np.full(S, np.inf),
                sus=[(_slot(res, f"{c.path}.suspensions.{j}.start"), _slot(res, f"{c.path}.suspensions.{j}.end"))
                     for j in range(c.n_suspensions)],
                exempt=_slot(res, f"{c.path}.exempt_share", 0.0), div=_slot(res, f"{c.path}.diversion", 0.0),
                surge=_slot(res, f"{c.path}.front_running", 0.0),
                cap_share=_slot(res, f"{c.path}.licence.capacity_share", 0.0),
                approval=_slot(res, f"{c.path}.licence.approval", 0.0),
                quota=_slot(res, f"{c.path}.quota", 0.0), kd=kdec,
                backlog=np.zeros(S), dbuf=np.zeros((Ld, S)), was_active=np.zeros(S, bool)))
        rules = []
        for r in st.rules:
            steps = [(_slot(res, f"{r.path}.schedule.{j}.from"), _slot(res, f"{r.path}.schedule.{j}.min_share"))
                     for j in range(r.n_steps)]
            rules.append((r, steps, _slot(res, f"{r.path}.uptake", 1.0)))
        target_days = np.stack([_slot(res, f"inventory.{m}.target_days") for m in st.materials], axis=1)
        init_days = np.stack([_slot(res, f"inventory.{m}.initial_days") for m in st.materials], axis=1)
        adj = _slot(res, "ordering.adjustment_days", 28.0)
        reserve = np.zeros((S, M))
        trig = np.zeros((S, M))
        rel_days = np.ones((S, M))
        for m in st.reserves:
            name = st.materials[m]
            reserve[:, m] = _slot(res, f"reserves.{name}.initial")
            trig[:, m] = _slot(res, f"reserves.{name}.trigger_days", 0.0)
            rel_days[:, m] = _slot(res, f"reserves.{name}.release_days", 30.0)
        reserve0 = reserve.copy()
        # cost inputs
        premium = _slot(res, "costs.exchina_premium", 0.0)
        elasticity = _slot(res, "costs.scarcity_elasticity", 0.0)
        lrate = _slot(res, "costs.learning_rate", 0.0)
        incumbent = self.share.argmax(axis=1)                                   # (S,M)
        not_incumbent = np.ones((S, R, M))
        np.put_along_axis(not_incumbent, incumbent[:, None, :], 0.0, axis=1)
        tariffs = [(tf, _slot(res, f"{tf.path}.rate"), _slot(res, f"{tf.path}.from", -1e9)) for tf in st.tariffs]
        exposed = _slot(res, "jobs.exposed", 0.0)

        def planned_use(t: int, cap_now: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            planned = np.minimum(self.demand[t], self.util * self.good_cap[t])
            need = (planned / np.maximum(self.cell_yield[t], 1e-12))[:, None] * self.intensity      # (S,G) t/day
            use = np.zeros((S, M))
            supply_geq = cap_now.sum(axis=1) * self.disp                                          # (S,M)
            for g in range(G):
                left = need[:, g].copy()
                for m in subs_by_group[g]:
                    u = np.minimum(np.minimum(self.maxshare[:, m] * need[:, g], supply_geq[:, m]), left)
                    use[:, m] = u / self.disp[:, m]
                    left -= u
                for m in base_by_group[g][:1]:
                    use[:, m] = left / self.disp[:, m]
            return planned, need, use

        # ---- initial state: steady flow at the start --------------------------------------------
        cap0 = self.supply_capacity(0)
        _, _, u0 = planned_use(0, cap0)
        inv = u0 * init_days
        buf = np.zeros((Lb, S, R, M))
        flow0 = u0[:, None, :] * self.share                                                     # (S,R,M) t/day
        for j in range(Lb):
            buf[j] += np.where(j < k_lead, flow0 * dt_ref, 0.0)
        for cinfo in ctl:
            c = cinfo["c"]
            cinfo["ref"] = flow0[:, c.origin, c.material]
        stock0 = inv.sum() + buf.sum() + reserve.sum()
        scale = max(stock0, 1.0)
        shipped_cum = np.zeros((S, M))
        consumed_cum = np.zeros((S, M))
        lost_cum = np.zeros((S, M))
        total0 = inv + buf.sum(axis=(0, 2)) + reserve                                            # (S,M)
        cum_out = np.zeros(S)
        cum0 = np.maximum(np.minimum(self.demand[0], self.util * self.good_cap[0]) * DAYS_PER_YEAR, 1e-9)
        b_learn = np.log2(np.maximum(1.0 - lrate, 1e-12))
        last_price = np.ones(S)

        full = record == "full"
        rec = {k: np.zeros((T, S)) for k in (
            "demand", "cell_capacity", "planned_output", "cell_output", "shortfall", "shortfall_fraction",
            "days_of_cover", "substitute_share", "controlled_origin_share", "jobs_at_risk", "anode_cost_index",
            "cell_cost_index", "material_limited")}
        if full:
            rec.update(inventory=np.zeros((T, S, M)), in_transit=np.zeros((T, S, M)),
                       deliveries=np.zeros((T, S, R, M)), orders_blocked=np.zeros((T, S, M)),
                       reserve=np.zeros((T, S, M)), consumption=np.zeros((T, S, M)),
                       licence_backlog=np.zeros((T, S, max(len(ctl), 1))),
                       supportable_by_origin=np.zeros((T, S, R)),
                       substitute_by_material=np.zeros((T, S, M)))
        controlled = np.zeros((R, M), bool)
        for c in controls:
            controlled[c.origin, c.material] = True
        if not controls:  # no control: report the share of the incumbent (largest preferred share)
            inc = self.share.mean(axis=0).argmax(axis=0)
            for m in range(M):
                if self.share[:, :, m].sum() > 0:
                    controlled[inc[m], m] = True
        shock = np.full(S, np.nan)
        for cinfo in ctl:
            shock = np.fmin(shock, cinfo["eff"])
        worst = 0.0

        for t in range(T):
            dt = dts[t]
            now = td[t]
            slot = t % Lb
            # 1. arrivals
            arr = buf[slot].copy()
            buf[slot] = 0.0
            inv += arr.sum(axis=1)
            # 2. control states this step
            pre = np.zeros((S, M), bool)       # a known restriction not yet binding: front-running
            for cinfo in ctl:
                c = cinfo["c"]
                active = (now >= cinfo["eff"]) & (now < cinfo["ends"])
                waiting = (now >= cinfo["ann"]) & (now < cinfo["eff"])
                for s0, s1 in cinfo["sus"]:
                    ins = (now >= s0) & (now < s1)
                    active &= ~ins
                    waiting |= ins & (s1 < cinfo["ends"])
                cinfo["active"] = active
                if c.regime == "ban" and c.in_transit == "lose":
                    starts = active & ~cinfo["was_active"]
                    if starts.any():
                        gone = buf[:, :, c.origin, c.material].sum(axis=0) * starts
                        buf[:, :, c.origin, c.material] *= ~starts
                        lost_cum[:, c.material] += gone
                cinfo["was_active"] = active
                pre[:, c.material] |= waiting
                cinfo["surge_on"] = waiting
            # 3. reserves release when cover is low
            cap_now = self.supply_capacity(t)
            planned, need, u_plan = planned_use(t, cap_now)
            if st.reserves:
                cover_m = inv / np.maximum(u_plan, 1e-12)
                want = (cover_m < trig) & (reserve > 0)
                rel = np.where(want, np.minimum(reserve, reserve0 * dt / rel_days), 0.0)
                reserve -= rel
                inv += rel
            # 4. production from stock. Each substitute may serve at most its max_share of the
            #    cells made (a design limit per cell), so the base material bounds output too.
            avail = inv * self.disp                                                         # (S,M) geq
            f = np.ones(S)
            for g in range(G):
                nd = np.maximum(need[:, g] * dt, 1e-300)
                ms_sum = sum((self.maxshare[:, m] for m in subs_by_group[g]), np.zeros(S))
                base_av = avail[:, base_by_group[g][0]] if base_by_group[g] else np.zeros(S)
                tot_av = base_av + sum((avail[:, m] for m in subs_by_group[g]), np.zeros(S))
                fg = np.minimum(1.0, tot_av / nd)
                fg = np.where(ms_sum < 1.0, np.minimum(fg, base_av / (np.maximum(1.0 - ms_sum, 1e-300) * nd)), fg)
                f = np.minimum(f, np.where(need[:, g] > 0, fg, 1.0))
            use = np.zeros((S, M))
            got = np.ones((S, G))
            for g in range(G):
                want = need[:, g] * dt * f
                left = want.copy()
                for m in subs_by_group[g]:
                    u = np.minimum(np.minimum(avail[:, m], self.maxshare[:, m] * want), left)
                    use[:, m] = u / self.disp[:, m]
                    left -= u
                for m in base_by_group[g][:1]:
                    u = np.minimum(avail[:, m], left)
                    use[:, m] = u / self.disp[:, m]
                    left -= u
                got[:, g] = np.where(want > 0, 1.0 - left / np.maximum(want, 1e-300), 1.0)
            short = got.min(axis=1)                       # < 1 only through rounding; keep groups in step
            use *= (short[:, None] / np.maximum(got, 1e-300))[:, st.group_of]
            f = f * short
            inv -= use
            consumed_cum += use
            output = planned * f
            cum_out += output * dt
            # 5. orders: order-up-to, counting what is already on order
            transit = buf.sum(axis=(0, 2))                                                  # (S,M)
            pending = np.zeros((S, M))
            for cinfo in ctl:
                pending[:, cinfo["c"].material] += cinfo["backlog"] + cinfo["dbuf"].sum(axis=0)
            surge = np.zeros((S, M))
            for cinfo in ctl:
                surge[:, cinfo["c"].material] = np.maximum(surge[:, cinfo["c"].material],
                                                           np.where(cinfo["surge_on"], cinfo["surge"], 0.0))
            lead_avg = (self.share * self.lead).sum(axis=1)
            target = u_plan * (target_days * (1.0 + surge) + lead_avg)
            position = inv + transit + pending
            order = np.maximum(0.0, u_plan * dt + (target - position) * np.minimum(1.0, dt / adj)[:, None])
            # 6. split across origins
            s = self.share.copy()
            for r, steps, uptake in rules:
                h = np.zeros(S)
                for start, val in steps:
                    h = np.where(now >= start, val, h)
                m = r.material
                ex = list(r.excluded)
                e = s[:, ex, m].sum(axis=1)
                allowed = np.minimum(e, 1.0 - uptake * h)
                ok = [o for o in range(R) if o not in ex]
                keep = np.where(e > 0, allowed / np.maximum(e, 1e-300), 1.0)
                s[:, ex, m] *= keep[:, None]
                rest = s[:, ok, m].sum(axis=1)
                moved = e - allowed
                s[:, ok, m] += np.where(rest[:, None] > 0, s[:, ok, m] / np.maximum(rest, 1e-300)[:, None],
                                        cap_now[:, ok, m] > 0) * moved[:, None] / np.where(
                    rest > 0, 1.0, np.maximum((cap_now[:, ok, m] > 0).sum(axis=1), 1))[:, None]
            desired = order[:, None, :] * s
            redirect = np.zeros((S, M))
            blocked_here = np.zeros((S, R, M), bool)
            for cinfo in ctl:
                c = cinfo["c"]
                a = cinfo["active"]
                blocked_here[:, c.origin, c.material] |= a
                mv = np.where(a, cinfo["div"] * (1.0 - cinfo["exempt"]) * desired[:, c.origin, c.material], 0.0)
                desired[:, c.origin, c.material] -= mv
                redirect[:, c.material] += mv
            cap_step = cap_now * dt
            placed = np.minimum(desired, cap_step)
            redirect += (desired - placed).sum(axis=1)
            spare = np.where(blocked_here, 0.0, cap_step - placed)
            w = np.where(spare > 0, s + 1e-9, 0.0)
            wsum = w.sum(axis=1)
            extra = np.minimum(spare, w / np.maximum(wsum, 1e-300)[:, None, :] * redirect[:, None, :])
            placed += extra
            unfilled = redirect - extra.sum(axis=1)
            # 7. export controls on what was placed with a controlled origin
            ship = placed.copy()
            blocked = unfilled.copy()
            for cinfo in ctl:
                c = cinfo["c"]
                a = cinfo["active"]
                o, m = c.origin, c.material
                x = placed[:, o, m]
                free = x * cinfo["exempt"]
                rest = x - free
                if c.regime == "ban":
                    out = free
                    blocked[:, m] += np.where(a, rest, 0.0)
                elif c.regime == "quota":
                    allowed = np.minimum(rest, cinfo["quota"] * dt)
                    out = free + allowed
                    blocked[:, m] += np.where(a, rest - allowed, 0.0)
                else:  # licence: queue, process at finite capacity, decide after a delay
                    dslot = t % Ld
                    decided = cinfo["dbuf"][dslot].copy()
                    cinfo["dbuf"][dslot] = 0.0
                    cinfo["backlog"] += np.where(a, rest, 0.0)
                    proc = np.minimum(cinfo["backlog"], cinfo["cap_share"] * cinfo["ref"] * dt)
                    proc = np.where(a, proc, cinfo["backlog"])       # lifted: the queue is released
                    cinfo["backlog"] -= proc
                    idx = (t + cinfo["kd"]) % Ld
                    now_dec = np.where(a, 0.0, proc)                    # no licence needed: ship now
                    later = proc - now_dec
                    cinfo["dbuf"][idx, ar] += np.where(cinfo["kd"] > 0, later, 0.0)
                    decided += np.where(cinfo["kd"] > 0, 0.0, later)
                    if not a.all():  # decisions pending when a control lifts ship without one
                        decided += np.where(a, 0.0, cinfo["dbuf"].sum(axis=0))
                        cinfo["dbuf"] *= a
                    approved = decided * np.where(a, cinfo["approval"], 1.0)
                    blocked[:, m] += decided - approved
                    out = np.where(a, free + approved, x + now_dec + approved)
                ship[:, o, m] = out if c.regime == "licence" else np.where(a, out, x)
            shipped_cum += ship.sum(axis=1)
            tidx = (t + k_lead) % Lb
            _scatter_add(buf, tidx, ship)
            # 8. checks: mass balance and non-negativity
            transit = buf.sum(axis=(0, 2))
            err = inv + transit + reserve + consumed_cum + lost_cum - (total0 + shipped_cum)
            e = float(np.abs(err).max())
            worst = max(worst, e)
            if e > MASS_TOL * max(scale, float(np.abs(shipped_cum).max())):
                si, mi = np.unravel_index(np.abs(err).argmax(), err.shape)
                raise ModelError(f"mass balance broken for material '{st.materials[mi]}' at step {t} "
                                 f"({self.cal.date_of(now)}), sample {si}: imbalance {err[si, mi]:.6g} t")
            lowest = min(float(inv.min()), float(buf.min()), float(reserve.min()))
            if lowest < -MASS_TOL * scale:
                what = "inventory" if inv.min() == lowest else ("in-transit goods" if buf.min() == lowest else "reserve")
                raise ModelError(f"negative {what} at step {t} ({self.cal.date_of(now)}): {lowest:.6g} t")
            np.maximum(inv, 0.0, out=inv)
            # 9. indicators
            need_geq = need * dt
            geq_stock = (inv * self.disp)[:, None, :] * gmask[None, :, :]
            cover = np.where(need[:, 0] > 0, geq_stock[:, 0].sum(axis=1) / np.maximum(need[:, 0], 1e-300), np.inf)
            sub_geq = (use * self.disp)[:, st.substitutes].sum(axis=1) if st.substitutes else np.zeros(S)
            tot_geq = (use * self.disp * gmask[0]).sum(axis=1)
            arr_geq = arr * self.disp[:, None, :]
            tot_arr = arr_geq.sum(axis=(1, 2))
            ctrl_share = np.where(tot_arr > 0, (arr_geq * controlled[None]).sum(axis=(1, 2)) / np.maximum(tot_arr, 1e-300), 0.0)
            price = 1.0 + premium[:, None, None] * not_incumbent
            for tf, rate, start in tariffs:
                price[:, tf.origin, tf.material] *= 1.0 + np.where(now >= start, rate, 0.0)
            pavg = np.where(tot_arr > 0, (arr_geq * price).sum(axis=(1, 2)) / np.maximum(tot_arr, 1e-300), last_price)
            last_price = pavg
            sf = np.where(planned > 0, 1.0 - f, 0.0)
            rec["demand"][t] = self.demand[t]
            rec["cell_capacity"][t] = self.good_cap[t]
            rec["planned_output"][t] = planned
            rec["cell_output"][t] = output
            rec["shortfall"][t] = planned - output
            rec["shortfall_fraction"][t] = sf
            rec["days_of_cover"][t] = cover
            rec["substitute_share"][t] = np.where(tot_geq > 0, sub_geq / np.maximum(tot_geq, 1e-300), 0.0)
            rec["controlled_origin_share"][t] = ctrl_share
            rec["jobs_at_risk"][t] = exposed * sf
            rec["anode_cost_index"][t] = pavg * (1.0 + elasticity * sf)
            rec["cell_cost_index"][t] = ((cum0 + cum_out) / cum0) ** b_learn
            rec["material_limited"][t] = (f < 1.0 - 1e-9) & (planned > 0)
            if full:
                rec["inventory"][t] = inv
                rec["in_transit"][t] = transit
                rec["deliveries"][t] = arr / dt
                rec["orders_blocked"][t] = blocked / dt
                rec["reserve"][t] = reserve
                rec["consumption"][t] = use / dt
                per_gwh = self.intensity[:, 0] / np.maximum(self.cell_yield[t], 1e-12)      # t geq per good GWh
                rec["supportable_by_origin"][t] = (arr_geq * gmask[0]).sum(axis=2) / (per_gwh[:, None] * dt)
                for k, cinfo in enumerate(ctl):
                    rec["licence_backlog"][t, :, k] = cinfo["backlog"] + cinfo["dbuf"].sum(axis=0)
                rec["substitute_by_material"][t] = np.where(tot_geq[:, None] > 0, use * self.disp /
                                                            np.maximum(tot_geq, 1e-300)[:, None], 0.0) * (
                    np.isin(np.arange(M), st.substitutes)[None, :])
        traj = Trajectory(structure=st, t_days=td, dt_days=dts, series=rec, shock_day=shock, mass_error_max=worst)
        if full:
            traj.series["stages"] = self.stages  # type: ignore[assignment]
            traj.series["nameplate"] = self.nameplate
        return traj


def _scatter_add(buf: np.ndarray, tidx: np.ndarray, ship: np.ndarray) -> None:
    """buf[tidx[s,r,m], s, r, m] += ship[s,r,m]; each (s,r,m) once, so plain fancy indexing is exact."""
    S, R, M = ship.shape
    s_i = np.arange(S)[:, None, None]
    r_i = np.arange(R)[None, :, None]
    m_i = np.arange(M)[None, None, :]
    buf[tidx, s_i, r_i, m_i] += ship


def simulate(scn: Scenario, res: Resolved, record: str = "full") -> Trajectory:
    """Integrate ``scn`` with the values in ``res`` over its calendar; all samples at once."""
    return StockFlowModel(scn, res).run(record=record)
