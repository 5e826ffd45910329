"""The result of a market run: one trajectory per importing region, and the importer of interest.

A scenario without a ``market:`` section has one importer; :func:`single` wraps its trajectory
so that outputs treat both cases alike. Every importer's trajectory has the same calendar and
samples; its ``series["price_index"]`` (T,S,M), when present, is the delivered-price index that
importer pays per material (1 = the price before any control).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .engine import Trajectory


@dataclass
class MarketTrajectory:
    """A trajectory per importing region (by code), all from the same run, and the one in focus."""

    importers: dict[str, Trajectory]
    focus: str
    materials: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.focus not in self.importers:
            raise KeyError(f"importer '{self.focus}' is not in this run (importers: {', '.join(self.importers)})")

    @property
    def focused(self) -> Trajectory:
        """The trajectory of the importer of interest."""
        return self.importers[self.focus]

    @property
    def codes(self) -> list[str]:
        return list(self.importers)

    def with_focus(self, code: str) -> "MarketTrajectory":
        """The same run seen from importer ``code`` (KeyError naming the importers if unknown)."""
        return replace(self, focus=code)

    def price_index(self, code: str | None = None) -> np.ndarray | None:
        """(T,S,M) price index paid by importer ``code`` (default: the focus), None if not recorded."""
        return self.importers[code or self.focus].series.get("price_index")


def single(traj: Trajectory) -> MarketTrajectory:
    """A one-importer run as a market result (the scenario's importer is the only one)."""
    st = traj.structure
    return MarketTrajectory(importers={st.regions[st.importer]: traj}, focus=st.regions[st.importer],
                            materials=list(st.materials))
