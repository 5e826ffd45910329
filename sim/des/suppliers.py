"""Suppliers: each origin ships discrete lots of a material; each lot's transit time is random.

A shipment of ``q`` tonnes leaves as ``ceil(q / lot_size)`` equal lots. Each lot draws its own
transit time ``L = lead_time x factor`` (factor with mean 1 and cv ``des.lead_time.cv``, shape
``des.lead_time.shape``) from the stream of its origin and material. Cell makers book goods in
at step starts, so a lot that ships during step ``s`` is booked at the start of step
``s + max(1, round(L / dt))`` - the stock-flow engine's rounding of lead times to whole steps.
Lots due after the calendar's end stay in transit. The lots due at one step start are booked by
one SimPy event, in the order they shipped (one event per step, not one per lot). When a ban with ``in_transit: lose`` starts,
the lots then at sea from the banned origin are lost.

The ledger keeps the books the conservation check reads: for every material,
shipped = received + in transit + lost.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import simpy

from .clock import ARRIVE, At, StepClock
from .inputs import Inputs
from .streams import Multiplier

MIN_SHIPMENT = 1e-9   # shipments smaller than this fraction of a lot are not made (the reorder rule catches up)


class Lot:
    """One shipment unit in transit."""

    __slots__ = ("id", "origin", "material", "qty", "ship_day", "due_step", "lost")

    def __init__(self, lid: int, origin: int, material: int, qty: float, ship_day: float, due_step: int):
        self.id, self.origin, self.material, self.qty = lid, origin, material, qty
        self.ship_day, self.due_step, self.lost = ship_day, due_step, False


class Ledger:
    """Stocks and cumulative flows shared by suppliers, the licensing authorities and cell makers."""

    def __init__(self, R: int, M: int, T: int):
        self.inv = np.zeros(M)                 # at cell makers, t
        self.transit = np.zeros(M)             # in transit, t
        self.arrivals = np.zeros((R, M))       # booked in this step, t
        self.shipped = np.zeros(M)             # cumulative, t (the pipeline at the start included)
        self.received = np.zeros(M)
        self.lost = np.zeros(M)
        self.blocked = np.zeros((T, M))        # refused or unplaceable orders by step, t


class Suppliers:
    """Every (origin, material) that ships to the importer."""

    def __init__(self, env: simpy.Environment, inp: Inputs, clock: StepClock, ledger: Ledger,
                 lead_factor: dict[tuple[int, int], Multiplier], log: Callable[[str, str, float], None] | None):
        self.env, self.inp, self.clock, self.ledger, self.log = env, inp, clock, ledger, log
        self.lead_factor = lead_factor
        self.due: dict[int, list[Lot]] = {}        # lots to book in at a step start, in shipping order
        self.beyond: list[Lot] = []                # lots due after the calendar's end (in transit for good)
        self._next = 0
        self.lots_shipped = 0
        self.names = {(o, m): f"{inp.regions[o]}/{inp.materials[m]}" for o in range(inp.R) for m in range(inp.M)}

    def _dispatch(self, o: int, m: int, qty: float, ship_day: float, due_steps: list[int]) -> None:
        """Put one lot of ``qty`` tonnes in transit for each due step (the books added lot by lot)."""
        led, T, due = self.ledger, self.clock.T, self.due
        tr, sh = float(led.transit[m]), float(led.shipped[m])
        for due_step in due_steps:
            lot = Lot(self._next, o, m, qty, ship_day, due_step)
            self._next += 1
            tr += qty
            sh += qty
            if due_step < T:
                lots = due.get(due_step)
                if lots is None:
                    lots = due[due_step] = []
                    ev = At(self.env, self.clock.start(due_step), ARRIVE)
                    ev.callbacks.append(self._book)
                    ev.step = due_step
                lots.append(lot)
            else:
                self.beyond.append(lot)
        led.transit[m], led.shipped[m] = tr, sh
        self.lots_shipped += len(due_steps)

    def ship(self, o: int, m: int, qty: float, step: int) -> float:
        """Ship ``qty`` tonnes from origin ``o`` in step ``step`` as lots; returns what was shipped."""
        q = float(self.inp.lot_size[m])
        if qty <= MIN_SHIPMENT * q:
            return 0.0
        n = max(1, math.ceil(qty / q - 1e-9))
        lead = float(self.inp.lead[o, m])
        dt = self.inp.dt_ref
        draw = self.lead_factor[(o, m)]
        self._dispatch(o, m, qty / n, self.env.now, [step + max(1, int(round(lead * draw() / dt))) for _ in range(n)])
        if self.log is not None:
            self.log("ship", self.names[(o, m)], qty)
        return qty

    def ship_initial(self, o: int, m: int, qty: float, due_step: int) -> None:
        """Goods already at sea at the start, booked in at step ``due_step``."""
        q = float(self.inp.lot_size[m])
        if qty <= MIN_SHIPMENT * q:
            return
        n = max(1, math.ceil(qty / q - 1e-9))
        self._dispatch(o, m, qty / n, 0.0, [due_step] * n)
        if self.log is not None:
            self.log("in_transit_at_start", self.names[(o, m)], qty)

    def _book(self, ev: At) -> None:
        """Book in the lots due at this step start, in the order they shipped (the books added lot by
        lot, in plain floats)."""
        led, log = self.ledger, self.log
        inv, arr, tr, rc = led.inv.tolist(), led.arrivals.tolist(), led.transit.tolist(), led.received.tolist()
        for lot in self.due.pop(ev.step):  # type: ignore[attr-defined]
            if lot.lost:
                continue
            o, m, q = lot.origin, lot.material, lot.qty
            inv[m] += q
            arr[o][m] += q
            tr[m] -= q
            rc[m] += q
            if log is not None:
                log("arrive", self.names[(o, m)], q)
        led.inv[:], led.arrivals[:], led.transit[:], led.received[:] = inv, arr, tr, rc

    def at_sea(self, o: int, m: int) -> list[Lot]:
        """The lots from origin ``o`` of material ``m`` now in transit, in the order they shipped."""
        lots = [lot for due in self.due.values() for lot in due if lot.origin == o and lot.material == m]
        lots += [lot for lot in self.beyond if lot.origin == o and lot.material == m]
        return sorted((lot for lot in lots if not lot.lost), key=lambda lot: lot.id)

    def lose(self, o: int, m: int, frac: float = 1.0) -> float:
        """Lose share ``frac`` of every lot from origin ``o`` of material ``m`` now in transit (all of
        them by default: a ban on every destination); returns the tonnes lost."""
        gone = 0.0
        for lot in self.at_sea(o, m):
            if frac >= 1.0:
                lot.lost = True
                gone += lot.qty
            else:
                cut = lot.qty * frac
                lot.qty -= cut
                gone += cut
        led = self.ledger
        led.transit[m] -= gone
        led.lost[m] += gone
        if self.log is not None and gone > 0:
            self.log("lost", self.names[(o, m)], gone)
        return gone
