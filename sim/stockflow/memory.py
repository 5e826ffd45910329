"""A memory budget -> the number of samples per block, so that a run's arrays stay within it.

The stock-flow engine holds, for one block of ``S`` samples over ``T`` steps, a number of
(T,S) float64 arrays: precomputed inputs (demand, capacity, planned use by material), the
recorded series, and the indicators and KPI temporaries computed after the step loop. The
per-step temporaries are (S,)-sized and negligible beside them. So a block needs about
``S x T x bytes_per_sample_step`` bytes, and the KPIs of all ``N`` samples (kept for the
result) ``N x KPI_BYTES_PER_SAMPLE``. A full record (``record="full"``) keeps every block's
series, so its size grows with ``N`` and the budget must hold all of it.

The constants below are counted from the engine (per material, per link, per project) and
measured (the fixed part): ``python bench/bench_memory.py --calibrate`` runs one block of 64
and of 128 samples of every shipped scenario under ``tracemalloc`` (engine plus
``kpis.compute``) and prints the measured bytes per sample-step beside this estimate
(docs/performance.md has the figures); ``tests/test_memory_budget.py`` fails if the estimate
falls below the measurement or exceeds it by more than half.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .structure import Structure

MB = 2 ** 20
DEFAULT_BUDGET = 512 * MB     # bytes; `--memory` / ``sim.run(memory=...)`` changes it
SPEED_BLOCK = 1024            # the largest block: bigger ones run slower (per-step temporaries
#                               leave the cache; 4,096 samples of the main scenario took 9.5 s of
#                               CPU against 6.0 s in blocks of 1,024, measured 2026-12-01)

# (T,S) float64 arrays alive at the block's peak, in units of one (T,S) series.
# Counted from sim/stockflow/engine.py:
#   per material  summary: planned use, recorded inventory, use and arrivals        -> 4
#                 full adds in-transit, blocked, reserve, consumption, substitute
#                 share by material, their geq temporaries                           -> +6
#   per (region, material), full only: deliveries, their (T,S,R,M) copy and geq      -> 3
#   per link: capacity by link when projects add capacity (full: + recorded arrivals) -> 1 (2)
#   per anode group: need                                                            -> 1
#   per project: its capacity by step and ramp temporaries                          -> 1.5
#   per sourcing rule: its schedule                                                  -> 1
# Measured (the fixed part: indicators, KPI temporaries, demand, cell capacity and yield):
#   the largest residual over the shipped scenarios, summary 26.8 and full 46.8 series on
#   2026-12-01 after the market engine's stepper landed (bench/bench_memory.py --calibrate;
#   22.5 and 31.0 before it), with a margin of 10%.
FIXED = {"summary": 29.5, "full": 51.5}
PER_MATERIAL = {"summary": 4.0, "full": 10.0}
PER_REGION_MATERIAL = {"summary": 0.0, "full": 3.0}
PER_LINK = {"summary": 1.0, "full": 2.0}
PER_GROUP = 1.0
PER_PROJECT = {"summary": 1.5, "full": 1.5}
PER_RULE = 1.0
KPI_BYTES_PER_SAMPLE = 8 * 16     # the KPI arrays of the result (14 today, room for 2 more)
INDICATORS = 13                   # (T,S) indicator series every record keeps (engine._indicators)

_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*([A-Za-z]+)\s*$")
_UNITS = {"b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30}
MEMORY_HINT = "give an amount with a unit, e.g. --memory 2GB, 512MB or 1.5GiB (KB/MB/GB powers of 1000, KiB/MiB/GiB of 1024)"


class MemoryBudgetError(ValueError):
    """The budget cannot hold the run (too small for one block, or a full record too large)."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def parse_memory(text: str | int | float) -> int:
    """'2GB' -> 2e9 bytes, '512MiB' -> 512 x 2^20; a number is bytes. ValueError if not an amount."""
    if isinstance(text, bool):
        raise ValueError(f"memory budget must be an amount of memory, not {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = str(text)
        m = _AMOUNT.match(s) if len(s) <= 40 else None
        if m is None:
            raise ValueError(f"memory budget '{s[:40]}' is not an amount of memory")
        unit = m.group(2).lower()
        if unit not in _UNITS:
            raise ValueError(f"memory budget '{s}' has an unknown unit '{m.group(2)}'")
        value = float(s.strip()[: len(s.strip()) - len(m.group(2))]) * _UNITS[unit]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"memory budget must be a positive amount (got {text!r})")
    if value > 2 ** 50:
        raise ValueError(f"memory budget {text!r} is more than a petabyte")
    return int(value)


def series_per_sample_step(st: Structure, record: str = "summary") -> float:
    """(T,S) float64 series a block of this structure holds at its peak (see the module docstring)."""
    full = "full" if record == "full" else "summary"
    return (FIXED[full] + PER_MATERIAL[full] * st.M + PER_REGION_MATERIAL[full] * st.R * st.M
            + PER_LINK[full] * len(st.supplied) + PER_GROUP * st.G + PER_PROJECT[full] * len(st.projects)
            + PER_RULE * len(st.rules))


def recorded_series(st: Structure, record: str = "summary") -> float:
    """(T,S) series the returned trajectory keeps, counted exactly from the engine's record:
    the indicators, and for a full record inventory, in transit, blocked, reserve, consumption
    and substitute share by material, deliveries by origin and material, the licence backlog per
    control, supportable output by origin, nameplate, and four capacity stages per product."""
    if record != "full":
        return float(INDICATORS)
    products = len({p.product for p in st.projects})
    return float(INDICATORS + 6 * st.M + st.R * st.M + max(len(st.controls), 1) + st.R + 1 + 4 * products)


def bytes_per_sample_step(st: Structure, record: str = "summary") -> float:
    """Bytes one sample needs per calendar step while its block runs."""
    return 8.0 * series_per_sample_step(st, record)


@dataclass(frozen=True)
class Plan:
    """How a run of ``samples`` fits ``budget``: samples per block and the bytes it expects."""

    samples: int
    steps: int
    budget: int
    block: int
    block_bytes: float           # one block's arrays
    kept_bytes: float            # what the result keeps: KPIs, or the full record of every sample

    @property
    def expected_bytes(self) -> float:
        return self.block_bytes + self.kept_bytes


def fmt_bytes(n: float) -> str:
    """1.5e9 -> '1.4 GiB' (binary units, as RSS is usually read)."""
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def resolved_bytes(res) -> int:
    """Bytes of a run's resolved inputs (one array per parameter and slot; shared arrays once)."""
    import numpy as np

    seen: dict[int, int] = {}
    for d in (res.slots, res.by_id):
        for v in d.values():
            a = np.asarray(v)
            base = a if a.base is None else a.base
            seen[id(base)] = int(getattr(base, "nbytes", a.nbytes))
    return sum(seen.values())


def plan(st: Structure, steps: int, samples: int, budget: int | str | None = None, record: str = "summary",
         held: float = 0.0) -> Plan:
    """The block size for ``samples`` over ``steps`` within ``budget`` bytes (default 512 MiB).

    block = min(SPEED_BLOCK, samples, (budget - held - kept) // (steps x bytes_per_sample_step)),
    where ``held`` is what the run holds already (its resolved inputs, :func:`resolved_bytes`) and
    ``kept`` what the result holds: the KPIs (summary) or, for a full record, the recorded series
    of every sample (which cannot be made smaller by blocking). A budget given explicitly is a
    limit (MemoryBudgetError if the run cannot fit); the default one only sizes the blocks, so a
    run it cannot hold (a full record of many samples, as calibration makes) still runs, in blocks
    that alone fit the default budget (1,024 samples of the main scenario, as before budgets existed).
    """
    b = DEFAULT_BUDGET if budget is None else parse_memory(budget)
    per_sample = steps * bytes_per_sample_step(st, record)
    if record == "full":
        kept = samples * steps * 8.0 * recorded_series(st, "full")
    else:
        kept = samples * float(KPI_BYTES_PER_SAMPLE)
    kept += held
    room = b - kept
    fits = int(room // per_sample) if room > 0 else 0
    if fits < 1 and budget is None:
        fits = max(1, int(b // per_sample))
    if fits < 1:
        need = kept + per_sample
        if record == "full":
            hint = (f"give --memory {_round_up(need)} (or memory='{_round_up(need)}'), fewer samples, or "
                    "record='summary' / 'batsim sweep --method mc', which keep KPIs only")
        else:
            hint = f"give --memory {_round_up(need)} or more (memory='{_round_up(need)}' in sim.run)"
        raise MemoryBudgetError(f"a memory budget of {fmt_bytes(b)} cannot hold this run: {samples:,} samples x "
                                f"{steps:,} steps need about {fmt_bytes(need)}", hint)
    block = max(1, min(SPEED_BLOCK, samples, fits))
    return Plan(samples=samples, steps=steps, budget=b, block=block, block_bytes=block * per_sample, kept_bytes=kept)


def _round_up(n: float) -> str:
    """A budget string at least ``n`` bytes: '3GB', '700MB'."""
    if n >= 10 ** 9:
        return f"{math.ceil(n / 10 ** 9)}GB"
    return f"{max(1, math.ceil(n / 10 ** 8)) * 100}MB"


def measured_bytes_per_sample_step(scn, record: str = "summary", small: int = 64, large: int = 128,
                                   seed: int = 1) -> float:
    """Bytes per sample-step that one block really allocates at its peak (engine + KPIs), by
    ``tracemalloc``: the peak of a block of ``large`` samples minus that of ``small``, so fixed costs
    cancel. Slow (tracing); for calibrating the constants above and testing them, not for runs."""
    import tracemalloc

    from ..scenario.compile import resolve
    from . import kpis as _kpis
    from .engine import simulate

    def peak(samples: int) -> int:
        res = resolve(scn, samples=samples, seed=seed)
        tracemalloc.start()
        try:
            traj = simulate(scn, res, record=record)
            _kpis.compute(traj)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return (peak(large) - peak(small)) / ((large - small) * scn.calendar.n)


def budget_option(text: str | None) -> int | None:
    """The ``--memory`` option in bytes (None when not given); BadInput (exit 2, a hint) if malformed."""
    if text is None:
        return None
    from ..core.errors import bad

    try:
        return parse_memory(text)
    except ValueError as exc:
        raise bad("--memory", f"--memory: {exc}", MEMORY_HINT) from None


def budget_error(exc: MemoryBudgetError):
    """A budget the run cannot fit, as the CLI's bad input on ``--memory``."""
    from ..core.errors import bad

    return bad("--memory", str(exc), exc.hint)
