"""The parameter registry: every number the model uses, with its unit, range, kind and evidence.

Entries live in ``calibration/parameters/*.yaml`` (format: ``calibration/README.md``). Loading
checks the structure of each entry and reports every problem as ``FILE:LINE:COL``; the deeper
checks (quotes in sources, orphaned references, unit consistency) are in :mod:`.audit`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..core import units
from ..core.errors import BadInput, Problem
from ..core.yamlio import Located, load_file
from ..paths import ENV, calibration_roots
from . import formula as fx

KINDS = ("cited", "derived", "calibrated", "assumption", "lever")   # lever: a model or policy choice, not a fact
DISTRIBUTIONS = ("uniform", "triangular", "loguniform", "lognormal", "logitnormal")
NORMAL_RANGE_Z = 1.6448536269514722   # lognormal/logitnormal: the range is the 5-95% quantiles
ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_ENTRY_KEYS = {"id", "name", "unit", "kind", "value", "range", "distribution", "evidence", "formula",
               "rationale", "nearest_reference", "calibration", "notes"}
_EVIDENCE_KEYS = {"source", "locator", "quote", "quote_en", "reading"}


@dataclass
class Evidence:
    """Where a cited figure stands: source id, locator, verbatim quote and how it was read."""

    source: str
    locator: str
    quote: str
    quote_en: str = ""
    reading: str = ""


@dataclass
class Parameter:
    """One registry entry. ``value``/``low``/``high`` are floats, or dates for ``unit: date``."""

    id: str
    name: str
    unit: str
    kind: str
    value: Any = None
    low: Any = None
    high: Any = None
    distribution: str = "uniform"
    evidence: list[Evidence] = field(default_factory=list)
    formula: str = ""
    rationale: str = ""
    nearest_reference: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    file: str = ""
    line: int = 1
    col: int = 1

    @property
    def is_date(self) -> bool:
        return self.unit == units.DATE

    @property
    def uncertain(self) -> bool:
        """True when the entry declares a range wider than a point (so sweeps can vary it)."""
        return self.low is not None and self.high is not None and self.high != self.low

    @property
    def sources(self) -> list[str]:
        ids = [e.source for e in self.evidence]
        ref = self.nearest_reference.get("source") if self.nearest_reference else None
        if ref:
            ids.append(str(ref))
        target = self.calibration.get("source") if self.calibration else None
        if target:
            ids.append(str(target))
        return list(dict.fromkeys(ids))

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Registry:
    """All parameters by id, with the files they came from."""

    params: dict[str, Parameter]
    root: Path
    files: list[Path] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)   # every calibration folder read, shipped first

    def __post_init__(self) -> None:
        if not self.roots:
            self.roots = [Path(self.root)]

    def __repr__(self) -> str:
        return f"<Registry: {len(self.params)} parameters from {', '.join(map(str, self.roots))}>"

    def __contains__(self, pid: str) -> bool:
        return pid in self.params

    def __getitem__(self, pid: str) -> Parameter:
        return self.params[pid]

    def get(self, pid: str) -> Parameter | None:
        return self.params.get(pid)

    def ids(self) -> list[str]:
        return sorted(self.params)

    # ---- derived values -------------------------------------------------------------------
    def dependencies(self, pid: str) -> list[str]:
        p = self.params[pid]
        return fx.names(p.formula) if p.kind == "derived" and p.formula else []

    def closure(self, ids: Iterable[str]) -> list[str]:
        """``ids`` plus every id their formulas depend on, inputs before the ids that use them."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(pid: str, stack: tuple[str, ...]) -> None:
            if pid in seen:
                return
            if pid in stack:
                raise ValueError("derived cycle: " + " -> ".join(stack + (pid,)))
            if pid not in self.params:
                raise KeyError(pid)
            for dep in self.dependencies(pid):
                visit(dep, stack + (pid,))
            seen.add(pid)
            order.append(pid)

        for pid in ids:
            visit(pid, ())
        return order

    def nominal(self, pid: str) -> Any:
        """The nominal value of ``pid`` in its own unit (derived ones evaluated)."""
        return self.evaluate([pid], {})[pid]

    def evaluate(self, ids: Iterable[str], given: Mapping[str, Any]) -> dict[str, Any]:
        """Values for ``ids`` and their inputs; ``given`` overrides (floats or sample arrays).

        Values are in each parameter's own unit; a derived formula is evaluated in the units
        its inputs are declared in, then converted into the unit the entry declares.
        """
        out: dict[str, Any] = dict(given)
        for pid in self.closure(ids):
            if pid in out:
                continue
            p = self.params[pid]
            if p.kind == "derived":
                out[pid] = self._derive(p, out)
            else:
                out[pid] = p.value
        return out

    def _derive(self, p: Parameter, values: Mapping[str, Any]) -> Any:
        return evaluate_derived(self, p, values)


def _as_number(v: Any) -> Any:
    if isinstance(v, dt.date):
        return float(v.toordinal())
    return v


def evaluate_derived(reg: Registry, p: Parameter, values: Mapping[str, Any]) -> Any:
    """Evaluate ``p.formula`` with units: inputs carry their declared units, the result is
    converted into ``p.unit``. Raises ValueError when the dimensions disagree."""
    ureg = units.ureg()
    q = {}
    for d in fx.names(p.formula):
        dep = reg.params[d]
        if dep.unit == units.DATE:
            raise ValueError(f"derived '{p.id}' uses date '{d}'; dates cannot enter formulas")
        q[d] = ureg.Quantity(np.asarray(values[d], dtype=float), units.parse(dep.unit))
    res = fx.evaluate(p.formula, q)
    if not hasattr(res, "to"):
        res = ureg.Quantity(res, "dimensionless")
    target = units.parse(p.unit)
    if res.dimensionality != target.dimensionality:
        raise ValueError(f"formula gives [{res.dimensionality}] but the unit '{p.unit}' is [{target.dimensionality}]")
    out = np.asarray(res.to(target).magnitude, dtype=float)
    return float(out) if out.ndim == 0 else out


# ---- loading ----------------------------------------------------------------------------------

def find_calibration(start: str | Path | None = None) -> Path:
    """The calibration folder new entries go to: $BATSIM_CALIBRATION, else a study's, else the shipped one."""
    return calibration_roots(start)[-1]


def _to_value(raw: Any, unit: str, loc: Located, path: tuple, problems: list[Problem], what: str) -> Any:
    if unit == units.DATE:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        problems.append(loc.problem(path, f"{what} must be a date (YYYY-MM-DD) for unit 'date'", f"got {raw!r}"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        problems.append(loc.problem(path, f"{what} must be a number", f"got {raw!r}"))
        return None
    return float(raw)


def parse_entry(raw: Any, loc: Located, path: tuple, problems: list[Problem]) -> Parameter | None:
    """Check one registry entry's structure and build a Parameter (None if unusable)."""
    if not isinstance(raw, dict):
        problems.append(loc.problem(path, "a registry entry must be a mapping"))
        return None
    n0 = len(problems)
    for k in raw:
        if k not in _ENTRY_KEYS:
            from difflib import get_close_matches
            near = get_close_matches(str(k), sorted(_ENTRY_KEYS), n=1)
            problems.append(loc.problem(path + (k,), f"unknown key '{k}' in registry entry",
                                        f"did you mean '{near[0]}'?" if near else "allowed: " + ", ".join(sorted(_ENTRY_KEYS)),
                                        key=True))
    pid = raw.get("id")
    if not isinstance(pid, str) or not ID_RE.match(pid):
        problems.append(loc.problem(path + ("id",), f"bad or missing id {pid!r}",
                                    "ids are lowercase dotted names like 'graphite.intensity'"))
        return None
    unit = raw.get("unit")
    if not isinstance(unit, str) or not units.is_valid(unit):
        problems.append(loc.problem(path + ("unit",), f"{pid}: unknown unit {unit!r}",
                                    "use a pint unit such as 't/GWh', 'day', 'GWh/year', 'dimensionless', or 'date'"))
        unit = None
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(loc.problem(path + ("kind",), f"{pid}: kind must be one of {', '.join(KINDS)}", f"got {kind!r}"))
    line, col = loc.where(path)
    p = Parameter(id=pid, name=str(raw.get("name", "")), unit=unit or "dimensionless", kind=str(kind),
                  file=loc.file, line=line, col=col, notes=str(raw.get("notes", "")))
    if unit is None:
        return None
    if kind == "derived":
        f = raw.get("formula")
        if not isinstance(f, str) or not f.strip():
            problems.append(loc.problem(path, f"{pid}: a derived parameter needs a 'formula'"))
        else:
            try:
                fx.parse(f)
                p.formula = f
            except fx.FormulaError as exc:
                problems.append(loc.problem(path + ("formula",), f"{pid}: {exc}"))
    else:
        if "value" not in raw:
            problems.append(loc.problem(path, f"{pid}: missing 'value'"))
        else:
            p.value = _to_value(raw["value"], p.unit, loc, path + ("value",), problems, f"{pid}: value")
    rng = raw.get("range")
    if rng is not None:
        if not isinstance(rng, dict) or set(rng) != {"low", "high"}:
            problems.append(loc.problem(path + ("range",), f"{pid}: range must be {{low: .., high: ..}}"))
        else:
            p.low = _to_value(rng["low"], p.unit, loc, path + ("range", "low"), problems, f"{pid}: range.low")
            p.high = _to_value(rng["high"], p.unit, loc, path + ("range", "high"), problems, f"{pid}: range.high")
    dist = raw.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        problems.append(loc.problem(path + ("distribution",), f"{pid}: unknown distribution {dist!r}",
                                    "one of " + ", ".join(DISTRIBUTIONS)))
    p.distribution = str(dist)
    ev = raw.get("evidence")
    evs = ev if isinstance(ev, list) else ([ev] if ev is not None else [])
    for i, e in enumerate(evs):
        epath = path + (("evidence", i) if isinstance(ev, list) else ("evidence",))
        if not isinstance(e, dict):
            problems.append(loc.problem(epath, f"{pid}: evidence must be a mapping"))
            continue
        for k in e:
            if k not in _EVIDENCE_KEYS:
                problems.append(loc.problem(epath + (k,), f"{pid}: unknown evidence key '{k}'",
                                            "allowed: " + ", ".join(sorted(_EVIDENCE_KEYS)), key=True))
        p.evidence.append(Evidence(source=str(e.get("source", "")), locator=str(e.get("locator", "")),
                                   quote=str(e.get("quote", "")), quote_en=str(e.get("quote_en", "")),
                                   reading=str(e.get("reading", ""))))
    p.rationale = str(raw.get("rationale", "") or "")
    nr = raw.get("nearest_reference")
    p.nearest_reference = nr if isinstance(nr, dict) else {}
    cal = raw.get("calibration")
    p.calibration = cal if isinstance(cal, dict) else {}
    return p if len(problems) == n0 or p.id else None


def load_registry(root: str | Path | Sequence[str | Path] | None = None,
                  start: str | Path | None = None) -> Registry:
    """Load every ``parameters/*.yaml`` under ``root`` (one calibration folder or several, e.g. the
    shipped one then a study's; default :func:`sim.paths.calibration_roots` from ``start``).

    BadInput on problems. Structural problems (bad unit, missing value, duplicate id) stop the
    load; semantic ones (missing quotes, ranges) are the auditor's business and do not.
    """
    roots = as_roots(root) if root is not None else calibration_roots(start)
    for r in roots:
        pdir = r / "parameters"
        if not pdir.is_dir():
            raise BadInput([Problem(str(pdir), 1, 1, "parameter registry folder not found",
                                    f"a calibration folder holds parameters/*.yaml; unset {ENV} or point it at one")])
    key = tuple(str(r.resolve()) for r in roots)
    return _load_registry_cached(key, tuple(_stamp(r / "parameters") for r in roots))


def as_roots(root: str | Path | Sequence[str | Path]) -> list[Path]:
    """One calibration folder or several, as a list of Paths."""
    return [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]


def _stamp(pdir: Path) -> tuple:
    return tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in pdir.glob("*.yaml")))


@lru_cache(maxsize=4)
def _load_registry_cached(roots_s: tuple[str, ...], _stamp: tuple) -> Registry:
    roots = [Path(r) for r in roots_s]
    problems: list[Problem] = []
    params: dict[str, Parameter] = {}
    files = [f for r in roots for f in sorted((r / "parameters").glob("*.yaml"))]
    for f in files:
        try:
            loc = load_file(f)
        except BadInput as exc:
            problems += exc.problems
            continue
        data = loc.data
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
            problems.append(loc.problem((), "a registry file holds 'parameters:' with a list of entries"))
            continue
        for i, raw in enumerate(data["parameters"]):
            p = parse_entry(raw, loc, ("parameters", i), problems)
            if p is None:
                continue
            if p.id in params:
                problems.append(Problem(p.file, p.line, p.col, f"duplicate id '{p.id}'",
                                        f"first defined at {params[p.id].where()}; a study changes a shipped "
                                        "value with a scenario override, not a second entry"))
                continue
            params[p.id] = p
    if problems:
        raise BadInput(problems)
    return Registry(params=params, root=roots[0], files=files, roots=roots)


# ---- sampling ---------------------------------------------------------------------------------

def sample_values(p: Parameter, u: np.ndarray) -> np.ndarray:
    """Map uniform draws ``u`` in [0, 1) to ``p``'s distribution over its range (in its unit).

    Dates are returned as proleptic ordinals (days), so they can be sampled like numbers.
    """
    lo, hi, mode = (_as_number(p.low), _as_number(p.high), _as_number(p.value))
    if p.distribution in ("lognormal", "logitnormal") and 0 < lo < hi and (p.distribution == "lognormal" or hi < 1):
        from scipy.stats import norm   # a fitted population: normal on the log (logit) scale, range = 5-95%
        g = np.log if p.distribution == "lognormal" else (lambda x: np.log(x) - np.log1p(-x))
        a, b = g(lo), g(hi)
        x = (a + b) / 2 + (b - a) / (2 * NORMAL_RANGE_Z) * norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
        return np.exp(x) if p.distribution == "lognormal" else 1.0 / (1.0 + np.exp(-x))
    if p.distribution == "loguniform" and lo > 0:
        return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    if p.distribution == "triangular" and hi > lo:
        from scipy.stats import triang
        c = min(max((mode - lo) / (hi - lo), 0.0), 1.0)
        return triang.ppf(u, c, loc=lo, scale=hi - lo)
    return lo + u * (hi - lo)
