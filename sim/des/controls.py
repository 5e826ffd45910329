"""Export controls as processes: announcement, effect, suspensions and end, on the step calendar.

A control's state changes only at step starts: it binds from the first step starting on or after
its effective date (the stock-flow engine's ``now >= effective``), and likewise for its
announcement, suspension windows and end. Between announcement and effect, and during a
suspension that ends before the control does, buyers front-run: they raise their target cover by
``front_running``. When the control starts to bind, a ban with ``in_transit: lose`` loses the
lots then in transit; when it stops binding (suspension, end), a licence regime releases every
pending application.
"""
from __future__ import annotations

from typing import Callable

import simpy

from .clock import CONTROL, At, StepClock
from .inputs import ControlIn
from .licensing import LicensingAuthority
from .suppliers import Suppliers


class ControlProcess:
    """The state of one export control over time, and what changes when it flips."""

    def __init__(self, env: simpy.Environment, c: ControlIn, clock: StepClock, suppliers: Suppliers,
                 authority: LicensingAuthority | None, log: Callable[[str, str, float], None] | None):
        self.env, self.c, self.clock, self.suppliers, self.authority, self.log = env, c, clock, suppliers, authority, log
        self.active = False
        self.waiting = False
        self.lost_t = 0.0
        steps = {clock.first_step_at_or_after(d) for d in c.dates()} - {0}
        self.steps = sorted(s for s in steps if s < clock.T)

    def start(self) -> None:
        """Apply the state at the first step now (before any event: a ban in force from the start
        seizes the goods at sea before they land), then follow the later changes as a process."""
        self._apply(self.clock.start(0))
        self.env.process(self._run())

    def _run(self):
        for s in self.steps:
            yield At(self.env, self.clock.start(s), CONTROL)
            self._apply(self.clock.start(s))

    def _apply(self, now: float) -> None:
        c = self.c
        active, waiting = c.state(now)
        if active and not self.active:
            if c.regime == "ban" and c.in_transit == "lose":
                self.lost_t += self.suppliers.lose(c.origin, c.material)
            self._log("control_binds", 0.0)
        elif self.active and not active:
            released = self.authority.lift() if self.authority is not None else 0.0
            self._log("control_lifted", released)
        if waiting and not self.waiting:
            self._log("front_running_starts", c.surge)
        elif self.waiting and not waiting:
            self._log("front_running_ends", c.surge)
        self.active, self.waiting = active, waiting

    def _log(self, kind: str, qty: float) -> None:
        if self.log is not None:
            self.log(kind, f"control:{self.c.id}", qty)
