"""The model side of a stock-flow target: one batch of candidates is one ``sim.run`` call.

Each candidate parameter set becomes one sample of ``sim.run(scn, samples=N, given={...},
uncertain=False, record="full")``: the fitted parameters enter through ``given`` under the
registry ids the calibration scenario reads; everything else stays at its nominal value.

The modelled series is the flow from ``origin`` of ``material`` to the importer:

- ``shipments``: what leaves the origin (passes its export controls) in each step. The engine
  records arrivals, so shipments are read back from them: goods shipped in step t arrive in
  step t + k, k being the lead time in whole steps (at least one). Customs export statistics
  count goods when they leave, so shipments are what such a series is compared with.
- ``deliveries``: what arrives at the importer.

Rates (t/day) are summed over the days of each observed period (steps straddling two months
are split by day) and divided by the number of months (years) in it, then both series are
divided by their value over the normalisation period (the pre-announcement mean): the fit
compares shapes, not absolute volumes, since the calibration scenario's buyer is stylised.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import BadInput
from ..provenance.registry import Registry
from .targets import Target

BLOCK = 4096          # samples per engine call: bounded memory for large populations


class StockflowTarget:
    """Predictions of a stock-flow target's observations for batches of parameter sets."""

    def __init__(self, target: Target, registry: Registry, own_params: bool = True):
        import sim
        from ..stockflow.structure import build_structure

        self.target = target
        self.root = Path(registry.root).resolve().parent
        self.scenario_path = (target.path.parent / target.model["scenario"]).resolve()
        self.scn = sim.load_scenario(self.scenario_path, registry=registry)
        st = build_structure(self.scn)
        loc = target.located
        assert loc is not None
        problems = []
        origin, material = str(target.model["origin"]), str(target.model["material"])
        if origin not in st.regions:
            problems.append(loc.problem(("model", "origin"), f"region '{origin}' is not in scenario {self.scn.id}",
                                        "regions: " + ", ".join(st.regions)))
        if material not in st.materials:
            problems.append(loc.problem(("model", "material"), f"material '{material}' is not in scenario {self.scn.id}",
                                        "materials: " + ", ".join(st.materials)))
        used = self.reads()
        for i, fp in enumerate(target.params if own_params else []):   # a joint fit checks its own list
            if fp.calibrates not in used:
                problems.append(loc.problem(("fit", "parameters", i, "calibrates"),
                                            f"scenario {self.scn.id} does not read '{fp.calibrates}', so fitting it "
                                            "would change nothing", "name a registry id the calibration scenario uses"))
        cal = self.scn.calendar
        first, last = cal.start, cal.date_of(float(cal.t_days[-1] + cal.dt_days[-1]))
        for i, o in enumerate(target.observations):
            if o.period.start < first or o.period.end > last:
                problems.append(loc.problem(("observations", i, "period"),
                                            f"period {o.period.label} lies outside the scenario calendar "
                                            f"{first} to {last}", "extend the calibration scenario's calendar"))
        if problems:
            raise BadInput(problems)
        self.o, self.m = st.regions.index(origin), st.materials.index(material)
        self.variable = str(target.model.get("variable", "shipments"))
        self.lead_path = f"supply.{material}.{origin}.lead_time"
        self.W = self._weights(target)                      # (n_obs, T) days of each step in each period
        anchor = target.model["_normalise"]
        self.anchor = next(i for i, o in enumerate(target.observations) if o.period == anchor)
        y = np.array([o.per_unit() for o in target.observations])
        self.y_all = y / y[self.anchor]
        self.fitted = np.array([i != self.anchor for i in range(len(y))])
        self.months_W, self.month_labels = self._monthly()

    def reads(self) -> set[str]:
        """Every registry id the calibration scenario reads (directly or through derived entries)."""
        return set(self.scn.registry.closure([q.pid for q in self.scn.quantities.values() if q.source == "param"]))

    # ---- aggregation ---------------------------------------------------------------------------
    def _day_matrix(self, periods: list[tuple[dt.date, dt.date, int]]) -> np.ndarray:
        cal = self.scn.calendar
        td, dts = cal.t_days, cal.dt_days
        W = np.zeros((len(periods), len(td)))
        for i, (a, b, units) in enumerate(periods):
            da, db = cal.day_of(a), cal.day_of(b)
            W[i] = np.clip(np.minimum(td + dts, db) - np.maximum(td, da), 0.0, None) / units
        return W

    def _weights(self, target: Target) -> np.ndarray:
        return self._day_matrix([(o.period.start, o.period.end, o.period.units) for o in target.observations])

    def _monthly(self) -> tuple[np.ndarray, list[dt.date]]:
        cal = self.scn.calendar
        end = cal.date_of(float(cal.t_days[-1] + cal.dt_days[-1]))
        d, periods, labels = dt.date(cal.start.year, cal.start.month, 1), [], []
        while d < end:
            n = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
            if d >= cal.start and n <= end:
                periods.append((d, n, 1))
                labels.append(d)
            d = n
        return self._day_matrix(periods), labels

    # ---- the model -----------------------------------------------------------------------------
    def flows(self, theta: np.ndarray, engine: str = "stockflow", seed: int = 0,
              names: list[str] | None = None) -> np.ndarray:
        """(T, N) modelled flow (t/day) of the series for (N, p) candidates; column j of ``theta`` is the
        registry id ``names[j]`` (default: the ids the target's own parameters calibrate)."""
        import sim

        theta = np.atleast_2d(theta)
        names = names if names is not None else [fp.calibrates for fp in self.target.params]
        out = []
        for a in range(0, len(theta), BLOCK):
            th = theta[a:a + BLOCK]
            N = len(th)
            given = {pid: th[:, j] for j, pid in enumerate(names)}
            if engine == "stockflow":
                res = sim.run(self.scn, samples=N, given=given, uncertain=False, record="full")
            else:
                res = sim.run(self.scn, samples=N, replications=N, given=given, engine=engine, seed=seed)
            arr = res.trajectory.series["deliveries"][:, :, self.o, self.m]       # (T,N) t/day arriving
            if self.variable == "shipments":
                arr = self._shipments(arr, res)
            out.append(arr)
        return np.concatenate(out, axis=1)

    def _shipments(self, arr: np.ndarray, res: Any) -> np.ndarray:
        T, N = arr.shape
        dts = self.scn.calendar.dt_days
        lead = np.asarray(res.resolved.slots.get(self.lead_path, np.zeros(N)), dtype=float)
        k = np.maximum(1, np.rint(lead / float(np.mean(dts)))).astype(int)          # as the engine rounds
        t = np.arange(T)[:, None] + k[None, :]
        ok = t < T
        out = np.full((T, N), np.nan)
        out[ok] = arr[np.minimum(t, T - 1), np.arange(N)[None, :]][ok]
        return out

    def per_unit(self, flow: np.ndarray) -> np.ndarray:
        """(n_obs, N) the modelled value of each observation, per month (year), normalised."""
        v = _weighted(self.W, flow)
        return v / v[self.anchor]

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """The batch predictor of :class:`sim.calibrate.fit.FitProblem`: normalised values of every
        observation (the anchor, always 1, is masked out of the fit)."""
        return self.per_unit(self.flows(theta))

    def monthly(self, flow: np.ndarray) -> np.ndarray:
        """(months, N) normalised monthly totals over the whole calendar (for plots)."""
        return _weighted(self.months_W, flow) / _weighted(self.W, flow)[self.anchor]

    @property
    def scenario_file(self) -> str:
        """The scenario file relative to the checkout (the folder holding calibration/)."""
        try:
            return str(self.scenario_path.relative_to(self.root))
        except ValueError:
            return str(self.scenario_path)


def _weighted(W: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``W @ flow``, NaN where a period needs a step the model did not produce (after the calendar)."""
    missing = np.isnan(flow)
    v = W @ np.where(missing, 0.0, flow)
    if missing.any():
        v = np.where((W > 0).astype(float) @ missing.astype(float) > 0, np.nan, v)
    return v
