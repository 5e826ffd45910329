"""Time in the discrete-event engine, and the order of events that fall on the same instant.

Time is in days since the calendar start (floats). The calendar's step starts are the instants at
which the cell makers book goods in, make a batch and re-order. Several things can happen at one
step start; SimPy orders simultaneous events by priority, then by creation. The engine uses:

``REC``     the recorder closes the previous step (its stocks as they stood at the step's end);
``CONTROL`` export controls change state (effect, suspension, lifting, end); a ban that seizes
            goods in transit does so before the step's arrivals;
``ARRIVE``  lots due this step are booked into the cell makers' stock;
``URGENT``/``NORMAL`` SimPy's own (process start, interrupts, licence reviews and decisions);
``PLANT``   the cell makers' step: reserves, production batch, orders, shipments.

This is the stock-flow engine's order within a step (seizures, arrivals, production, orders), so
the two engines agree when lots are small and delays fixed.
"""
from __future__ import annotations

from bisect import bisect_right

import numpy as np
import simpy
from simpy.events import NORMAL, Event

REC, CONTROL, ARRIVE, PLANT = -3, -2, -1, 2


class Environment(simpy.Environment):
    """A SimPy environment that can say how many events it has processed (for the benchmark)."""

    @property
    def processed(self) -> int:
        """Events processed so far: scheduled (SimPy numbers each from 0; reading the next number
        costs one, which only leaves a gap) minus still queued."""
        return next(self._eid) - len(self._queue)


class At(Event):
    """An event that fires at absolute time ``when`` with the given priority (a timeout with a rank)."""

    def __init__(self, env: simpy.Environment, when: float, priority: int = NORMAL):
        # the same initialisation as simpy.events.Timeout, with a chosen priority
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, max(0.0, when - env.now))


class StepClock:
    """Map between continuous time (days) and calendar steps."""

    def __init__(self, t_days: np.ndarray, end_day: float):
        self.td = np.asarray(t_days, dtype=float)
        self.T = len(self.td)
        self.end = float(end_day)
        self._starts = self.td.tolist()          # plain floats: bisect and indexing are far cheaper than numpy's
        self._bounds = self._starts + [self.end]

    def step_of(self, day: float) -> int:
        """The step whose interval [start, next start) holds ``day`` (the last step past the end)."""
        i = bisect_right(self._starts, day) - 1
        return min(max(i, 0), self.T - 1)

    def first_step_at_or_after(self, day: float) -> int:
        """Index of the first step starting on or after ``day`` (T if none)."""
        return int(np.searchsorted(self.td, day, side="left"))

    def start(self, step: int) -> float:
        """Start day of ``step`` (the calendar's end for ``step == T``)."""
        return self._bounds[step]
