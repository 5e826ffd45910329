"""Samplers: a design matrix (one row per evaluation, one column per factor) for each method.

Every method draws points in the unit cube and maps each column through the factor's
registry distribution (:func:`sim.provenance.registry.sample_values`), so uniform, triangular
and log-uniform ranges are honoured and dates come out as day numbers. OAT is the exception:
its rows sit exactly at the nominal value and at the registry ``low`` / ``high``.

- ``mc``: plain Monte Carlo, ``samples`` rows (numpy PCG64 from the sweep's SeedSequence).
- ``lhs``: Latin hypercube (scipy.stats.qmc.LatinHypercube), ``samples`` rows.
- ``sobol``: the Saltelli/Sobol design of SALib (``SALib.sample.sobol``, scrambled Sobol
  sequence, first and total order only): ``samples`` = N base rows, N·(D+2) evaluations.
  N must be a power of two; another value is rounded up to the next one, with a note.
- ``morris``: SALib Morris trajectories on a 4-level grid: ``samples`` trajectories,
  samples·(D+1) evaluations.
- ``oat``: nominal, then each factor at low and at high with the others nominal: 2·D+1 rows.

Seeds: ``SeedSequence(seed)`` spawns one child for the design, one for the time-series
subsample and one for the bootstrap of the analysis; all are recorded in the sweep manifest.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import bad
from .factors import Factor

DEFAULT_SAMPLES = {"mc": 1000, "lhs": 1000, "sobol": 1024, "morris": 20}
MORRIS_LEVELS = 4
SOBOL_MIN = 8


@dataclass
class Design:
    """A design matrix: ``values`` in each factor's unit; ``unit`` the unit-cube points (None for OAT)."""

    method: str
    factors: list[Factor]
    values: np.ndarray
    unit: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def ids(self) -> list[str]:
        return [f.id for f in self.factors]

    def hash(self) -> str:
        """sha256 of the method, factor ids and every value (what --resume compares)."""
        h = hashlib.sha256()
        h.update(self.method.encode())
        h.update("\0".join(self.ids).encode())
        h.update(np.ascontiguousarray(self.values, dtype="<f8").tobytes())
        return h.hexdigest()

    def problem(self) -> dict[str, Any]:
        """The SALib problem spec, in unit-cube coordinates (the analyses work there)."""
        return {"num_vars": len(self.factors), "names": self.ids, "bounds": [[0.0, 1.0]] * len(self.factors)}


def seeds(seed: int) -> dict[str, np.random.SeedSequence]:
    """The sweep's seed tree: children for the design, the time-series subsample and the bootstrap."""
    root = np.random.SeedSequence(int(seed))
    design, series, analysis = root.spawn(3)
    return {"root": root, "design": design, "series": series, "analysis": analysis}


def seed_record(seed: int) -> dict[str, Any]:
    """The seed tree as written to the manifest (entropy and spawn keys reproduce every stream)."""
    s = seeds(seed)
    return {"seed": int(seed), "entropy": str(s["root"].entropy), "design_spawn_key": list(s["design"].spawn_key),
            "series_spawn_key": list(s["series"].spawn_key), "analysis_spawn_key": list(s["analysis"].spawn_key),
            "bit_generator": "PCG64"}


def int_seed(ss: np.random.SeedSequence) -> int:
    """A 32-bit integer seed from a SeedSequence (for samplers that take an int)."""
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _map(factors: list[Factor], unit: np.ndarray) -> np.ndarray:
    """Unit-cube points -> values, column by column through each distribution."""
    return np.column_stack([f.values(unit[:, j]) for j, f in enumerate(factors)]) if factors else unit


def make(method: str, factors: list[Factor], samples: int | None = None, seed: int = 0) -> Design:
    """Build the design of ``method`` over ``factors``; BadInput for a bad sample count."""
    notes: list[str] = []
    if method not in ("oat", "mc", "lhs", "sobol", "morris"):
        raise bad("--method", f"unknown method '{method}'", "one of oat, mc, lhs, sobol, morris")
    if not factors:
        raise bad("--params", "no parameters to sweep")
    if samples is not None and samples <= 0:
        raise bad("--samples", f"--samples must be a positive number (got {samples})")
    d = len(factors)
    ss = seeds(seed)["design"]
    meta: dict[str, Any] = {"requested_samples": samples, "seed": int(seed)}
    if method == "oat":
        if samples is not None:
            notes.append(f"--samples {samples} ignored: OAT evaluates the nominal point and each of the "
                         f"{d} parameters at its low and high value ({2 * d + 1} runs)")
        nominal = np.array([f.nominal for f in factors])
        values = np.tile(nominal, (2 * d + 1, 1))
        for j, f in enumerate(factors):
            values[2 * j + 1, j] = f.low
            values[2 * j + 2, j] = f.high
        meta.update(samples=2 * d + 1, notes=notes)
        return Design(method, factors, values, None, meta)
    n = samples if samples is not None else DEFAULT_SAMPLES[method]
    if method == "mc":
        unit = np.random.default_rng(ss).random((n, d))
        meta.update(samples=n)
    elif method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(ss)).random(n)
        meta.update(samples=n)
    elif method == "sobol":
        from SALib.sample import sobol as sobol_sample

        base = max(SOBOL_MIN, 1 << max(0, int(n - 1).bit_length()))
        if base != n:
            why = "a power of two" if n >= SOBOL_MIN else f"a power of two, at least {SOBOL_MIN}"
            notes.append(f"Sobol base sample count must be {why}: using N = {base} instead of {n} "
                         f"({base * (d + 2):,} evaluations)")
        problem = {"num_vars": d, "names": [f.id for f in factors], "bounds": [[0.0, 1.0]] * d}
        unit = sobol_sample.sample(problem, base, calc_second_order=False, scramble=True, seed=int_seed(ss))
        meta.update(samples=base, base_samples=base, calc_second_order=False, sampler="SALib.sample.sobol")
    else:  # morris
        from SALib.sample import morris as morris_sample

        if n < 2:
            raise bad("--samples", f"Morris needs at least 2 trajectories (got {n})",
                      "--samples is the number of trajectories; 10 to 50 is usual")
        problem = {"num_vars": d, "names": [f.id for f in factors], "bounds": [[0.0, 1.0]] * d}
        unit = morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=int_seed(ss))
        meta.update(samples=n, trajectories=n, num_levels=MORRIS_LEVELS, sampler="SALib.sample.morris")
    meta["notes"] = notes
    return Design(method, factors, _map(factors, unit), np.asarray(unit, dtype=float), meta)
