"""One replication: wire the processes of one sample together, run them, return what was recorded.

Processes: the clock (records each step at its end, then runs the cell makers' step), one
control process per export control, one licensing authority per licence control (its
applications queue at its reviewers), suppliers' lots in transit (one arrival event per step),
and in engine ``des`` one commissioning process per capacity project. At each step end the
recorder copies the books; after the run they are checked for every step at once (the first
failing step is reported): for every material, shipped = received + in transit + lost, and stock
at cell makers plus reserves plus consumption = what they started with plus what they received.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..stockflow.controls import LICENCE
from ..stockflow.engine import MASS_TOL, ModelError
from .cellmaker import CellMakers
from .clock import PLANT, REC, At, Environment, StepClock
from .controls import ControlProcess
from .inputs import ControlIn, Inputs
from .licensing import Application, LicensingAuthority
from .plants import Commissioning, Precomputed
from .streams import Multiplier, Normal, Uniform, named
from .suppliers import Ledger, Suppliers

Event = tuple[float, str, str, float]


@dataclass
class RepOutput:
    """What one replication returns: series (time first), extra KPIs, event log, counters."""

    series: dict[str, np.ndarray]
    stages: dict[tuple[str, str], np.ndarray]
    kpis: dict[str, float]
    events: list[Event] | None
    n_events: int
    mass_error_max: float
    books: dict[str, np.ndarray] = field(default_factory=dict)


class Replication:
    """The processes of one replication, built but not yet run."""

    def __init__(self, inp: Inputs, seed: np.random.SeedSequence, record_events: bool = False):
        self.inp = inp
        self.env = env = Environment()
        self.clock = StepClock(inp.td, inp.end_day)
        self.events: list[Event] | None = [] if record_events else None
        log = self._log if record_events else None
        st = inp.settings
        self.ledger = Ledger(inp.R, inp.M, inp.T)
        lead = {(o, m): Multiplier(named(seed, f"lead:{inp.regions[o]}:{inp.materials[m]}"), st.lead_shape, st.lead_cv)
                for o in range(inp.R) for m in range(inp.M)}
        self.suppliers = Suppliers(env, inp, self.clock, self.ledger, lead, log)
        if inp.engine == "hybrid":
            self.plants = Precomputed(inp)
        else:
            slips = [st.slip_mean * Multiplier(named(seed, f"slip:{p.id}"), st.slip_shape, st.slip_cv)()
                     for p in inp.projects]
            self.plants = Commissioning(env, inp, slips, log)
        self.authorities: list[LicensingAuthority | None] = []     # every authority, by control then destination
        self.controls: list[ControlProcess] = []
        for c in inp.controls:
            auths = [self._authority(c, d, seed, log) for d in range(c.D)]
            self.authorities.extend(auths)
            self.controls.append(ControlProcess(env, c, self.clock, self.suppliers, auths, log))
        self.makers = CellMakers(inp, self.clock, self.plants, self.suppliers, self.ledger, self.controls,
                                 Normal(named(seed, "batch_yield")), log)
        for cp in self.controls:      # review capacity: its basis starts at the flow at the start
            cp.set_reference(float(self.makers.flow0[cp.c.origin, cp.c.material]))
        for cp in self.controls:      # state at the start applied now, before any event (the pipeline exists)
            cp.start()
        self.reserve0 = inp.reserve0.copy()
        self.mass_error_max = 0.0
        self._books = {k: np.zeros((inp.T, inp.M)) for k in ("shipped", "received", "lost", "inv", "reserve", "consumed")}
        env.process(self._clock())

    def _authority(self, c: ControlIn, d: int, seed: np.random.SeedSequence,
                   log: Callable[[str, str, float], None] | None) -> LicensingAuthority | None:
        """The licensing authority of control ``c`` for destination ``d`` (None: no licence phase there).

        Its decision delays follow each licence phase's distribution: gamma with the phase's
        ``decision_cv`` where the scenario states one, else the DES setting (shape and cv).
        """
        plan, st = c.plan, self.inp.settings
        lic = [j for j, q in enumerate(plan.phases) if q["code"] == LICENCE and q["dmask"][d]]
        if not lic:
            return None
        tag = c.id if d == 0 else f"{c.id}:{self.inp.destinations[d]}"
        draws = {}
        for n, j in enumerate(lic):
            q = plan.phases[j]
            stated = q["ph"].term("decision_cv") is not None
            shape, cv = ("gamma", float(q["cv"][0])) if stated else (st.decision_shape, st.decision_cv)
            draws[j] = Multiplier(named(seed, f"decision:{tag}" if n == 0 else f"decision:{tag}:{j}"), shape, cv)
        q0 = plan.phases[lic[0]]
        o, m = c.origin, c.material
        auth = LicensingAuthority(      # review rate set at each step (ControlProcess.update_terms)
            self.env, f"licensing:{tag}", 0.0, st.servers,
            Multiplier(named(seed, f"review:{tag}"), st.service_shape, st.service_cv),
            float(q0["mean"][0]), draws[lic[0]], float(q0["approval"][0]), Uniform(named(seed, f"approval:{tag}")),
            on_grant=self._granter(o, m, f"licensing:{tag}"), on_refuse=self._refuser(m), log=log)
        auth.draws = draws
        return auth

    # ---- callbacks ---------------------------------------------------------------------------
    def _log(self, kind: str, entity: str, qty: float) -> None:
        self.events.append((self.env.now, kind, entity, qty))  # type: ignore[union-attr]

    def _granter(self, o: int, m: int, name: str):
        def grant(app: Application, kind: str) -> None:
            """Ship a licensed (or released) lot in the current step."""
            if self.events is not None:
                self._log(kind, name, app.qty)
            self.suppliers.ship(o, m, app.qty, self.clock.step_of(self.env.now))
        return grant

    def _refuser(self, m: int):
        def refuse(app: Application) -> None:
            """Book a refused lot as blocked in the current step."""
            self.ledger.blocked[self.clock.step_of(self.env.now), m] += app.qty
        return refuse

    # ---- the clock: close the previous step, then run the cell makers ------------------------------
    def _clock(self):
        env, clock = self.env, self.clock
        for t in range(clock.T):
            yield At(env, clock.start(t), REC)
            if t > 0:
                self._close(t - 1)
            yield At(env, clock.start(t), PLANT)
            self.makers.step(t)
        yield At(env, clock.end, REC)
        self._close(clock.T - 1)

    def _close(self, t: int) -> None:
        """Record the stocks at the end of step ``t`` and the books the checks read (after the run)."""
        inp, led, rec, mk = self.inp, self.ledger, self.makers.rec, self.makers
        rec["in_transit"][t] = led.transit
        rec["orders_blocked"][t] = led.blocked[t] / inp.dts[t]
        for k, cp in enumerate(self.controls):
            rec["licence_backlog"][t, k] = cp.pending_t()
        b = self._books
        b["shipped"][t], b["received"][t], b["lost"][t] = led.shipped, led.received, led.lost
        b["inv"][t], b["reserve"][t], b["consumed"][t] = led.inv, mk.reserve, mk.consumed

    def _check(self) -> None:
        """Check the books of every step end at once: for every material, shipped = received + in
        transit + lost, and stock + reserves + consumption = initial stock + reserves + receipts;
        no negative stock. Raises for the first step that fails, as a check inside the loop would."""
        inp, b, mk = self.inp, self._books, self.makers
        transit = self.makers.rec["in_transit"]
        transport = b["shipped"] - b["received"] - transit - b["lost"]
        plant = b["inv"] + b["reserve"] + b["consumed"] - (mk.inv0 + self.reserve0 + b["received"])
        e_tr, e_pl = np.abs(transport).max(axis=1), np.abs(plant).max(axis=1)
        err = np.maximum(e_tr, e_pl)
        self.mass_error_max = float(err.max())
        scale = np.maximum(np.maximum(b["shipped"].max(axis=1), float(mk.inv0.sum())), 1.0)
        low = np.minimum(np.minimum(b["inv"].min(axis=1), transit.min(axis=1)), b["reserve"].min(axis=1))
        broken, negative = err > MASS_TOL * scale, low < -MASS_TOL * scale
        bad_steps = np.flatnonzero(broken | negative)
        if not len(bad_steps):
            return
        t = int(bad_steps[0])
        if broken[t]:
            which = "transport" if e_tr[t] >= e_pl[t] else "cell-maker"
            bad = transport[t] if which == "transport" else plant[t]
            m = int(np.abs(bad).argmax())
            raise ModelError(f"{which} balance broken for '{inp.materials[m]}' at step {t}: {bad[m]:.6g} t")
        raise ModelError(f"negative stock at step {t}: {low[t]:.6g} t")

    # ---- run ------------------------------------------------------------------------------------
    def run(self) -> RepOutput:
        """Run to the calendar's end; return the recorded series and replication KPIs."""
        env = self.env
        env.run(until=At(env, self.clock.end, PLANT))
        self._check()
        inp, rec = self.inp, self.makers.finish()
        auths = [a for a in self.authorities if a is not None]
        decided = sum(a.decided for a in auths)
        kpis = {
            "licence_backlog_peak_t": float(rec["licence_backlog"].sum(axis=1).max()) if auths else math.nan,
            "licence_time_to_decision_mean_days": (sum(a.sum_to_decision for a in auths) / decided) if decided else math.nan,
            "licence_refused_t": float(sum(a.refused_t for a in auths)) if auths else math.nan,
            "lost_in_transit_t": float(self.ledger.lost.sum()),
            "lots_shipped": float(self.suppliers.lots_shipped),
            "licence_applications": float(sum(a.submitted for a in auths)),
        }
        stages = self.plants.stages(inp.td)
        books = {"shipped": self.ledger.shipped.copy(), "received": self.ledger.received.copy(),
                 "in_transit": self.ledger.transit.copy(), "lost": self.ledger.lost.copy(),
                 "consumed": self.makers.consumed.copy(), "inventory": self.ledger.inv.copy()}
        return RepOutput(series=rec, stages=stages, kpis=kpis, events=self.events, n_events=env.processed,
                         mass_error_max=self.mass_error_max, books=books)


def simulate(inp: Inputs, seed: np.random.SeedSequence, record_events: bool = False) -> RepOutput:
    """Run one replication of ``inp`` with the random streams of ``seed``."""
    return Replication(inp, seed, record_events).run()
