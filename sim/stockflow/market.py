"""Several importers in one run, competing for shared export capacity at a clearing price.

Each importer is a :class:`~sim.stockflow.stepper.ImporterRun` of its own compiled scenario (the
base, or the base with its ``market.importers.<code>`` patch). Every step, each importer computes
the orders it wants per link; :func:`~sim.stockflow.clearing.clear` allocates the shared capacity
(``market.capacity``, plus what price-driven investment has added) and sets each link's price
index; then each importer ships through its export controls and records. The price index travels
with the goods, so what an importer pays is the index of the step it bought at. Without a
``market:`` section this is :func:`~sim.stockflow.engine.simulate` with one importer, bit for bit.
Equations: docs/market.md.
"""
from __future__ import annotations

import numpy as np

from ..core.calendar import DAYS_PER_YEAR
from ..scenario.compile import Resolved, Scenario
from ..scenario.market import importer_codes, importer_resolved, willingness
from .clearing import clear
from .engine import BIG, StockFlowModel, Trajectory, _slot
from .market_types import MarketTrajectory
from .stepper import ImporterRun


class MarketModel:
    """The importers of a scenario and the market that couples them."""

    def __init__(self, scn: Scenario, res: Resolved):
        self.scn, self.res = scn, res
        self.codes = importer_codes(scn.data)
        self.models: dict[str, StockFlowModel] = {self.codes[0]: StockFlowModel(scn, res)}
        for c in self.codes[1:]:
            scn_i = scn.importers[c]
            self.models[c] = StockFlowModel(scn_i, importer_resolved(res, scn_i, c))
        base = self.models[self.codes[0]]
        st, S = base.st, res.samples
        self.st = st
        self.mk = scn.data.get("market")
        self.links = list(st.supplied)
        L = len(self.links)
        self.shared: np.ndarray | None = None
        self.leakage = None
        self.invest: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        if self.mk is None:
            return
        self.eps = _slot(res, "market.clearing.elasticity")
        self.cap = _slot(res, "market.clearing.price_cap", 1e6)
        self.will = [willingness(res, c) for c in self.codes]
        shared = np.full((S, L), np.inf)
        for li, (o, m) in enumerate(self.links):
            v = res.slots.get(f"market.capacity.{st.materials[m]}.{st.regions[o]}")
            if v is not None:
                shared[:, li] = v
        self.shared = shared
        if "leakage" in self.mk:
            self.leakage = (_slot(res, "market.leakage.share"), _slot(res, "market.leakage.delay_days"))
        for li, (o, m) in enumerate(self.links):
            p = f"market.investment.{st.materials[m]}.{st.regions[o]}"
            if f"{p}.response" in res.slots:
                kept = 1.0 - _slot(res, f"{p}.cancellation_share", 0.0)     # expected share not cancelled
                self.invest.append((li, m, _slot(res, f"{p}.response"), kept * _slot(res, f"{p}.max_added"),
                                    _slot(res, f"{p}.build_days")))

    # ---- integration ---------------------------------------------------------------------------
    def run(self, record: str = "full") -> MarketTrajectory:
        """Integrate all importers together over the calendar; all samples at once."""
        runs = [ImporterRun(self.models[c], record, self.leakage) for c in self.codes]
        r0 = runs[0]
        cal = self.models[self.codes[0]].cal
        T, S, L, M = cal.n, self.res.samples, r0.L, r0.M
        dts, td = cal.dt_days, cal.t_days
        c_li = [r.c_li for r in runs]
        ctl_m = [[pl.c.material for pl in r.plans] for r in runs]
        self.link_price = np.ones((T, S, L))
        self.added = np.zeros((T, S, L))
        self.avail = [np.zeros((T, S, L)) for _ in runs] if self.shared is not None and record == "full" else None
        mat_price = np.ones((T, S, M))                       # mean link price index per material
        cum = np.zeros((T + 1, S, M))                        # its running sum (for investment's mean)
        n_l = np.maximum(r0.link_mat.sum(axis=0), 1.0)      # links per material
        dt_ref = float(np.mean(dts))
        k_year = max(1, int(round(DAYS_PER_YEAR / dt_ref)))
        for t in range(T):
            dt = dts[t]
            if t > 0:
                for r in runs:
                    r.price_signal = mat_price[t - 1]
            shared = None
            if self.shared is not None:
                shared = self._routes_shared(r0, t)
                if self.invest:       # capacity the price has brought in: open to every importer
                    shared = shared.copy()
                    for li, m, resp, mx, build in self.invest:
                        add = mx * np.clip(resp * (self._mean_price(cum, t, m, build, dt_ref, k_year) - 1.0), 0.0, 1.0)
                        self.added[t, :, li] = add
                        shared[:, li] += add
                    for r in runs:
                        r.extra_cap = self.added[t]
                shared = shared * dt
            asks = [r.ask(t) for r in runs]
            placed, blocked, price, avail = clear(asks, r0.link_mat, r0.lm, shared,
                                                  getattr(self, "eps", None), getattr(self, "will", None),
                                                  getattr(self, "cap", None), c_li, ctl_m)
            for i, r in enumerate(runs):
                r.settle(t, placed[i], blocked[i], price)
                if self.avail is not None:
                    self.avail[i][t] = avail[i] / dt
            if price is not None:
                self.link_price[t] = price
                mat_price[t] = (price @ r0.link_mat) / n_l
            cum[t + 1] = cum[t] + mat_price[t]
        self.runs = runs
        trajs = {c: self.models[c].finish(r) for c, r in zip(self.codes, runs)}
        if self.invest:
            for c in self.codes:
                trajs[c].series["added_capacity"] = self.added
        focus = self.scn.data.get("importer")
        return MarketTrajectory(importers=trajs, focus=focus, materials=list(self.st.materials))

    def _routes_shared(self, r0: ImporterRun, t: int) -> np.ndarray:
        """(S,L) shared capacity at step t (t/day): ``market.capacity`` where given; elsewhere the base
        scenario's own route capacity (plants of the pipeline included), so that a plant's output is
        shared by the importers rather than counted once for each of them; unlimited routes stay so."""
        route = r0.cap_l[t] if r0.cap_l.ndim == 3 else r0.cap_l
        return np.where(np.isinf(self.shared) & (route < 0.5 * BIG), route, self.shared)

    @staticmethod
    def _mean_price(cum: np.ndarray, t: int, m: int, build: np.ndarray, dt_ref: float, k_year: int) -> np.ndarray:
        """(S,) mean price index of material m over the year ending ``build`` days before step t (1 before the run)."""
        kb = np.rint(build / dt_ref).astype(np.int64)
        hi = t - kb                      # steps [hi - k_year, hi) are averaged; only steps < t are known
        lo = hi - k_year
        rows = np.arange(cum.shape[1])

        def c(j: np.ndarray) -> np.ndarray:            # sum of prices over steps < j, price 1 before step 0
            return np.where(j > 0, cum[np.clip(j, 0, t), rows, m], 0.0) + np.minimum(j, 0)

        return (c(hi) - c(lo)) / k_year

    def available(self, code: str) -> np.ndarray:
        """(S,T,R,M) supply capacity (t/day) per origin and material that was open to importer ``code``:
        its own route limit, within the shared capacity less what the other importers took.

        Links without a shared capacity give the importer's route limit; call after :meth:`run`
        (with ``record="full"``)."""
        i = self.codes.index(code)
        model, run = self.models[code], self.runs[i]
        T, S = model.cal.n, self.res.samples
        out = np.zeros((S, T, model.st.R, model.st.M))
        route = run.cap_l if run.cap_l.ndim == 3 else np.broadcast_to(run.cap_l, (T, S, run.L))
        route = route + self.added
        per = route if self.avail is None else np.minimum(route, self.avail[i])
        out[:, :, run.lo, run.lm] = np.transpose(per, (1, 0, 2))
        return out


def simulate_market(scn: Scenario, res: Resolved, record: str = "full") -> MarketTrajectory:
    """Integrate ``scn`` with all its importers (one when it has no ``market:``); focus = its importer."""
    return MarketModel(scn, res).run(record=record)


def trajectory_of(mt: MarketTrajectory, code: str | None = None) -> Trajectory:
    """The trajectory of importer ``code`` (default: the focus)."""
    return mt.importers[code or mt.focus]
