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
from .controls import ControlPlan, LicenceQueue
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
        use = np.zeros(supply.shape)
        for g in range(st.G):
            left = need[:, :, g].copy()
            for m in [m for m in st.substitutes if st.group_of[m] == g]:
                u = np.minimum(np.minimum(self.maxshare[None, :, m] * need[:, :, g], supply_geq[:, :, m]), left)
                use[:, :, m] = u / self.disp[None, :, m]
                left -= u
            base = [m for m in range(st.M) if st.group_of[m] == g and m not in st.substitutes]
            if base:
                use[:, :, base[0]] = left / self.disp[None, :, base[0]]
        return planned, need, use

    def control_plans(self) -> list[ControlPlan]:
        """Per export control: its phases as per-step arrays (regime, phase, front-running) and terms."""
        dt_ref = float(np.mean(self.cal.dt_days))
        return [ControlPlan(c, self.st, self.res, self.cal.t_days, dt_ref) for c in self.st.controls]

    # ---- integration ---------------------------------------------------------------------------
    def run(self, record: str = "full") -> Trajectory:
        st, res, S = self.st, self.res, self.res.samples
        T, R, M, G = self.cal.n, st.R, st.M, st.G
        td, dts = self.cal.t_days, self.cal.dt_days
        dt_ref = float(np.mean(dts))
        subs_by_group = [[m for m in st.substitutes if st.group_of[m] == g] for g in range(G)]
        base_by_group = [[m for m in range(M) if st.group_of[m] == g and m not in st.substitutes][:1]
                         for g in range(G)]
        # lead times as whole steps (arrive at the start of step t+k, k >= 1)
        k_lead = np.maximum(1, np.rint(self.lead / dt_ref)).astype(np.int64)
        # goods move only on supplied (origin, material) links: the transit buffer is (Lb,S,L)
        lo = np.array([o for o, _ in st.supplied], dtype=np.int64)
        lm = np.array([m for _, m in st.supplied], dtype=np.int64)
        L = len(lo)
        link_mat = np.zeros((L, M))
        link_mat[np.arange(L), lm] = 1.0
        k_link = k_lead[:, lo, lm]                                                             # (S,L)
        link_of = {(int(o), int(m)): i for i, (o, m) in enumerate(zip(lo, lm))}
        plans = self.control_plans()
        Lb = int(k_link.max()) + 2 if L else 2
        rules = []
        for r in st.rules:
            h = np.zeros((T, S))
            for j in range(r.n_steps):
                start = _slot(res, f"{r.path}.schedule.{j}.from")
                h = np.where(td[:, None] >= start[None, :], _slot(res, f"{r.path}.schedule.{j}.min_share")[None, :], h)
            rules.append((r, h, _slot(res, f"{r.path}.uptake", 1.0)))
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
        planned_all, need_all, uplan_all = self.planned_use()
        lead_avg = (self.share * k_lead * dt_ref).sum(axis=1)     # (S,M) days, as the pipeline holds them

        # ---- initial state: steady flow at the start --------------------------------------------
        u0 = uplan_all[0]
        inv = u0 * init_days
        buf = np.zeros((Lb, S, L))
        flow0 = u0[:, None, :] * self.share                                                     # (S,R,M) t/day
        for j in range(Lb):
            buf[j] += np.where(j < k_link, flow0[:, lo, lm] * dt_ref, 0.0)
        queues = [LicenceQueue(pl, flow0[:, pl.c.origin, pl.c.material]) for pl in plans]
        ctl = list(zip(plans, queues))
        transit = buf.sum(axis=0) @ link_mat                                                    # (S,M)
        total0 = inv + transit + reserve                                                        # (S,M)
        scale = max(float(total0.sum()), 1.0)
        shipped_cum = np.zeros((S, M))
        consumed_cum = np.zeros((S, M))
        lost_cum = np.zeros((S, M))
        worst = 0.0

        full = record == "full"
        rec_f = np.ones((T, S))
        rec_inv = np.zeros((T, S, M))
        rec_use = np.zeros((T, S, M))
        rec_arr_m = np.zeros((T, S, M))
        rec_arr = np.zeros((T, S, L)) if full else None
        if full:
            rec_transit = np.zeros((T, S, M))
            rec_blocked = np.zeros((T, S, M))
            rec_reserve = np.zeros((T, S, M))
            rec_backlog = np.zeros((T, S, max(len(ctl), 1)))
        else:  # what the cost and origin indicators need, without the (T,S,L) array
            ctrl_l = self._controlled_mask()[:, lo, lm].astype(float)                      # (S,L)
            price_w = self._price_weights()
            price_l = price_w(0)[:, lo, lm] if not st.tariffs else None
            rec_arr_ctrl = np.zeros((T, S))
            rec_arr_tot = np.zeros((T, S))
            rec_arr_price = np.zeros((T, S))
        uniform_dt = bool(np.all(dts == dts[0]))
        adj_frac = np.minimum(1.0, dts[0] / adj)[:, None]
        tgt_base = target_days + lead_avg
        share_l = self.share[:, lo, lm]
        # flat scatter indices into buf for each ring position: one indexed add per step
        SL = S * L
        buf_flat = buf.reshape(-1)
        k_flat = k_link.ravel()
        lanes = np.arange(SL)
        arrive_at = [((j + k_flat) % Lb) * SL + lanes for j in range(Lb)]
        cap_l = self.cap_base[:, lo, lm]
        if self.proj_cap:
            cap_l = np.broadcast_to(cap_l, (T, S, L)).copy()
            for o, m, c in self.proj_cap:
                cap_l[:, :, link_of[(o, m)]] += c
        c_li = [link_of[(pl.c.origin, pl.c.material)] for pl in plans]
        loses = [pl.c.in_transit == "lose" and any(q["code"] == 3 for q in pl.phases) for pl in plans]
        disp_l = self.disp[:, lm]

        for t in range(T):
            dt = dts[t]
            # 1. a ban that seizes goods on the way does so from the start of its first step
            for k, (pl, q) in enumerate(ctl):
                if loses[k]:  # a ban that seizes goods already on the way (its share of destinations)
                    frac = q.seized(t)
                    if frac.any():
                        li = c_li[k]
                        gone = buf[:, :, li].sum(axis=0) * frac
                        buf[:, :, li] *= 1.0 - frac
                        lost_cum[:, pl.c.material] += gone
                        transit[:, pl.c.material] -= gone
            # 1. arrivals
            slot = t % Lb
            arr = buf[slot].copy()
            buf[slot] = 0.0
            arr_m = arr @ link_mat
            inv += arr_m
            transit -= arr_m
            u_plan = uplan_all[t]
            # 2. reserves release when cover is low
            if st.reserves:
                want = (inv < u_plan * trig) & (reserve > 0)
                rel = np.where(want, np.minimum(reserve, reserve0 * dt / rel_days), 0.0)
                reserve -= rel
                inv += rel
            # 3. production from stock. Each substitute may serve at most its max_share of the
            #    cells made (a design limit per cell), so the base material bounds output too.
            need = need_all[t]
            avail = inv * self.disp                                                         # (S,M) geq
            f = np.ones(S)
            for g in range(G):
                nd = np.maximum(need[:, g] * dt, 1e-300)
                base_av = avail[:, base_by_group[g][0]] if base_by_group[g] else np.zeros(S)
                tot_av = base_av.copy()
                ms_sum = np.zeros(S)
                for m in subs_by_group[g]:
                    tot_av += avail[:, m]
                    ms_sum += self.maxshare[:, m]
                fg = np.minimum(1.0, tot_av / nd)
                if subs_by_group[g]:
                    fg = np.where(ms_sum < 1.0, np.minimum(fg, base_av / (np.maximum(1.0 - ms_sum, 1e-300) * nd)), fg)
                np.minimum(f, np.where(need[:, g] > 0, fg, 1.0), out=f)
            use = np.zeros((S, M))
            got = np.ones((S, G)) if G > 1 else None
            for g in range(G):
                want = need[:, g] * dt * f
                left = want.copy()
                for m in subs_by_group[g]:
                    u = np.minimum(np.minimum(avail[:, m], self.maxshare[:, m] * want), left)
                    use[:, m] = u / self.disp[:, m]
                    left -= u
                for m in base_by_group[g]:
                    u = np.minimum(avail[:, m], left)
                    use[:, m] = u / self.disp[:, m]
                    left -= u
                if got is not None:
                    got[:, g] = np.where(want > 0, 1.0 - left / np.maximum(want, 1e-300), 1.0)
            if got is not None:
                short = got.min(axis=1)                   # < 1 only through rounding; keep groups in step
                use *= (short[:, None] / np.maximum(got, 1e-300))[:, st.group_of]
                f = f * short
            inv -= use
            consumed_cum += use
            # 4. orders: order-up-to, counting what is already on order or awaiting a licence
            position = inv + transit
            tgt = tgt_base
            if ctl:
                tgt = tgt_base.copy()
                for pl, q in ctl:
                    m = pl.c.material
                    position[:, m] += q.pending()
                    wf = (pl.waiting[t] * pl.w).sum(axis=1)            # share of demand whose buyers front-run
                    tgt[:, m] += np.where(wf > 0, pl.surge * wf, 0.0) * target_days[:, m]
            af = adj_frac if uniform_dt else np.minimum(1.0, dt / adj)[:, None]
            # replace this step's use, and close part of the gap left after that (steady state: no gap)
            order = np.maximum(0.0, u_plan * dt + (u_plan * (tgt - dt) - position) * af)
            # 5. split across origins (on links): preferred shares, sourcing rules, diversion, capacity
            if rules:
                s = self.share.copy()
                for r, h, uptake in rules:
                    m, ex = r.material, list(r.excluded)
                    ok = [o for o in range(R) if o not in ex]
                    e = s[:, ex, m].sum(axis=1)
                    allowed = np.minimum(e, 1.0 - uptake * h[t])
                    s[:, ex, m] *= np.where(e > 0, allowed / np.maximum(e, 1e-300), 1.0)[:, None]
                    rest = s[:, ok, m].sum(axis=1)
                    moved = e - allowed
                    cap_ok = (self.cap_base[:, ok, m] > 0).astype(float)
                    wts = np.where(rest[:, None] > 0, s[:, ok, m] / np.maximum(rest, 1e-300)[:, None],
                                   cap_ok / np.maximum(cap_ok.sum(axis=1), 1.0)[:, None])
                    s[:, ok, m] += wts * moved[:, None]
                s_l = s[:, lo, lm]
            else:
                s_l = share_l
            desired = order[:, lm] * s_l                                                     # (S,L)
            redirect = np.zeros((S, M))
            blocked = np.zeros((S, M))
            if ctl:
                barred = np.zeros((S, L), bool)
                mvs = []
                for k, (pl, q) in enumerate(ctl):
                    li, m = c_li[k], pl.c.material
                    bf = ((pl.regime[t] != 0) * pl.w).sum(axis=1)       # share of demand the control binds
                    a = bf > 0
                    barred[:, li] |= a
                    mv = np.where(a, pl.div * (1.0 - pl.exempt) * desired[:, li] * bf, 0.0)
                    desired[:, li] -= mv
                    redirect[:, m] += mv
                    mvs.append(mv)
            cap_step = cap_l[t] * dt if cap_l.ndim == 3 else cap_l * dt
            placed = np.minimum(desired, cap_step)
            redirect += (desired - placed) @ link_mat
            if redirect.any():
                spare = cap_step - placed
                if ctl:
                    spare[barred] = 0.0
                # orders that could not be placed go where there is spare capacity, in proportion
                # to it: exact in one pass (no origin is offered more than it can ship)
                spare = np.maximum(spare, 0.0)
                room = spare @ link_mat                                             # (S,M)
                take = np.minimum(1.0, redirect / np.maximum(room, 1e-300))
                extra = spare * take[:, lm]
                placed += extra
                unfilled = redirect - extra @ link_mat
                if ctl:  # diverted orders no one else could take go back to the controlled origin
                    frac = unfilled / np.maximum(redirect, 1e-300)
                    for k, (pl, q) in enumerate(ctl):
                        li, m = c_li[k], pl.c.material
                        back = np.minimum(mvs[k] * frac[:, m], np.maximum(cap_step[:, li] - placed[:, li], 0.0))
                        placed[:, li] += back
                        unfilled[:, m] -= back
                blocked += unfilled                                   # orders no one could take this step
            # 6. export controls on what was placed with a controlled origin
            ship_l = placed
            for k, (pl, q) in enumerate(ctl):
                li, m = c_li[k], pl.c.material
                demand_l = u_plan[:, m] * self.share[:, pl.c.origin, m]
                ship_l[:, li], refused = q.step(t, td[t], dt, placed[:, li], demand_l)
                blocked[:, m] += refused
            ship_m = ship_l @ link_mat
            shipped_cum += ship_m
            transit += ship_m
            buf_flat[arrive_at[t % Lb]] += ship_l.ravel()           # each (s,link) once: exact
            # 7. checks: mass balance closes and no stock goes negative
            err = inv + transit + reserve + consumed_cum + lost_cum - total0 - shipped_cum
            e = float(np.abs(err).max())
            worst = max(worst, e)
            if e > MASS_TOL * max(scale, float(shipped_cum.max())):
                si, mi = np.unravel_index(np.abs(err).argmax(), err.shape)
                raise ModelError(f"mass balance broken for material '{st.materials[mi]}' at step {t} "
                                 f"({self.cal.date_of(td[t])}), sample {si}: imbalance {err[si, mi]:.6g} t")
            lowest = min(float(inv.min()), float(ship_l.min()) if L else 0.0, float(reserve.min()) if st.reserves else 0.0)
            if lowest < -MASS_TOL * scale:
                what = "inventory" if inv.min() == lowest else ("shipment" if ship_l.min() == lowest else "reserve")
                raise ModelError(f"negative {what} at step {t} ({self.cal.date_of(td[t])}): {lowest:.6g} t")
            np.maximum(inv, 0.0, out=inv)
            # 8. record the state; indicators are computed after the loop, for all steps at once
            rec_f[t] = f
            rec_inv[t] = inv
            rec_use[t] = use
            rec_arr_m[t] = arr_m
            if full:
                rec_arr[t] = arr
                rec_transit[t] = transit
                rec_blocked[t] = blocked / dt
                rec_reserve[t] = reserve
                for k, (pl, q) in enumerate(ctl):
                    rec_backlog[t, :, k] = q.pending()
            else:
                arr_geq = arr * disp_l
                rec_arr_tot[t] = arr_geq.sum(axis=1)
                rec_arr_ctrl[t] = (arr_geq * ctrl_l).sum(axis=1)
                rec_arr_price[t] = (arr_geq * (price_l if price_l is not None else price_w(t)[:, lo, lm])).sum(axis=1)
        # a last, independent check of the transit bookkeeping against the buffer itself
        drift = float(np.abs(buf.sum(axis=0) @ link_mat - transit).max())
        if drift > MASS_TOL * scale:
            raise ModelError(f"in-transit bookkeeping drifted by {drift:.6g} t")
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
        series = self._indicators(planned_all, need_all, rec_f, rec_inv, rec_use, rec_arr_tot, rec_arr_ctrl,
                                  rec_arr_price)
        if full:
            series.update(inventory=rec_inv, in_transit=rec_transit, deliveries=rec_arr / dts[:, None, None, None],
                          orders_blocked=rec_blocked, reserve=rec_reserve, consumption=rec_use / dts[:, None, None],
                          licence_backlog=rec_backlog)
            tot_geq = (rec_use * self.disp[None]).sum(axis=2, keepdims=True)
            is_sub = np.isin(np.arange(M), st.substitutes)[None, None, :]
            series["substitute_by_material"] = np.where(tot_geq > 0, rec_use * self.disp[None] /
                                                        np.maximum(tot_geq, 1e-300), 0.0) * is_sub
            per_gwh = self.intensity[None, :, 0] / np.maximum(self.cell_yield, 1e-12)           # (T,S)
            gmask0 = np.array([g == 0 for g in st.group_of])
            series["supportable_by_origin"] = (arr_geq * gmask0).sum(axis=3) / (per_gwh[:, :, None] * dts[:, None, None])
            series["stages"] = self.capacity_stages()  # type: ignore[assignment]
            series["nameplate"] = self.nameplate
        shock = np.full(S, np.nan)
        for pl in plans:
            shock = np.fmin(shock, pl.eff)
        return Trajectory(structure=st, t_days=td, dt_days=dts, series=series, shock_day=shock, mass_error_max=worst)

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


def _ffill(x: np.ndarray, first: float) -> np.ndarray:
    """Carry the last defined value forward along time (NaN where nothing arrived)."""
    out = x.copy()
    prev = np.full(x.shape[1], first)
    for t in range(len(out)):
        row = out[t]
        nan = np.isnan(row)
        row[nan] = prev[nan]
        prev = row
    return out


def simulate(scn: Scenario, res: Resolved, record: str = "full") -> Trajectory:
    """Integrate ``scn`` with the values in ``res`` over its calendar; all samples at once."""
    return StockFlowModel(scn, res).run(record=record)
