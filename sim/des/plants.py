"""New plants (engine ``des``): each capacity project is a SimPy process that is announced, starts
construction, commissions after a random slip and ramps its output and yield.

A project's planned online date (scenario ``online`` plus ``delay_days``) slips by a random
amount (``des.commissioning.slip_mean``, ``slip_cv``, shape ``des.commissioning.shape``), drawn
from the project's own stream. From the realised online date its capacity ramps linearly to
nameplate over ``ramp_years`` and its yield runs pilot -> target (mid-ramp) -> mature (end of
ramp), the stock-flow engine's curve; with zero slip both engines see the same capacity.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import simpy
from simpy.events import NORMAL

from .clock import At
from .inputs import Inputs, ProjectIn


def ramp_fraction(now: float, start: float, length: float) -> float:
    """Share of nameplate reached at ``now`` by a linear ramp from ``start`` over ``length`` days."""
    if length <= 0:
        return 1.0 if now >= start else 0.0
    return min(1.0, max(0.0, (now - start) / max(length, 1e-9)))


def ramp_yield(frac: float, yields: tuple[float, float, float]) -> float:
    """Yield at ramp fraction ``frac``: pilot -> target at mid-ramp -> mature at the end."""
    y0, y1, y2 = yields
    return y0 + (y1 - y0) * (2 * frac) if frac < 0.5 else y1 + (y2 - y1) * (2 * frac - 1)


class Commissioning:
    """The capacity pipeline as processes; cell and supply capacity read at each step."""

    def __init__(self, env: simpy.Environment, inp: Inputs, slips: list[float],
                 log: Callable[[str, str, float], None] | None = None):
        self.env, self.inp, self.log = env, inp, log
        self.projects: list[ProjectIn] = inp.projects
        self.online = [p.online + s for p, s in zip(self.projects, slips)]
        self.cell_projects = [k for k, p in enumerate(self.projects) if p.material < 0]
        self.material_projects = [k for k, p in enumerate(self.projects) if p.material >= 0]
        for k in range(len(self.projects)):
            env.process(self._project(k))

    def _project(self, k: int):
        p, online = self.projects[k], self.online[k]
        milestones = sorted([(p.announced, "project_announced"), (online - p.build, "construction_start"),
                             (online, "commissioned"), (online + p.ramp, "ramp_complete")])
        for when, kind in milestones:
            if when < self.env.now or (kind == "construction_start" and p.build <= 0):
                continue
            yield At(self.env, when, NORMAL)
            if self.log is not None:
                self.log(kind, f"plant:{p.id}", p.unit_cap)

    def cells(self, t: int, now: float) -> tuple[float, float]:
        """(nameplate, good-cell capacity) in GWh/day at ``now``."""
        inp = self.inp
        nameplate = inp.cap0
        good = inp.cap0 * inp.y_mature
        for k in self.cell_projects:
            p = self.projects[k]
            frac = ramp_fraction(now, self.online[k], p.ramp)
            if frac > 0:
                yc = ramp_yield(frac, p.yields) if p.yields else inp.y_mature
                nameplate += p.unit_cap * frac
                good += p.unit_cap * frac * yc
        return nameplate, good

    def supply_cap(self, t: int, now: float) -> np.ndarray:
        """(R,M) what each origin can ship per day at ``now``."""
        cap = self.inp.cap_base
        if self.material_projects:
            cap = cap.copy()
            for k in self.material_projects:
                p = self.projects[k]
                frac = ramp_fraction(now, self.online[k], p.ramp)
                if frac > 0:
                    cap[p.origin, p.material] += p.unit_cap * frac * (ramp_yield(frac, p.yields) if p.yields else 1.0)
        return cap

    def learning(self, t: int) -> float | None:
        """None: the DES computes the learning curve from its own output."""
        return None

    def stages(self, td: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        """(T,) capacity by product and construction stage, from the realised dates."""
        out: dict[tuple[str, str], np.ndarray] = {}
        for k, p in enumerate(self.projects):
            online = self.online[k]
            for stage, mask in (("announced", (td >= p.announced) & (td < online - p.build)),
                                ("building", (td >= online - p.build) & (td < online)),
                                ("ramping", (td >= online) & (td < online + p.ramp)),
                                ("operating", td >= online + p.ramp)):
                key = (p.product, stage)
                out[key] = out.get(key, 0.0) + np.where(mask, p.unit_cap, 0.0)
        return out


class Precomputed:
    """The slow layer of engine ``hybrid``: stock-flow paths read by step index (see :mod:`.hybrid`)."""

    def __init__(self, inp: Inputs):
        assert inp.slow is not None
        self.slow = inp.slow

    def cells(self, t: int, now: float) -> tuple[float, float]:
        """(nameplate, good-cell capacity) in GWh/day at step ``t``."""
        return float(self.slow.nameplate[t]), float(self.slow.good_cap[t])

    def supply_cap(self, t: int, now: float) -> np.ndarray:
        """(R,M) supply capacity at step ``t``."""
        return self.slow.supply_cap[t]

    def learning(self, t: int) -> float | None:
        """The stock-flow learning index at step ``t``."""
        return float(self.slow.learning[t])

    def stages(self, td: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
        """The stock-flow construction stages."""
        return self.slow.stages
