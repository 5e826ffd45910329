"""The discrete-event engine (SimPy): lots, licence queues, reorder policy, batches, commissioning.

``run_des(scenario, engine="des"|"hybrid", replications=N, seed=S)`` returns a result with the
same series and KPIs as the stock-flow engine, plus an event log and licence-queue KPIs.
Modules, one idea each: ``clock`` (time and the order of simultaneous events), ``streams``
(random streams), ``params`` (DES settings), ``inputs`` (one sample's inputs), ``suppliers``
(lots in transit), ``licensing`` (the licence queue), ``controls`` (export-control states),
``plants`` (commissioning), ``cellmaker`` (batches and orders), ``model`` (one replication),
``hybrid`` (the coupling to the stock-flow model), ``run`` (replications on a process pool),
``result``. See docs/des.md.
"""
from __future__ import annotations

from .run import ENGINES, run_des

__all__ = ["ENGINES", "run_des"]
