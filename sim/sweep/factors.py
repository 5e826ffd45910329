"""Which parameters a sweep varies: the scenario's inputs that declare a range.

A factor is a registry entry (or a scenario lever with a ``range``) that the scenario reads,
directly or through a derived formula. Derived entries are not factors: their inputs are.
Dates are factors too; they are sampled as day numbers (proleptic ordinals).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import numpy as np

from ..core.errors import BadInput, bad
from ..provenance.registry import Parameter, sample_values


def _num(v: Any) -> float:
    return float(v.toordinal()) if isinstance(v, dt.date) else float(v)


@dataclass(frozen=True)
class Factor:
    """One varied parameter: its registry entry, and its range as numbers (dates as ordinals)."""

    param: Parameter

    @property
    def id(self) -> str:
        return self.param.id

    @property
    def name(self) -> str:
        return self.param.name or self.param.id

    @property
    def unit(self) -> str:
        return self.param.unit

    @property
    def is_date(self) -> bool:
        return self.param.unit == "date"

    @property
    def low(self) -> float:
        return _num(self.param.low)

    @property
    def high(self) -> float:
        return _num(self.param.high)

    @property
    def nominal(self) -> float:
        return _num(self.param.value)

    @property
    def distribution(self) -> str:
        return self.param.distribution

    def values(self, u: np.ndarray) -> np.ndarray:
        """Map unit-cube draws to this factor's distribution (the registry's own mapping)."""
        return np.asarray(sample_values(self.param, np.asarray(u, dtype=float)), dtype=float)

    def label(self, width: int = 40) -> str:
        """'name (id)' for plots, the name shortened to ``width`` characters."""
        name = self.name if len(self.name) <= width else self.name[: width - 1] + "…"
        return f"{name} ({self.id})" if name != self.id else self.id

    def record(self) -> dict[str, Any]:
        """The factor as written to the sweep manifest."""
        iso = (lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        return {"id": self.id, "name": self.name, "unit": self.unit, "kind": self.param.kind,
                "distribution": self.distribution, "value": iso(self.param.value),
                "low": iso(self.param.low), "high": iso(self.param.high)}


def factor(pid: str, low: float, high: float, nominal: float | None = None, unit: str = "dimensionless",
           distribution: str = "uniform", name: str = "") -> Factor:
    """A factor that is not in the registry (analytic test functions, notebooks)."""
    value = (low + high) / 2 if nominal is None else nominal
    return Factor(Parameter(id=pid, name=name or pid, unit=unit, kind="assumption", value=value, low=low,
                            high=high, distribution=distribution))


def choose(scn: Any, ids: list[str] | None = None) -> list[Factor]:
    """The factors of a sweep: ``ids`` (checked), or every input with a range; BadInput otherwise."""
    inputs = scn.inputs()
    if not ids:
        chosen = [Factor(p) for pid, p in sorted(inputs.items()) if p.kind != "derived" and p.uncertain]
        if not chosen:
            raise bad(scn.doc.main_file, f"scenario '{scn.id}' has no input with a range to sweep",
                      "give registry entries a range: {low, high}, or levers a range")
        return chosen
    problems = []
    out: list[Factor] = []
    seen: set[str] = set()
    for pid in ids:
        if pid in seen:
            continue
        seen.add(pid)
        p = inputs.get(pid)
        if p is None:
            pool = sorted(inputs)
            near = get_close_matches(pid, pool, n=1, cutoff=0.6)
            if pid in scn.registry:
                msg, hint = (f"'{pid}' is in the registry but scenario '{scn.id}' does not use it",
                             f"did you mean '{near[0]}'?" if near else "see 'batsim params SCENARIO'")
            else:
                msg, hint = (f"unknown parameter id '{pid}'",
                             f"did you mean '{near[0]}'?" if near else "see 'batsim params SCENARIO' for the ids")
            problems.append(bad("--params", msg, hint).problems[0])
        elif p.kind == "derived":
            deps = ", ".join(scn.registry.dependencies(pid))
            problems.append(bad("--params", f"'{pid}' is derived (formula: {p.formula}); it cannot be swept itself",
                                f"sweep its inputs instead: {deps}").problems[0])
        elif not p.uncertain:
            have = f"value {p.value} {p.unit}" + (f", range {p.low}..{p.high}" if p.low is not None else ", no range")
            problems.append(bad("--params", f"'{pid}' has no range to sweep ({have})",
                                f"give it a range {{low, high}} in {p.file or 'the registry'}, or leave it out").problems[0])
        else:
            out.append(Factor(p))
    if problems:
        raise BadInput(problems)
    return out
