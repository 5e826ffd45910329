"""One importer's integration, split at the allocation point so that importers can share supply.

:class:`ImporterRun` holds an importer's state (inventories, transit ring buffer, licence queues,
reserves). Each step runs in two halves: :meth:`ImporterRun.ask` does arrivals, reserve release,
production and ordering and returns the orders it wants placed on each supply link
(:class:`Ask`); the market (``sim/stockflow/market.py``, or :func:`sim.stockflow.clearing.clear`
with one importer) decides what is placed; :meth:`ImporterRun.settle` applies export controls,
ships, checks mass balance and records. With one importer and no shared capacity the allocation is
``min(desired, capacity)`` plus the redirect to spare capacity, as before the market existed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .controls import LicenceQueue, bind_day, binding_steps
from .prices import delivered_price_index
from .production import plan_step, produce


class ModelError(RuntimeError):
    """A physical invariant broke: mass not conserved or a stock negative."""


@dataclass
class Ask:
    """What one importer asks of the supply links in one step (S,L arrays, tonnes in the step)."""

    desired: np.ndarray          # orders per link after diversion away from binding controls
    redirect: np.ndarray         # (S,M) orders diverted from binding controls, to place elsewhere
    cap_step: np.ndarray         # the importer's own route limit per link, tonnes in the step
    barred: np.ndarray | None    # (S,L) links a binding control bars diverted orders from
    moved: list                  # per control, the orders diverted from its link (S,)
    tariff: np.ndarray | None    # (S,L) 1 + tariff the importer pays per link, None: none


class ImporterRun:
    """State and step of one importer over the model's calendar (all samples at once)."""

    def __init__(self, model, record: str = "full", leakage: tuple[np.ndarray, np.ndarray] | None = None):
        self.m = model
        st, res, S = model.st, model.res, model.res.samples
        self.S = S
        T, R, M, G = model.cal.n, st.R, st.M, st.G
        self.T, self.R, self.M, self.G = T, R, M, G
        td, dts = model.cal.t_days, model.cal.dt_days
        self.td, self.dts = td, dts
        dt_ref = float(np.mean(dts))
        self.dt_ref = dt_ref
        self.subs_by_group = [[m for m in st.substitutes if st.group_of[m] == g] for g in range(G)]
        self.base_by_group = [[m for m in range(M) if st.group_of[m] == g and m not in st.substitutes][:1]
                              for g in range(G)]
        # lead times as whole steps (arrive at the start of step t+k, k >= 1)
        k_lead = np.maximum(1, np.rint(model.lead / dt_ref)).astype(np.int64)
        # goods move only on supplied (origin, material) links: the transit buffer is (Lb,S,L)
        lo = np.array([o for o, _ in st.supplied], dtype=np.int64)
        lm = np.array([m for _, m in st.supplied], dtype=np.int64)
        L = len(lo)
        self.lo, self.lm, self.L = lo, lm, L
        link_mat = np.zeros((L, M))
        link_mat[np.arange(L), lm] = 1.0
        self.link_mat = link_mat
        k_link = k_lead[:, lo, lm]                                                             # (S,L)
        link_of = {(int(o), int(m)): i for i, (o, m) in enumerate(zip(lo, lm))}
        self.link_of = link_of
        plans = model.control_plans()
        self.plans = plans
        Lb = int(k_link.max()) + 2 if L else 2
        self.Lb = Lb
        rules = []
        for r in st.rules:
            h = np.zeros((T, S))
            for j in range(r.n_steps):
                start = _slot(res, f"{r.path}.schedule.{j}.from")
                h = np.where(td[:, None] >= start[None, :], _slot(res, f"{r.path}.schedule.{j}.min_share")[None, :], h)
            rules.append((r, h, _slot(res, f"{r.path}.uptake", 1.0)))
        self.rules = rules
        self.target_days = np.stack([_slot(res, f"inventory.{m}.target_days") for m in st.materials], axis=1)
        init_days = np.stack([_slot(res, f"inventory.{m}.initial_days") for m in st.materials], axis=1)
        adj = _slot(res, "ordering.adjustment_days", 28.0)
        self.adj = adj
        reserve = np.zeros((S, M))
        trig = np.zeros((S, M))
        rel_days = np.ones((S, M))
        for m in st.reserves:
            name = st.materials[m]
            reserve[:, m] = _slot(res, f"reserves.{name}.initial")
            trig[:, m] = _slot(res, f"reserves.{name}.trigger_days", 0.0)
            rel_days[:, m] = _slot(res, f"reserves.{name}.release_days", 30.0)
        self.reserve, self.trig, self.rel_days = reserve, trig, rel_days
        self.reserve0 = reserve.copy()
        self.planned_all, self.need_all, self.uplan_all = model.planned_use()
        lead_avg = (model.share * k_lead * dt_ref).sum(axis=1)     # (S,M) days, as the pipeline holds them

        # ---- initial state: steady flow at the start --------------------------------------------
        u0 = self.uplan_all[0]
        self.inv = u0 * init_days
        buf = np.zeros((Lb, S, L))
        flow0 = u0[:, None, :] * model.share                                                     # (S,R,M) t/day
        for j in range(Lb):
            buf[j] += np.where(j < k_link, flow0[:, lo, lm] * dt_ref, 0.0)
        self.buf = buf
        queues = [LicenceQueue(pl, flow0[:, pl.c.origin, pl.c.material]) for pl in plans]
        self.ctl = list(zip(plans, queues))
        self.transit = buf.sum(axis=0) @ link_mat                                                    # (S,M)
        self.total0 = self.inv + self.transit + reserve                                              # (S,M)
        self.transit0 = self.transit.copy()
        self.scale = max(float(self.total0.sum()), 1.0)
        self.shipped_cum = np.zeros((S, M))
        self.shipped_l = np.zeros((S, L))          # cumulative shipments by link (leakage on its origin's link)
        self.consumed_cum = np.zeros((S, M))
        self.lost_cum = np.zeros((S, M))
        self.worst = 0.0

        self.full = full = record == "full"
        self.rec_f = np.ones((T, S))
        self.rec_inv = np.zeros((T, S, M))
        self.rec_use = np.zeros((T, S, M))
        self.rec_arr_m = np.zeros((T, S, M))
        self.rec_arr = np.zeros((T, S, L)) if full else None
        if full:
            self.rec_transit = np.zeros((T, S, M))
            self.rec_blocked = np.zeros((T, S, M))
            self.rec_reserve = np.zeros((T, S, M))
            self.rec_backlog = np.zeros((T, S, max(len(self.ctl), 1)))
        else:  # what the cost and origin indicators need, without the (T,S,L) array
            self.ctrl_l = model._controlled_mask()[:, lo, lm].astype(float)                      # (S,L)
            self.rec_arr_ctrl = np.zeros((T, S))
            self.rec_arr_tot = np.zeros((T, S))
            self.rec_arr_price = np.zeros((T, S))
        self.price_w = model._price_weights()
        self.price_l = self.price_w(0)[:, lo, lm] if not st.tariffs else None
        self.uniform_dt = bool(np.all(dts == dts[0]))
        self.adj_frac = np.minimum(1.0, dts[0] / adj)[:, None]
        self.tgt_base = self.target_days + lead_avg
        self.share_l = model.share[:, lo, lm]
        # flat scatter indices into buf for each ring position: one indexed add per step
        SL = S * L
        self.buf_flat = buf.reshape(-1)
        k_flat = k_link.ravel()
        lanes = np.arange(SL)
        self.lanes = lanes
        self.arrive_at = [((j + k_flat) % Lb) * SL + lanes for j in range(Lb)]
        cap_l = model.cap_base[:, lo, lm]
        if model.proj_cap:
            cap_l = np.broadcast_to(cap_l, (T, S, L)).copy()
            for o, m, c in model.proj_cap:
                cap_l[:, :, link_of[(o, m)]] += c
        self.cap_l = cap_l
        self.c_li = [link_of[(pl.c.origin, pl.c.material)] for pl in plans]
        self.loses = [pl.c.in_transit == "lose" and any(q["code"] == 3 for q in pl.phases) for pl in plans]
        self.disp_l = model.disp[:, lm]
        # tariffs by link and step (the market's asks are weighted by them): (T,S,L) or None
        self.tariff_l = self._tariffs() if st.tariffs else None
        # the market's extras: link price index carried with the goods, leakage around controls
        self.vbuf: np.ndarray | None = None           # (Lb,S,L) tonnes x link price index in transit
        self.rec_pval = np.zeros((T, S, M))            # arrivals x link price x price weights
        self.leak = None
        if leakage is not None and self.ctl:
            share, delay = leakage
            k_leak = np.maximum(1, np.rint(delay / dt_ref)).astype(np.int64)              # (S,)
            Lk = int(k_leak.max()) + 2
            self.leak = (share, Lk, np.zeros((Lk, S, L)),
                         [((j + np.repeat(k_leak, L)) % Lk) * SL + lanes for j in range(Lk)])
        # the substitutes' response to the price of their group's base material (market runs only)
        sig = np.stack([_slot(res, f"materials.{m}.price_response", 0.0) for m in st.materials], axis=1)
        self.sigma = sig if (sig != 0).any() else None
        self.base_of = np.array([(self.base_by_group[g] or [m])[0] for m, g in enumerate(st.group_of)])
        self.price_signal: np.ndarray | None = None    # (S,M) material price index of the last step
        self.extra_cap: np.ndarray | None = None       # (S,L) t/day added by investment this step
        self.bound_any = binding_steps(plans, T, S)

    def _tariffs(self) -> np.ndarray:
        st, res, td = self.m.st, self.m.res, self.td
        out = np.ones((self.T, self.S, self.L))
        for tf in st.tariffs:
            li = self.link_of.get((tf.origin, tf.material))
            if li is None:
                continue
            rate, start = _slot(res, f"{tf.path}.rate"), _slot(res, f"{tf.path}.from", -1e9)
            out[:, :, li] *= 1.0 + np.where(td[:, None] >= start[None, :], rate[None, :], 0.0)
        return out

    # ---- first half of a step: everything up to the orders per link -----------------------------
    def ask(self, t: int) -> Ask:
        m_, st, S, G = self.m, self.m.st, self.S, self.G
        dt = self.dts[t]
        self.dt = dt
        inv, transit, buf = self.inv, self.transit, self.buf
        # 1. a ban that seizes goods on the way does so from the start of its first step
        for k, (pl, q) in enumerate(self.ctl):
            if self.loses[k]:  # a ban that seizes goods already on the way (its share of destinations)
                frac = q.seized(t)
                if frac.any():
                    li = self.c_li[k]
                    gone = buf[:, :, li].sum(axis=0) * frac
                    buf[:, :, li] *= 1.0 - frac
                    if self.vbuf is not None:
                        self.vbuf[:, :, li] *= 1.0 - frac
                    self.lost_cum[:, pl.c.material] += gone
                    transit[:, pl.c.material] -= gone
        # 1. arrivals
        slot = t % self.Lb
        arr = buf[slot].copy()
        buf[slot] = 0.0
        if self.vbuf is not None:
            self.arr_val = self.vbuf[slot].copy()
            self.vbuf[slot] = 0.0
        if self.leak is not None:
            lbuf = self.leak[2]
            ls = t % self.leak[1]
            if lbuf[ls].any():
                arr = arr + lbuf[ls]
                if self.vbuf is not None:
                    self.arr_val = self.arr_val + lbuf[ls]
            lbuf[ls] = 0.0
        self.arr = arr
        arr_m = arr @ self.link_mat
        self.arr_m = arr_m
        inv += arr_m
        transit -= arr_m
        u_plan = self.uplan_all[t]
        maxshare = self.maxshare_at(t)
        if maxshare is not m_.maxshare:
            u_plan = self._plan_step(t, maxshare)
        self.u_plan = u_plan
        # 2. reserves release when cover is low
        if st.reserves:
            reserve = self.reserve
            want = (inv < u_plan * self.trig) & (reserve > 0)
            rel = np.where(want, np.minimum(reserve, self.reserve0 * dt / self.rel_days), 0.0)
            reserve -= rel
            inv += rel
        # 3. production from stock (substitutes first, within their share limit)
        need = self.need_all[t]
        f, use = produce(inv * m_.disp, need, dt, m_.disp, maxshare, self.subs_by_group, self.base_by_group,
                         st.group_of)
        inv -= use
        self.consumed_cum += use
        self.f, self.use = f, use
        # 4. orders: order-up-to, counting what is already on order or awaiting a licence
        position = inv + transit
        tgt = self.tgt_base
        if self.ctl:
            tgt = self.tgt_base.copy()
            for pl, q in self.ctl:
                m = pl.c.material
                position[:, m] += q.pending()
                wf = (pl.waiting[t] * pl.w).sum(axis=1)            # share of demand whose buyers front-run
                tgt[:, m] += np.where(wf > 0, pl.surge * wf, 0.0) * self.target_days[:, m]
        af = self.adj_frac if self.uniform_dt else np.minimum(1.0, dt / self.adj)[:, None]
        # replace this step's use, and close part of the gap left after that (steady state: no gap)
        order = np.maximum(0.0, u_plan * dt + (u_plan * (tgt - dt) - position) * af)
        # 5. split across origins (on links): preferred shares, sourcing rules, diversion
        if self.rules:
            R = self.R
            s = m_.share.copy()
            for r, h, uptake in self.rules:
                m, ex = r.material, list(r.excluded)
                ok = [o for o in range(R) if o not in ex]
                e = s[:, ex, m].sum(axis=1)
                allowed = np.minimum(e, 1.0 - uptake * h[t])
                s[:, ex, m] *= np.where(e > 0, allowed / np.maximum(e, 1e-300), 1.0)[:, None]
                rest = s[:, ok, m].sum(axis=1)
                moved = e - allowed
                cap_ok = (m_.cap_base[:, ok, m] > 0).astype(float)
                wts = np.where(rest[:, None] > 0, s[:, ok, m] / np.maximum(rest, 1e-300)[:, None],
                               cap_ok / np.maximum(cap_ok.sum(axis=1), 1.0)[:, None])
                s[:, ok, m] += wts * moved[:, None]
            s_l = s[:, self.lo, self.lm]
        else:
            s_l = self.share_l
        desired = order[:, self.lm] * s_l                                                     # (S,L)
        redirect = np.zeros((S, self.M))
        barred = None
        mvs = []
        if self.ctl:
            barred = np.zeros((S, self.L), bool)
            for k, (pl, q) in enumerate(self.ctl):
                li, m = self.c_li[k], pl.c.material
                bf = ((pl.regime[t] != 0) * pl.w).sum(axis=1)       # share of demand the control binds
                a = bf > 0
                barred[:, li] |= a
                mv = np.where(a, pl.div * (1.0 - pl.exempt) * desired[:, li] * bf, 0.0)
                desired[:, li] -= mv
                redirect[:, m] += mv
                mvs.append(mv)
        cap_l = self.cap_l
        cap_step = cap_l[t] * dt if cap_l.ndim == 3 else cap_l * dt
        if self.extra_cap is not None:
            cap_step = cap_step + self.extra_cap * dt
        return Ask(desired, redirect, cap_step, barred, mvs, None if self.tariff_l is None else self.tariff_l[t])

    def maxshare_at(self, t: int) -> np.ndarray:
        """(S,M) substitutes' share limits at step t: ``min(1, max_share (1 + sigma (p_base - 1)))`` with
        p_base the last step's price index of the group's base material (static without a price)."""
        if self.sigma is None or self.price_signal is None:
            return self.m.maxshare
        p = self.price_signal[:, self.base_of]
        return np.minimum(1.0, self.m.maxshare * np.maximum(0.0, 1.0 + self.sigma * (p - 1.0)))

    def _plan_step(self, t: int, maxshare: np.ndarray) -> np.ndarray:
        """(S,M) planned use at step t with share limits ``maxshare`` (planned_use for one step)."""
        cap = self.cap_l[t] if self.cap_l.ndim == 3 else self.cap_l
        if self.extra_cap is not None:
            cap = cap + self.extra_cap
        return plan_step(self.need_all[t], (cap @ self.link_mat) * self.m.disp, self.m.disp, maxshare,
                         self.subs_by_group, self.base_by_group)

    # ---- second half: controls, shipping, checks, record ----------------------------------------
    def settle(self, t: int, placed: np.ndarray, blocked: np.ndarray, price_l: np.ndarray | None = None) -> None:
        """Ship what the allocation ``placed`` (S,L) through the export controls; check and record."""
        st, dt, td = self.m.st, self.dt, self.td
        inv, transit = self.inv, self.transit
        # 6. export controls on what was placed with a controlled origin
        ship_l = placed
        for k, (pl, q) in enumerate(self.ctl):
            li, m = self.c_li[k], pl.c.material
            demand_l = self.u_plan[:, m] * self.m.share[:, pl.c.origin, m]
            ship_l[:, li], refused = q.step(t, td[t], dt, placed[:, li], demand_l)
            if self.leak is not None and refused.any():    # part of what is refused goes round the control
                share, Lk, lbuf, at = self.leak
                leaked = refused * share
                refused = refused - leaked
                col = np.zeros((self.S, self.L))
                col[:, li] = leaked
                lbuf.reshape(-1)[at[t % Lk]] += col.ravel()
                self.shipped_cum[:, m] += leaked
                self.shipped_l[:, li] += leaked
                transit[:, m] += leaked
            blocked[:, m] += refused
        ship_m = ship_l @ self.link_mat
        self.shipped_cum += ship_m
        self.shipped_l += ship_l
        transit += ship_m
        if price_l is not None:
            if self.vbuf is None:
                self.vbuf = self.buf.copy()                      # what is on the way was bought at index 1
                self.arr_val = self.arr.copy()
            self.vbuf.reshape(-1)[self.arrive_at[t % self.Lb]] += (ship_l * price_l).ravel()
        self.buf_flat[self.arrive_at[t % self.Lb]] += ship_l.ravel()           # each (s,link) once: exact
        self.ship_l = ship_l
        # 7. checks: mass balance closes and no stock goes negative
        self.check(t)
        np.maximum(inv, 0.0, out=inv)
        # 8. record the state; indicators are computed after the loop, for all steps at once
        arr = self.arr
        self.rec_f[t] = self.f
        self.rec_inv[t] = inv
        self.rec_use[t] = self.use
        self.rec_arr_m[t] = self.arr_m
        pw = self.price_l if self.price_l is not None else self.price_w(t)[:, self.lo, self.lm]
        self.rec_pval[t] = ((self.arr_val if self.vbuf is not None else arr) * pw) @ self.link_mat
        if self.full:
            self.rec_arr[t] = arr
            self.rec_transit[t] = transit
            self.rec_blocked[t] = blocked / dt
            self.rec_reserve[t] = self.reserve
            for k, (pl, q) in enumerate(self.ctl):
                self.rec_backlog[t, :, k] = q.pending()
        else:
            arr_geq = arr * self.disp_l
            self.rec_arr_tot[t] = arr_geq.sum(axis=1)
            self.rec_arr_ctrl[t] = (arr_geq * self.ctrl_l).sum(axis=1)
            self.rec_arr_price[t] = (arr_geq * pw).sum(axis=1)

    def in_transit_total(self) -> np.ndarray:
        """(S,M) goods on the way according to the buffers (ring buffer and leak buffer)."""
        out = self.buf.sum(axis=0) @ self.link_mat
        if self.leak is not None:
            out = out + self.leak[2].sum(axis=0) @ self.link_mat
        return out

    def check(self, t: int) -> None:
        inv, st = self.inv, self.m.st
        err = inv + self.transit + self.reserve + self.consumed_cum + self.lost_cum - self.total0 - self.shipped_cum
        e = float(np.abs(err).max())
        self.worst = max(self.worst, e)
        tol = self.m.mass_tol
        if e > tol * max(self.scale, float(self.shipped_cum.max())):
            si, mi = np.unravel_index(np.abs(err).argmax(), err.shape)
            raise ModelError(f"mass balance broken for material '{st.materials[mi]}' at step {t} "
                             f"({self.m.cal.date_of(self.td[t])}), sample {si}: imbalance {err[si, mi]:.6g} t")
        ship_l = self.ship_l
        lowest = min(float(inv.min()), float(ship_l.min()) if self.L else 0.0,
                     float(self.reserve.min()) if st.reserves else 0.0)
        if lowest < -tol * self.scale:
            what = "inventory" if inv.min() == lowest else ("shipment" if ship_l.min() == lowest else "reserve")
            raise ModelError(f"negative {what} at step {t} ({self.m.cal.date_of(self.td[t])}): {lowest:.6g} t")

    def price_index(self) -> np.ndarray:
        """(T,S,M) delivered-price index: arrival-weighted link price x price weights, first step = 1."""
        return delivered_price_index(self.rec_pval, self.rec_arr_m)

    def bind_day(self) -> np.ndarray:
        """(S,) day of the first step in which a control binds this importer (NaN: never)."""
        return bind_day(self.bound_any, self.td)


def _slot(res, path: str, default: float | None = None) -> np.ndarray:
    v = res.slots.get(path)
    if v is None:
        if default is None:
            raise KeyError(path)
        return np.full(res.samples, float(default))
    return v
