"""Calibration targets: an observed series with full citations, and what to fit to it.

A target file (``calibration/targets/<name>.yaml``, format in docs/calibration.md) holds:

- ``series``: what was observed, exactly (products, customs codes, origin, destination, unit,
  frequency, definition);
- ``sources``: each source read (bibliography id, address, date read, passage located);
- ``observations``: one per period (a month, a year, or a run of them as a mean or total), each
  with its source, locator, verbatim quote and how the figure was read;
- ``not_observed``: periods inside the span with no observation, each with a reason (an
  undeclared gap is an error, never filled);
- ``model``: the stock-flow scenario and series the model is compared with, or the form of a
  learning curve;
- ``fit``: the parameters to fit (the registry id written, the registry id it calibrates, the
  search bounds, the plausible range), seed, population size, interval and backtest settings.

:func:`load_target` checks all of it and raises :class:`~sim.core.errors.BadInput` listing
every problem as ``FILE:LINE:COL: message``.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..core import units
from ..core.errors import BadInput, Problem
from ..core.yamlio import Located, load_file
from ..paths import find_in_roots
from ..provenance.registry import ID_RE, Registry, load_registry
from .observations import observation_problem
from .periods import FREQUENCIES, Period, parse_period

KINDS = ("stockflow", "learning_curve")
STATISTICS = ("value", "mean", "total")
_TOP = {"id", "title", "kind", "description", "series", "sources", "observations", "not_observed", "model", "fit",
        "inputs", "checks"}
_SERIES = {"name", "unit", "frequency", "definition", "products", "codes", "origin", "destination", "notes"}
_SERIES_REQUIRED = ("name", "unit", "frequency", "definition", "products", "codes", "destination")
_SOURCE = {"id", "address", "read", "passage"}
_OBS = {"period", "value", "unit", "statistic", "source", "locator", "quote", "quote_en", "reading", "zero"}
_GAP = {"period", "why"}
_FIT = {"parameters", "seed", "population", "starts", "interval", "backtest", "des"}
_PARAM = {"id", "name", "unit", "calibrates", "role", "search", "plausible", "step"}
_MODEL_SF = {"scenario", "variable", "origin", "material", "normalise", "scale"}
_MODEL_LC = {"form", "base_year", "scale", "learning_rate"}
_LR = {"id", "name", "calibrates", "volume_growth"}
_VG = {"factor", "years", "source", "locator", "quote", "reading"}
_CHECK = {"kind", "loss_per_sales_dollar", "claim", "note"}
ROLES = ("level", "decline")


@dataclass
class SourceRef:
    id: str
    address: str
    read: dt.date
    passage: str


@dataclass
class Observation:
    """One observed value, in the series unit, with where it was read."""

    period: Period
    value: float
    statistic: str
    source: str
    locator: str
    quote: str
    reading: str
    quote_en: str = ""
    line: int = 1
    zero: bool = False              # the source reports no exports: value 0, kept as an observation

    def per_unit(self) -> float:
        """The value per month (or year) of the period: a total is spread evenly over it."""
        return self.value / self.period.units if self.statistic == "total" else self.value


@dataclass
class FitParam:
    """A parameter to fit: the id written to the registry and the registry id it stands in for."""

    id: str
    name: str
    unit: str
    low: float                      # search bounds
    high: float
    plausible: tuple[float, float]
    plausible_why: str
    calibrates: str = ""            # registry id the calibration scenario reads (given= overrides it)
    role: str = ""                  # learning curve: level | decline
    step: float = 0.0               # finite-difference step (0: a thousandth of the search width)
    line: int = 1


@dataclass
class Target:
    """A validated target file."""

    path: Path
    id: str
    title: str
    kind: str
    description: str
    series: dict[str, Any]
    sources: list[SourceRef]
    observations: list[Observation]
    not_observed: list[tuple[Period, str]]
    model: dict[str, Any]
    params: list[FitParam]
    seed: int = 0
    population: int = 2048
    starts: int = 3
    interval_level: float = 0.95
    interval_points: int = 21
    holdout: int = 1
    des: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    located: Located | None = None

    @property
    def freq(self) -> str:
        return str(self.series["frequency"])

    @property
    def unit(self) -> str:
        return str(self.series["unit"])

    @property
    def name(self) -> str:
        """The file name, as calibration records cite it (relative to calibration/targets/)."""
        return self.path.name

    def source(self, sid: str) -> SourceRef:
        return next(s for s in self.sources if s.id == sid)


# ---- helpers ----------------------------------------------------------------------------------

class _Checker:
    def __init__(self, loc: Located):
        self.loc = loc
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str, hint: str = "", key: bool = False) -> None:
        self.problems.append(self.loc.problem(path, message, hint, key=key))

    def keys(self, data: Any, path: tuple, allowed: set[str], what: str) -> bool:
        if not isinstance(data, dict):
            self.add(path, f"{what} must be a mapping")
            return False
        for k in data:
            if k not in allowed:
                near = get_close_matches(str(k), sorted(allowed), n=1, cutoff=0.6)
                self.add(path + (k,), f"unknown key '{k}' in {what}",
                         f"did you mean '{near[0]}'?" if near else "allowed: " + ", ".join(sorted(allowed)), key=True)
        return True

    def text(self, data: dict, path: tuple, key: str, what: str, hint: str = "") -> str:
        v = data.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            self.add(path + ((key,) if key in data else ()), f"{what}: missing '{key}'", hint)
            return ""
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            self.add(path + (key,), f"{what}: '{key}' must be text")
            return ""
        return str(v)

    def number(self, data: dict, path: tuple, key: str, what: str, positive: bool = False) -> float | None:
        if key not in data:
            self.add(path, f"{what}: missing '{key}'")
            return None
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            self.add(path + (key,), f"{what}: '{key}' must be a finite number", f"got {v!r}")
            return None
        if positive and v <= 0:
            self.add(path + (key,), f"{what}: '{key}' must be positive", f"got {v!r}")
            return None
        return float(v)

    def range_of(self, data: Any, path: tuple, what: str) -> tuple[float, float] | None:
        if not isinstance(data, dict) or "low" not in data or "high" not in data:
            self.add(path, f"{what} must be {{low: .., high: ..}}")
            return None
        lo = self.number(data, path, "low", what)
        hi = self.number(data, path, "high", what)
        if lo is None or hi is None:
            return None
        if not lo < hi:
            self.add(path + ("high",), f"{what}: high ({hi:g}) must be above low ({lo:g})")
            return None
        return lo, hi


def _can_be_zero(unit: str) -> bool:
    """A series in ``unit`` can be zero only if it is a flow: an amount per unit of time (not a price or ratio)."""
    try:
        return units.parse(unit).dimensionality.get("[time]", 0) < 0
    except ValueError:
        return True     # an unknown unit is reported on its own


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def _is_date(v: Any) -> bool:
    return isinstance(v, dt.date)


def fit_param(c: "_Checker", fp: Any, pp: tuple, reg: Registry, kind: str = "stockflow",
              allowed: set[str] = _PARAM) -> FitParam | None:
    """Check one fitted parameter (id written, calibrates, unit, search, plausible range, step); None if bad."""
    if not c.keys(fp, pp, allowed, "a fitted parameter"):
        return None
    n0 = len(c.problems)
    pid = c.text(fp, pp, "id", "fitted parameter", "the registry id the fitted value is written to")
    if pid and not ID_RE.match(pid):
        c.add(pp + ("id",), f"bad registry id '{pid}'", "lowercase dotted name like 'calibrated.x.y'")
    if pid and pid in reg and reg[pid].kind != "calibrated":
        c.add(pp + ("id",), f"'{pid}' is a {reg[pid].kind} registry entry; a fit would overwrite it",
              "write the fitted value to a new id and point 'calibrates' at this one")
    name = c.text(fp, pp, "name", f"fitted parameter {pid}")
    unit = c.text(fp, pp, "unit", f"fitted parameter {pid}")
    if unit and not units.is_valid(unit):
        c.add(pp + ("unit",), f"{pid}: unknown unit '{unit}'")
    calib = str(fp.get("calibrates", "") or "")
    role = str(fp.get("role", "") or "")
    plaus, why = None, ""
    if kind == "stockflow" and not calib:
        c.add(pp, f"{pid}: missing 'calibrates'", "the registry id the calibration scenario reads")
    if calib:
        if calib not in reg:
            _unknown(c, pp + ("calibrates",), calib, reg)
        else:
            entry = reg[calib]
            if unit and units.is_valid(unit) and not units.same_dimension(unit, entry.unit):
                c.add(pp + ("unit",), f"{pid}: unit '{unit}' does not match '{calib}' ({entry.unit})")
            if entry.low is not None and entry.high is not None and entry.high > entry.low \
                    and not entry.is_date and "plausible" not in fp:
                f_ = units.factor(entry.unit, unit) if unit and units.is_valid(unit) and \
                    units.same_dimension(unit, entry.unit) else 1.0
                plaus = (float(entry.low) * f_, float(entry.high) * f_)
                why = f"the registry range of {calib} ({entry.kind}, {_where(entry.where())})"
    if kind == "learning_curve" and role not in ROLES:
        c.add(pp + (("role",) if "role" in fp else ()), f"{pid}: role must be one of {', '.join(ROLES)}")
    search = c.range_of(fp.get("search"), pp + ("search",), f"{pid}: search") if "search" in fp else None
    if "search" not in fp:
        c.add(pp, f"{pid}: missing 'search'", "search bounds {low, high}, wider than the plausible range")
    if "plausible" in fp:
        pr = c.range_of(fp["plausible"], pp + ("plausible",), f"{pid}: plausible")
        why = str((fp["plausible"] or {}).get("why", "")) if isinstance(fp["plausible"], dict) else ""
        if pr and not why.strip():
            c.add(pp + ("plausible",), f"{pid}: plausible range has no 'why'",
                  "say where the range comes from (registry ids, sources)")
        plaus = pr
    elif plaus is None and "search" in fp and not (calib and calib not in reg):
        c.add(pp, f"{pid}: no plausible range", f"'{calib or pid}' has no registry range; give plausible: "
              "{low, high, why}")
    step = fp.get("step", 0.0)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step < 0:
        c.add(pp + ("step",), f"{pid}: step must be a non-negative number")
        step = 0.0
    if search and plaus and (plaus[0] < search[0] or plaus[1] > search[1]):
        c.add(pp + ("search",), f"{pid}: the search bounds [{search[0]:g}, {search[1]:g}] do not contain the "
              f"plausible range [{plaus[0]:g}, {plaus[1]:g}]", "search wider than what is plausible, so that a "
              "fit outside it can be seen and refused")
    if len(c.problems) == n0 and search and plaus:
        return FitParam(pid, name, unit, search[0], search[1], plaus, _norm(why), calib, role, float(step),
                        c.loc.where(pp)[0])
    return None


# ---- the loader -------------------------------------------------------------------------------

def load_target(path: str | Path, registry: Registry | None = None) -> Target:
    """Read and check a target file; BadInput lists every problem with its file, line and field."""
    from ..provenance.bibliography import load_bibliography

    p = Path(path)
    loc = load_file(p)
    reg = registry if registry is not None else load_registry(start=p.parent)
    bib = load_bibliography(reg.roots)
    c = _Checker(loc)
    d = loc.data
    if not isinstance(d, dict):
        raise BadInput([loc.problem((), "a target file is a mapping with id, series, sources, observations, fit")])
    c.keys(d, (), _TOP, "a target file")
    for key in ("id", "title", "kind", "series", "sources", "observations", "fit"):
        if key not in d:
            c.add((), f"missing required key '{key}'", "see docs/calibration.md for the target format")
    tid = str(d.get("id", p.stem))
    if "id" in d and (not isinstance(d["id"], str) or not ID_RE.match(d["id"].replace("-", "_"))):
        c.add(("id",), f"bad target id {d['id']!r}", "lowercase letters, digits, '-' and '_'")
    kind = d.get("kind")
    if "kind" in d and kind not in KINDS:
        c.add(("kind",), f"kind must be one of {', '.join(KINDS)}", f"got {kind!r}")

    # series
    series = d.get("series") if isinstance(d.get("series"), dict) else {}
    freq = "month"
    sunit = ""
    if "series" in d and c.keys(d["series"], ("series",), _SERIES, "series"):
        for key in _SERIES_REQUIRED:
            c.text(series, ("series",), key, "series", {
                "codes": "the customs (HS) codes the series counts, or why none apply",
                "products": "which products the series counts",
                "destination": "which destinations (e.g. 'all destinations')",
                "definition": "the exact definition of the series"}.get(key, ""))
        freq = str(series.get("frequency", "month"))
        if "frequency" in series and freq not in FREQUENCIES:
            c.add(("series", "frequency"), f"frequency must be one of {', '.join(FREQUENCIES)}", f"got {freq!r}")
            freq = "month"
        sunit = str(series.get("unit", ""))
        if sunit and not units.is_valid(sunit):
            c.add(("series", "unit"), f"unknown unit '{sunit}'", "a pint unit such as 't/month' or 'USD/kWh'")
            sunit = ""

    # sources
    sources: list[SourceRef] = []
    raw_sources = d.get("sources")
    if "sources" in d and not isinstance(raw_sources, list):
        c.add(("sources",), "sources must be a list of {id, address, read, passage}")
        raw_sources = []
    for i, s in enumerate(raw_sources or []):
        sp = ("sources", i)
        if not c.keys(s, sp, _SOURCE, "a source"):
            continue
        sid = c.text(s, sp, "id", "source", "a bibliography id (calibration/bibliography/*.json)")
        addr = c.text(s, sp, "address", f"source {sid}", "the URL (or other address) read")
        passage = c.text(s, sp, "passage", f"source {sid}", "the table or passage located, e.g. 'paragraph 2'")
        read = s.get("read")
        if read is None:
            c.add(sp, f"source {sid}: missing 'read'", "the date the source was read, YYYY-MM-DD")
        elif not _is_date(read):
            c.add(sp + ("read",), f"source {sid}: 'read' must be a date (YYYY-MM-DD)", f"got {read!r}")
        if sid:
            entry = bib.get(sid)
            if entry is None:
                near = get_close_matches(sid, bib.ids(), n=1, cutoff=0.6)
                c.add(sp + ("id",), f"source '{sid}' is not in the bibliography",
                      f"did you mean '{near[0]}'?" if near else "add a CSL-JSON entry to calibration/bibliography/")
            elif addr and entry.get("URL") and _norm(entry["URL"]) != _norm(addr):
                c.add(sp + ("address",), f"source {sid}: address differs from the bibliography's URL",
                      f"the bibliography has {entry['URL']}")
            if find_in_roots(reg.roots, "sources", f"{sid}.txt") is None:
                c.add(sp + ("id",), f"source {sid}: no stored passage calibration/sources/{sid}.txt",
                      "store the text read, first line '# <URL> — read YYYY-MM-DD via stored copy'")
            if any(x.id == sid for x in sources):
                c.add(sp + ("id",), f"source '{sid}' is listed twice")
        if sid and _is_date(read):
            sources.append(SourceRef(sid, addr, read, passage))
    stored = {s.id: find_in_roots(reg.roots, "sources", f"{s.id}.txt") for s in sources}
    texts = {sid: _norm(f.read_text(encoding="utf-8")) for sid, f in stored.items() if f is not None}

    # observations
    obs: list[Observation] = []
    raw_obs = d.get("observations")
    if "observations" in d and (not isinstance(raw_obs, list) or not raw_obs):
        c.add(("observations",), "observations must be a non-empty list")
        raw_obs = []
    for i, o in enumerate(raw_obs or []):
        op = ("observations", i)
        if not c.keys(o, op, _OBS, "an observation"):
            continue
        n0 = len(c.problems)
        per = None
        if "period" not in o:
            c.add(op, "observation: missing 'period'", "YYYY-MM, YYYY, or a range FIRST/LAST")
        else:
            try:
                per = parse_period(o["period"], freq)
            except ValueError as exc:
                c.add(op + ("period",), f"observation: {exc}")
        what = f"observation {per.label}" if per else "observation"
        zero = o.get("zero", False)
        if not isinstance(zero, bool):
            c.add(op + ("zero",), f"{what}: 'zero' must be true or false", f"got {zero!r}")
            zero = False
        if not zero and type(o.get("value")) in (int, float) and o.get("value") == 0:
            c.add(op + ("value",), f"{what}: 'value' is 0",
                  "a month the source reports as zero is an observation: mark it 'zero: true'")
            val = None
        else:
            val = c.number(o, op, "value", what, positive=not zero)
        if zero and sunit and not _can_be_zero(sunit):
            c.add(op + ("zero",), f"{what}: a zero is not a possible value of a series in '{sunit}'",
                  "only a flow (an amount per month or year, e.g. t/month) can be reported as zero")
            val = None
        if zero and val is not None and val != 0:
            c.add(op + ("value",), f"{what}: an observation marked zero: true has value 0", f"got {val!r}")
            val = None
        ounit = o.get("unit")
        factor = 1.0
        if ounit is None:
            c.add(op, f"{what}: missing 'unit'", f"the series unit is '{sunit}'")
        elif sunit:
            if not isinstance(ounit, str) or not units.is_valid(ounit):
                c.add(op + ("unit",), f"{what}: unknown unit {ounit!r}")
            else:
                try:
                    factor = units.factor(ounit, sunit)
                except ValueError:
                    c.add(op + ("unit",), f"{what}: unit '{ounit}' does not match the series unit '{sunit}'",
                          "observations are in the series unit (or one convertible to it)")
        why = observation_problem(val * factor, sunit) if val is not None else ""
        if why:
            c.add(op + ("value",), f"{what}: {why}", "check the figure and its unit against the source")
            val = None
        stat = o.get("statistic", "value")
        if stat not in STATISTICS:
            c.add(op + ("statistic",), f"{what}: statistic must be one of {', '.join(STATISTICS)}", f"got {stat!r}")
        elif per is not None and per.units > 1 and stat == "value":
            c.add(op + ("statistic",), f"{what}: a period of {per.units} {freq}s needs statistic 'mean' or 'total'")
        src = c.text(o, op, "source", what, "the id of one of this file's sources")
        loc_ = c.text(o, op, "locator", what, "where in the source: paragraph, table or page")
        quote = c.text(o, op, "quote", what, "the passage giving the figure, verbatim")
        reading = c.text(o, op, "reading", what, "how the figure was read (rounding, 'more than', ...)")
        if src and src not in {s.id for s in sources}:
            c.add(op + ("source",), f"{what}: source '{src}' is not among this file's sources",
                  "list it under 'sources' with address, read date and passage")
        elif src and quote and src in texts and _norm(quote) not in texts[src]:
            c.add(op + ("quote",), f"{what}: quote not found verbatim in calibration/sources/{src}.txt",
                  "copy the passage exactly as stored")
        if len(c.problems) == n0 and per is not None and val is not None:
            obs.append(Observation(per, val * factor, str(stat), src, loc_, quote, reading,
                                   str(o.get("quote_en", "")), loc.where(op)[0], zero))

    # declared gaps
    gaps: list[tuple[Period, str]] = []
    raw_gaps = d.get("not_observed") or []
    if not isinstance(raw_gaps, list):
        c.add(("not_observed",), "not_observed must be a list of {period, why}")
        raw_gaps = []
    for i, g in enumerate(raw_gaps):
        gp = ("not_observed", i)
        if not c.keys(g, gp, _GAP, "a declared gap"):
            continue
        why = c.text(g, gp, "why", "declared gap", "say why there is no observation (e.g. none found in the sources)")
        try:
            gaps.append((parse_period(g.get("period"), freq), why))
        except ValueError as exc:
            c.add(gp + ("period",), f"declared gap: {exc}")

    # order, duplicates, gaps (positions: the observation that breaks the sequence)
    if raw_obs and len(obs) == len(raw_obs):
        seq = sorted([(o.period, "obs", i) for i, o in enumerate(obs)] + [(g[0], "gap", j) for j, g in enumerate(gaps)],
                     key=lambda x: (x[0].first, x[0].last))
        for i in range(1, len(obs)):
            a, b = obs[i - 1].period, obs[i].period
            bp = ("observations", i, "period")
            if b == a:
                c.add(bp, f"duplicated period {b.label} (also at line {obs[i - 1].line})",
                      "one observation per period; remove or merge the duplicate")
            elif b.first < a.first:
                c.add(bp, f"period {b.label} is out of order: it comes after {a.label}",
                      "list observations from the earliest period to the latest")
            elif b.first < a.end:
                c.add(bp, f"period {b.label} overlaps {a.label}", "periods of a series do not overlap")
        for k in range(1, len(seq)):
            a, b = seq[k - 1][0], seq[k][0]
            if b.first > a.end:
                missing = Period(a.end, _prev(b.first, freq), freq)
                kind_, idx = seq[k][1], seq[k][2]
                path = ("observations", idx, "period") if kind_ == "obs" else ("not_observed", idx, "period")
                c.add(path, f"gap in the series: {missing.label} has no observation before {b.label}",
                      f"add the observation, or declare it under not_observed: [{{period: '{missing.label}', "
                      "why: ...}] (gaps are never filled)")
            elif b.first < a.end and (seq[k - 1][1] == "gap" or seq[k][1] == "gap"):
                kind_, idx = seq[k][1], seq[k][2]
                path = ("observations", idx, "period") if kind_ == "obs" else ("not_observed", idx, "period")
                c.add(path, f"period {b.label} overlaps the declared gap {a.label}" if seq[k - 1][1] == "gap"
                      else f"declared gap {b.label} overlaps the observation of {a.label}")

    # model
    model = d.get("model") if isinstance(d.get("model"), dict) else {}
    if kind == "stockflow":
        if "model" not in d:
            c.add((), "a stockflow target needs 'model: {scenario, variable, origin, material, normalise}'")
        elif c.keys(model, ("model",), _MODEL_SF, "model"):
            scen = c.text(model, ("model",), "scenario", "model", "the calibration scenario, relative to this file")
            if scen and not (p.parent / scen).is_file():
                c.add(("model", "scenario"), f"scenario file '{scen}' not found (relative to {p.parent})")
            if model.get("variable", "shipments") not in ("shipments", "deliveries"):
                c.add(("model", "variable"), "variable must be 'shipments' or 'deliveries'")
            for key in ("origin", "material"):
                c.text(model, ("model",), key, "model")
            if "normalise" in model and model["normalise"] is not None:
                try:
                    model["_normalise"] = parse_period(model["normalise"], freq)
                except ValueError as exc:
                    c.add(("model", "normalise"), f"model.normalise: {exc}")
                else:
                    if not any(o.period == model["_normalise"] for o in obs):
                        c.add(("model", "normalise"), f"no observation covers exactly {model['_normalise'].label}",
                              "normalise to the period of one observation (the pre-announcement mean)")
                    elif any(o.period == model["_normalise"] and o.zero for o in obs):
                        c.add(("model", "normalise"), f"the observation of {model['_normalise'].label} is zero",
                              "normalise to a period with exports (the pre-announcement mean)")
    elif kind == "learning_curve":
        if "model" in d and c.keys(model, ("model",), _MODEL_LC, "model"):
            if model.get("form", "exponential_time") != "exponential_time":
                c.add(("model", "form"), "form must be 'exponential_time' (price = level x exp(-decline x years))")
            if "base_year" in model and (isinstance(model["base_year"], bool) or not isinstance(model["base_year"], int)):
                c.add(("model", "base_year"), "base_year must be a year (integer)")
            lr = model.get("learning_rate")
            if lr is not None and c.keys(lr, ("model", "learning_rate"), _LR, "model.learning_rate"):
                lp = ("model", "learning_rate")
                c.text(lr, lp, "id", "learning_rate")
                cal = c.text(lr, lp, "calibrates", "learning_rate")
                if cal and cal not in reg:
                    _unknown(c, lp + ("calibrates",), cal, reg)
                vg = lr.get("volume_growth")
                if vg is None:
                    c.add(lp, "learning_rate needs volume_growth: {factor, years, source, locator, quote, reading}")
                elif c.keys(vg, lp + ("volume_growth",), _VG, "volume_growth"):
                    vp = lp + ("volume_growth",)
                    c.number(vg, vp, "factor", "volume_growth", positive=True)
                    c.number(vg, vp, "years", "volume_growth", positive=True)
                    src = c.text(vg, vp, "source", "volume_growth")
                    q = c.text(vg, vp, "quote", "volume_growth")
                    c.text(vg, vp, "locator", "volume_growth")
                    c.text(vg, vp, "reading", "volume_growth")
                    if src and src not in texts:
                        c.add(vp + ("source",), f"volume_growth: source '{src}' is not among this file's sources")
                    elif src and q and _norm(q) not in texts[src]:
                        c.add(vp + ("quote",), f"volume_growth: quote not found verbatim in calibration/sources/{src}.txt")
    model = dict(model)

    # fit
    fit = d.get("fit") if isinstance(d.get("fit"), dict) else {}
    params: list[FitParam] = []
    settings: dict[str, Any] = {}
    if "fit" in d and c.keys(d["fit"], ("fit",), _FIT, "fit"):
        raw_params = fit.get("parameters")
        if not isinstance(raw_params, list) or not raw_params:
            c.add(("fit",) + (("parameters",) if "parameters" in fit else ()), "fit needs a non-empty list 'parameters'")
            raw_params = []
        for i, fp in enumerate(raw_params):
            x = fit_param(c, fp, ("fit", "parameters", i), reg, str(kind))
            if x is not None:
                params.append(x)
        ids = [x.id for x in params]
        for x in params:
            if ids.count(x.id) > 1:
                c.add(("fit", "parameters"), f"parameter '{x.id}' is listed twice")
        if kind == "learning_curve" and len(params) == len(raw_params) and sorted(x.role for x in params) != sorted(ROLES):
            c.add(("fit", "parameters"), "a learning curve fits one 'level' and one 'decline' parameter")
        for key, lo, hi, default in (("seed", 0, 2**32 - 1, 0), ("population", 16, 200_000, 2048), ("starts", 1, 50, 3)):
            v = fit.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                c.add(("fit", key), f"fit.{key} must be an integer from {lo} to {hi}", f"got {v!r}")
            settings[key] = v
        iv = fit.get("interval") or {}
        if not isinstance(iv, dict) or set(iv) - {"method", "level", "points"}:
            c.add(("fit", "interval"), "fit.interval is {method: profile, level: 0.95, points: 21}")
            iv = {}
        if iv.get("method", "profile") != "profile":
            c.add(("fit", "interval", "method"), "interval method must be 'profile' (profile likelihood)")
        lvl = iv.get("level", 0.95)
        if isinstance(lvl, bool) or not isinstance(lvl, (int, float)) or not 0.5 <= lvl < 1:
            c.add(("fit", "interval", "level"), "interval level must be in [0.5, 1)")
            lvl = 0.95
        pts = iv.get("points", 21)
        if isinstance(pts, bool) or not isinstance(pts, int) or not 5 <= pts <= 201:
            c.add(("fit", "interval", "points"), "interval points must be an integer from 5 to 201")
            pts = 21
        bt = fit.get("backtest") or {}
        hold = bt.get("holdout", 1) if isinstance(bt, dict) else None
        if isinstance(hold, bool) or not isinstance(hold, int) or hold < 0:
            c.add(("fit", "backtest"), "fit.backtest is {holdout: N} (observations held out at the end)")
            hold = 1
        elif obs and len(obs) == len(raw_obs or []) and hold >= len(obs) - 1:
            c.add(("fit", "backtest", "holdout"), f"holdout {hold} leaves too few of {len(obs)} observations to fit")
        des = fit.get("des") or {}
        if not isinstance(des, dict) or set(des) - {"population", "replications"}:
            c.add(("fit", "des"), "fit.des is {population: N, replications: R}")
            des = {}
        settings.update(interval_level=float(lvl), interval_points=int(pts), holdout=int(hold), des=des)

    checks = d.get("checks") or []
    if not isinstance(checks, list):
        c.add(("checks",), "checks must be a list")
        checks = []
    for i, ch in enumerate(checks):
        cp = ("checks", i)
        if not c.keys(ch, cp, _CHECK, "a check"):
            continue
        if ch.get("kind") != "breakeven_multiple":
            c.add(cp + ("kind",), "check kind must be 'breakeven_multiple'")
        for key in ("loss_per_sales_dollar", "claim"):
            v = c.text(ch, cp, key, "check")
            if v and v not in reg:
                _unknown(c, cp + (key,), v, reg)

    if kind == "stockflow" and obs and model.get("_normalise") is None and "model" in d:
        c.add(("model",), "a stockflow target needs model.normalise: the period of the pre-announcement mean",
              "modelled and observed series are compared as ratios to their mean over that period")
    if c.problems:
        raise BadInput(_sorted(c.problems))
    return Target(path=p, id=tid, title=str(d["title"]), kind=str(kind), description=str(d.get("description", "")),
                  series=series, sources=sources, observations=obs, not_observed=gaps, model=model, params=params,
                  seed=settings["seed"], population=settings["population"], starts=settings["starts"],
                  interval_level=settings["interval_level"], interval_points=settings["interval_points"],
                  holdout=settings["holdout"], des=settings["des"], checks=checks, located=loc)


def _where(where: str) -> str:
    from ..provenance.explain import display_where

    return display_where(where)


def _prev(d: dt.date, freq: str) -> dt.date:
    if freq == "year":
        return dt.date(d.year - 1, 1, 1)
    return dt.date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


def _unknown(c: _Checker, path: tuple, pid: str, reg: Registry) -> None:
    near = get_close_matches(pid, reg.ids(), n=1, cutoff=0.6)
    c.add(path, f"parameter '{pid}' is not in the registry",
          f"did you mean '{near[0]}'?" if near else "see 'batsim params' for the ids")


def _sorted(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for pr in sorted(problems, key=lambda x: (x.file, x.line, x.col)):
        k = (pr.line, pr.col, pr.message)
        if k not in seen:
            seen.add(k)
            out.append(pr)
    return out
