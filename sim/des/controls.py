"""Export controls as processes: the phases of each destination, on the step calendar.

A control's state changes only at step starts, and it is read from the stock-flow engine's plan of
the same sample (:class:`sim.stockflow.controls.ControlPlan`): the regime of each destination and
whether its buyers front-run (announced, or in a suspension, and due to bind later) at every step.
When a destination's ban starts, a control with ``in_transit: lose`` loses that destination's
share of the lots then in transit; when a destination's licence requirement stops, its pending
applications are released (no regime now) or refused (a ban or quota now).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import simpy

from ..stockflow.controls import BAN, LICENCE, NONE, Basis
from .clock import CONTROL, At, StepClock
from .inputs import ControlIn
from .licensing import LicensingAuthority
from .suppliers import Suppliers



class ControlProcess:
    """The state of one export control over time, and what changes when it flips."""

    def __init__(self, env: simpy.Environment, c: ControlIn, clock: StepClock, suppliers: Suppliers,
                 authorities: list[LicensingAuthority | None], log: Callable[[str, str, float], None] | None):
        self.env, self.c, self.clock, self.suppliers, self.log = env, c, clock, suppliers, log
        self.authorities = authorities                 # by destination (None: no licence phase there)
        self.lost_t = 0.0
        self.steps = [s for s in c.change_steps() if s < clock.T]
        self.w_l = c.w.tolist()                        # (D,) demand split, plain floats
        self._set_state(np.zeros(c.D, np.int8), np.zeros(c.D, bool))

    def _set_state(self, reg: np.ndarray, wait: np.ndarray) -> None:
        """The regime and front-running of each destination now, and what the cell makers read of
        them every step (kept as plain values: they change only when the control does)."""
        self.reg, self.wait = reg.copy(), wait.copy()
        self.active = bool((reg != NONE).any())                          # the control binds some destination
        self.bound_frac = float((self.c.w * (reg != NONE)).sum())        # share of demand it binds
        self.wait_frac = float((self.c.w * wait).sum())                  # share of demand front-running
        self.waiting = bool(wait.any())
        self.reg_l = reg.tolist()

    def pending_t(self) -> float:
        """Tonnes awaiting a licence, all destinations."""
        return sum(a.pending_t for a in self.authorities if a is not None)

    def set_reference(self, flow0: float) -> None:
        """The flow on the controlled link at the start (t/day): the ``pre_control`` capacity basis."""
        self.basis = Basis(self.c.plan, np.array([flow0]))

    def terms(self, t: int, now: float) -> dict:
        """The licence and quota terms in force at step ``t`` (``now``: its start day; (1,D) arrays,
        the stock-flow definition)."""
        return self.c.terms(t)

    def quota(self, t: int, now: float) -> np.ndarray:
        """(D,) allowed exports by destination, t/day."""
        return self.terms(t, now)["quota"][0]

    def update_terms(self, t: int, now: float, dt: float, rests: list[float], demand: float) -> None:
        """After this step's applications: set each authority's review rate, approval and decision draws."""
        if not any(a is not None for a in self.authorities):
            return
        tm = self.terms(t, now)
        basis = self.basis.step(tm, np.array([rests]), np.array([demand]), dt)[0]
        ph = self.c.plan.phase[t, 0]
        for d, auth in enumerate(self.authorities):
            if auth is None or self.reg[d] != LICENCE:
                continue
            auth.set_rate(float(tm["cap"][0, d] * basis[d]))
            auth.approval = float(tm["approval"][0, d])
            j = int(ph[d])
            auth.decision_days = float(self.c.plan.phases[j]["mean"][0])
            auth.decision = auth.draws[j]

    def start(self) -> None:
        """Apply the state at the first step now (before any event: a ban in force from the start
        seizes the goods at sea before they land), then follow the later changes as a process."""
        self._apply(0)
        self.env.process(self._run())

    def _run(self):
        for s in self.steps:
            yield At(self.env, self.clock.start(s), CONTROL)
            self._apply(s)

    def _apply(self, t: int) -> None:
        c = self.c
        reg, wait = c.at_step(t)
        was_active, was_waiting = self.active, self.waiting
        starts = (reg == BAN) & (self.reg != BAN)
        if c.in_transit == "lose" and starts.any():
            self.lost_t += self.suppliers.lose(c.origin, c.material, float((c.w * starts).sum()))
        released = refused = 0.0
        for d, auth in enumerate(self.authorities):
            if auth is not None and self.reg[d] == LICENCE and reg[d] != LICENCE:
                if reg[d] == NONE:
                    released += auth.lift()
                else:
                    refused += auth.lift(refuse=True)
        self._set_state(reg, wait)
        if self.active and not was_active:
            self._log("control_binds", 0.0)
        elif was_active and not self.active:
            self._log("control_lifted", released)
        if refused:
            self._log("licences_refused", refused)
        if self.waiting and not was_waiting:
            self._log("front_running_starts", c.surge)
        elif was_waiting and not self.waiting:
            self._log("front_running_ends", c.surge)

    def _log(self, kind: str, qty: float) -> None:
        if self.log is not None:
            self.log(kind, f"control:{self.c.id}", qty)
