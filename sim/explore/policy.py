"""Policy files: levers (named choices of scenario patches, each with a cost) read and checked.

A policy file names the KPI robustness is measured on, a threshold for satisficing, and levers;
each lever's options are patches of scenario inputs (deep-merged over the scenario like
``extends:``) with a cost quantity in USD. Problems are reported as FILE:LINE:COL (BadInput,
exit 2) before anything runs. The format is in docs/explore.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..core import units
from ..core.errors import BadInput, Problem, show
from ..core.yamlio import Located, load_file

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
TOP_KEYS = ("id", "title", "description", "scenario", "kpi", "sense", "threshold", "rank_by", "preferred",
            "levers", "design", "discovery")
RANK_BY = ("satisficing", "regret_max", "regret_p90", "mean", "p90")
COST_UNIT = "USD"


@dataclass
class Option:
    """One option of a lever: its patch of scenario inputs and its cost quantity."""

    lever: str
    name: str
    patch: dict[str, Any]
    cost: dict[str, Any]
    path: tuple            # key path of the option in the policy file


@dataclass
class PolicyFile:
    """A checked policy file."""

    id: str
    file: Path
    loc: Located
    kpi: str
    sense: str
    threshold: dict[str, Any]
    rank_by: str
    preferred: str | None
    levers: dict[str, list[Option]]
    design: dict[str, Any]
    discovery: dict[str, Any]
    scenario: str | None = None
    title: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def _kpis() -> dict[str, str]:
    from ..stockflow.kpis import KPI_UNITS

    return dict(KPI_UNITS)


def _kpi_problem(loc: Located, path: tuple, v: Any, what: str) -> Problem | None:
    names = [k for k, u in _kpis().items() if u != "date"]
    if isinstance(v, str) and v in names:
        return None
    near = get_close_matches(str(v), names, n=1, cutoff=0.6)
    return loc.problem(path, f"{what}: unknown KPI '{show(v, 60)}'",
                       (f"did you mean '{near[0]}'? " if near else "") + "KPIs: " + ", ".join(names))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def cost_problems(loc: Located, path: tuple, cost: Any, registry: Any) -> list[Problem]:
    """A cost is a quantity in USD: ``{lever: N, unit: USD, why: ...}`` or ``{param: ID}`` of a USD entry."""
    hint = "e.g. cost: {lever: 0, unit: USD, why: no outlay} or cost: {param: policy_costs.sic_grant_ira_like}"
    if not isinstance(cost, dict):
        return [loc.problem(path, "cost must be a quantity in USD", hint)]
    if "param" in cost:
        pid = cost["param"]
        if not isinstance(pid, str) or pid not in registry:
            near = get_close_matches(str(pid), registry.ids(), n=1, cutoff=0.6) if isinstance(pid, str) else []
            return [loc.problem(path + ("param",), f"cost: unknown parameter id '{show(pid, 60)}'",
                                f"did you mean '{near[0]}'?" if near else "see 'batsim params' for the ids")]
        unit = registry[pid].unit
        where = path + ("param",)
    elif "lever" in cost:
        if not _number(cost["lever"]):
            return [loc.problem(path + ("lever",), f"cost: lever must be a number (got {show(cost['lever'], 60)})", hint)]
        if not str(cost.get("why", "")).strip():
            return [loc.problem(path, "cost: a lever needs a 'why:' (where the figure comes from)", hint)]
        unit = cost.get("unit")
        where = path + ("unit",)
    else:
        return [loc.problem(path, "cost must be a quantity in USD (param: or lever:)", hint)]
    try:
        units.factor(str(unit), COST_UNIT)
    except ValueError:
        return [loc.problem(where, f"cost has unit '{show(unit, 60)}', which is not a currency convertible to {COST_UNIT}",
                            "costs are in USD (or MUSD, ...); a quantity in another unit is not a cost")]
    return []


def _options(loc: Located, levers: Any, problems: list[Problem]) -> dict[str, list[Option]]:
    out: dict[str, list[Option]] = {}
    if not isinstance(levers, dict) or not levers:
        problems.append(loc.problem(("levers",), "levers: must be a mapping of lever names to their options",
                                    "e.g. levers: {stockpile: {options: {none: {patch: {}, cost: ...}}}}"))
        return out
    for name, lever in levers.items():
        lp = ("levers", name)
        if not isinstance(name, str) or not ID_RE.match(name):
            problems.append(loc.problem(lp, f"lever name '{show(name, 60)}' is not a lower-case id", "e.g. stockpile",
                                        key=True))
            continue
        opts = lever.get("options") if isinstance(lever, dict) else None
        if not isinstance(opts, dict) or not opts:
            problems.append(loc.problem(lp, f"lever '{name}' has no options", "give options: {NAME: {patch: ..., cost: ...}}",
                                        key=True))
            continue
        extra = sorted(set(lever) - {"options", "note", "title"})
        if extra:
            problems.append(loc.problem(lp + (extra[0],), f"lever '{name}': unknown key '{show(extra[0], 40)}'",
                                        "a lever has options: (and an optional note:)", key=True))
        out[name] = []
        for oname, opt in opts.items():
            op = lp + ("options", oname)
            if not isinstance(oname, str) or not ID_RE.match(oname):
                problems.append(loc.problem(op, f"option name '{show(oname, 60)}' is not a lower-case id", key=True))
                continue
            if not isinstance(opt, dict):
                problems.append(loc.problem(op, f"option '{name}.{oname}' must be a mapping with patch: and cost:"))
                continue
            bad_keys = sorted(set(opt) - {"patch", "cost", "note"})
            if bad_keys:
                problems.append(loc.problem(op + (bad_keys[0],), f"option '{name}.{oname}': unknown key "
                                            f"'{show(bad_keys[0], 40)}'", "an option has patch:, cost: and note:", key=True))
            patch = opt.get("patch", {})
            if patch is None:
                patch = {}
            if not isinstance(patch, dict):
                problems.append(loc.problem(op + ("patch",), "patch: must be a mapping of scenario inputs",
                                            "e.g. patch: {reserves: {graphite: {initial: {lever: 14500, unit: t, why: ...}}}}"))
                continue
            if "cost" not in opt:
                problems.append(loc.problem(op, f"option '{name}.{oname}' has no cost:",
                                            "give cost: {lever: 0, unit: USD, why: ...} for an option without outlay"))
                continue
            out[name].append(Option(name, oname, patch, opt["cost"], op))
    return out


def is_policy_file(path: str | Path) -> bool:
    """True when ``path`` parses to a mapping with a top-level ``levers:`` key (what ``batsim validate``
    takes for a policy file); False for anything else, including files that do not parse (the scenario
    checks then report those)."""
    try:
        loc = load_file(path)
    except BadInput:
        return False
    return isinstance(loc.data, dict) and "levers" in loc.data


def load_policy(path: str | Path, registry: Any) -> PolicyFile:
    """Read and check a policy file (structure, KPIs, threshold, costs, design); BadInput lists problems.

    The patches are checked against the scenario by :func:`sim.explore.combine.compile_options`.
    """
    p = Path(path)
    loc = load_file(p)
    d = loc.data
    problems: list[Problem] = []
    if not isinstance(d, dict):
        raise BadInput([Problem(str(p), 1, 1, "a policy file must be a mapping", "start with 'id:', 'kpi:', 'levers:'")])
    for k in d:
        if k not in TOP_KEYS:
            near = get_close_matches(str(k), TOP_KEYS, n=1)
            problems.append(loc.problem((k,), f"unknown key '{show(k, 40)}'",
                                        f"did you mean '{near[0]}'?" if near else "keys: " + ", ".join(TOP_KEYS), key=True))
    pid = d.get("id")
    if not isinstance(pid, str) or not ID_RE.match(pid):
        problems.append(loc.problem(("id",), f"id must be a lower-case id (got {show(pid, 60)})", "e.g. id: us-anode-resilience"))
    kpi = d.get("kpi", "cell_output_shortfall_gwh")
    pr = _kpi_problem(loc, ("kpi",), kpi, "kpi")
    if pr:
        problems.append(pr)
    sense = d.get("sense", "min")
    if sense not in ("min", "max"):
        problems.append(loc.problem(("sense",), f"sense must be min or max (got {show(sense, 40)})",
                                    "min: lower KPI values are better (shortfalls)"))
    thr = d.get("threshold")
    if not isinstance(thr, dict) or "kpi" not in thr or not ({"max", "min"} & set(thr)):
        problems.append(loc.problem(("threshold",), "threshold must name a kpi and a max (or min)",
                                    "e.g. threshold: {kpi: peak_shortfall_fraction, max: 0.05}"))
        thr = {}
    else:
        pr = _kpi_problem(loc, ("threshold", "kpi"), thr["kpi"], "threshold")
        if pr:
            problems.append(pr)
        for k in ("max", "min"):
            if k in thr and not _number(thr[k]):
                problems.append(loc.problem(("threshold", k), f"threshold {k} must be a number (got {show(thr[k], 40)})"))
        extra = sorted(set(thr) - {"kpi", "max", "min"})
        if extra:
            problems.append(loc.problem(("threshold", extra[0]), f"threshold: unknown key '{show(extra[0], 40)}'",
                                        "threshold has kpi: and max: (or min:)", key=True))
    rank_by = d.get("rank_by", "satisficing")
    if rank_by not in RANK_BY:
        problems.append(loc.problem(("rank_by",), f"rank_by: unknown metric '{show(rank_by, 40)}'", "one of " + ", ".join(RANK_BY)))
    levers = _options(loc, d.get("levers"), problems)
    for name, opts in levers.items():
        for o in opts:
            problems += cost_problems(loc, o.path + ("cost",), o.cost, registry)
    design = d.get("design", "full_factorial")
    n_combos = 1
    for opts in levers.values():
        n_combos *= len(opts)
    if design == "full_factorial":
        design = {"kind": "full_factorial"}
    elif isinstance(design, dict) and set(design) == {"sampled"}:
        n = design["sampled"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            problems.append(loc.problem(("design", "sampled"), f"design: sampled must be a positive whole number "
                                        f"(got {show(n, 40)})", "the design would be empty; e.g. design: {sampled: 50}"))
        design = {"kind": "sampled", "n": n}
    else:
        problems.append(loc.problem(("design",), f"design must be full_factorial or {{sampled: N}} (got {show(design, 60)})",
                                    "e.g. design: full_factorial"))
        design = {"kind": "full_factorial"}
    if levers and not any(opts for opts in levers.values()) and not problems:
        problems.append(loc.problem(("levers",), "the design is empty: no lever has an option"))
    disc = d.get("discovery", {}) or {}
    if not isinstance(disc, dict) or set(disc) - {"max_boxes", "min_coverage"}:
        problems.append(loc.problem(("discovery",), "discovery: takes max_boxes and min_coverage",
                                    "e.g. discovery: {max_boxes: 2, min_coverage: 0.5}"))
        disc = {}
    mc = disc.get("min_coverage", 0.5)
    if not _number(mc) or not 0 < mc <= 1:
        problems.append(loc.problem(("discovery", "min_coverage"), f"min_coverage must lie in (0, 1] (got {show(mc, 40)})"))
    mb = disc.get("max_boxes", 2)
    if not isinstance(mb, int) or isinstance(mb, bool) or mb < 1:
        problems.append(loc.problem(("discovery", "max_boxes"), f"max_boxes must be a positive whole number (got {show(mb, 40)})"))
    preferred = d.get("preferred")
    if preferred is not None and not isinstance(preferred, str):
        problems.append(loc.problem(("preferred",), "preferred must be a policy name like 'stockpile=d60+sic_subsidy=none'"))
    if problems:
        raise BadInput(problems)
    return PolicyFile(id=str(pid), file=p, loc=loc, kpi=str(kpi), sense=str(sense), threshold=dict(thr),
                      rank_by=str(rank_by), preferred=preferred, levers=levers, design=design,
                      discovery={"min_coverage": float(mc), "max_boxes": int(mb)},
                      scenario=d.get("scenario") if isinstance(d.get("scenario"), str) else None,
                      title=str(d.get("title", "")), raw=d)
