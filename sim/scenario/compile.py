"""Validate a merged scenario document and compile it into what the engines read.

Compiling finds every quantity in the document, resolves it against the registry (or the
scenario's lever or cited override), checks its unit against the slot it fills and its value
against the slot's bounds, and checks the references between sections (regions, materials,
dates in order). Every problem is collected; nothing runs until there are none.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from difflib import get_close_matches
from typing import Any, Iterator

import numpy as np

from ..core import units
from ..core.calendar import Calendar
from ..core.errors import BadInput, Problem, show
from ..provenance.registry import Evidence, Parameter, Registry, sample_values
from .cites import cite_problems
from .load import Document, is_quantity
from .schema import SLUG_PATTERN, scenario_schema
from .slots import DATE, DATE_WINDOW, SlotSpec, spec_for


@dataclass
class Quantity:
    """One number in a scenario and where it comes from."""

    path: str                 # dotted scenario path, e.g. 'supply.graphite.CN.lead_time'
    source: str               # 'param' | 'lever' | 'override'
    pid: str                  # registry id, or '<scenario>:<path>' for levers and overrides
    spec: SlotSpec
    param: Parameter          # the registry entry, or one synthesised for a lever/override
    factor: float = 1.0       # multiplies the value into spec.unit (or alt_unit)
    alt: bool = False         # value is in spec.alt_unit


@dataclass
class Scenario:
    """A validated scenario: the merged document, its calendar and every quantity in it."""

    id: str
    title: str
    description: str
    doc: Document
    calendar: Calendar
    quantities: dict[str, Quantity]
    registry: Registry
    importers: dict[str, "Scenario"] = field(default_factory=dict)   # market: the other importers, compiled

    def __repr__(self) -> str:
        c = self.calendar
        return (f"<Scenario {self.id}: {self.title!r}, {c.n} {c.step} steps from {c.start}, "
                f"{len(self.quantities)} values, from {', '.join(Path(f).name for f in self.files)}>")

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data

    @property
    def files(self) -> list[str]:
        return [str(f) for f in self.doc.files]

    def inputs(self) -> dict[str, Parameter]:
        """Every parameter the engines read: registry entries (with the inputs of derived ones)
        and the scenario's levers and cited overrides, by id."""
        out: dict[str, Parameter] = {}
        for q in self.quantities.values():
            if q.source == "param":
                for pid in self.registry.closure([q.pid]):
                    out[pid] = self.registry[pid]
            else:
                out[q.pid] = q.param
        return out

    def params(self) -> list[Parameter]:
        """Every parameter the scenario uses (its inputs, and the claims it reports), by id."""
        out = self.inputs()
        for c in self.data.get("claims", []) or []:
            if c.get("param") in self.registry:
                out[c["param"]] = self.registry[c["param"]]
        return [out[k] for k in sorted(out)]


# ---- walking quantities -----------------------------------------------------------------------

def iter_quantities(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every quantity mapping in a document, with its key path."""
    if is_quantity(data):
        yield path, data
    elif isinstance(data, dict):
        for k, v in data.items():
            if path == () and k == "claims":  # claims name registry ids to compare with, not inputs
                continue
            yield from iter_quantities(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_quantities(v, path + (i,))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10]
    return v


# ---- schema -----------------------------------------------------------------------------------

def _schema_problems(doc: Document) -> tuple[list[Problem], list[tuple]]:
    """The schema's problems, and the key paths they make unusable for the semantic checks."""
    import jsonschema

    schema = scenario_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    problems, bad = [], []
    for err in sorted(validator.iter_errors(_jsonable(doc.data)), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(_explain(doc, err))
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            bad += [path + (k,) for k in err.instance if k not in err.schema.get("properties", {})]
        elif err.validator != "required" or is_quantity(err.instance):
            bad.append(path)
    return problems, bad


def _overlaps(path: tuple, bad: list[tuple]) -> bool:
    return any(path[:len(b)] == b or b[:len(path)] == path for b in bad)


def _explain(doc: Document, err: Any) -> list[Problem]:
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []
        out = []
        for k in extra:
            near = get_close_matches(str(k), allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{near[0]}'?" if near else "allowed keys: " + ", ".join(allowed)
            out.append(doc.problem(path + (k,), f"unknown key '{k}'", hint, key=True))
        return out
    if err.validator == "oneOf" and isinstance(err.instance, dict) and "provenance" in str(err.schema.get("description", "")):
        keys = set(err.instance)
        if "param" in keys:
            hint = "a registry reference is just {param: some.id}"
        elif "lever" in keys and _numeric_text(err.instance.get("lever")):
            hint = (f"YAML reads {show(err.instance['lever'], 30)} as text, not a number (YAML 1.1 wants a dot and a "
                    f"signed exponent: write 1.0e+3, or 1000)")
        elif "value" in keys and _numeric_text(err.instance.get("value")):
            hint = (f"YAML reads {show(err.instance['value'], 30)} as text, not a number (YAML 1.1 wants a dot and a "
                    f"signed exponent: write 1.0e+3, or 1000)")
        elif "lever" in keys:
            hint = "a lever needs {lever: VALUE, unit: UNIT, why: TEXT}"
        elif "value" in keys:
            hint = "a cited override needs {value: V, unit: U, cite: {source, locator, quote}}"
        else:
            hint = "write {param: ID}, {lever: V, unit: U, why: ..} or {value: V, unit: U, cite: {...}}"
        return [doc.problem(path, "not a valid quantity", hint)]
    if err.validator == "oneOf" and not isinstance(err.instance, dict) and "provenance" in str(err.schema.get("description", "")):
        return [doc.problem(path, f"bare value {show(err.instance, 60)} where a quantity is expected",
                            "numbers carry provenance: {param: ID}, or {lever: V, unit: U, why: ..}")]
    if err.validator == "required":
        return [doc.problem(path, err.message.replace("'", "", 0), "add the missing key")]
    if err.validator == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return [doc.problem(path, f"wrong type: {_q(err.instance)} is not of type '{want}'",
                            f"give {'an' if want[0] in 'aeiou' else 'a'} {want} here")]
    if err.validator == "enum":
        return [doc.problem(path, f"{_q(err.instance)} is not one of {err.validator_value}",
                            "use one of the listed values")]
    if err.validator == "pattern":
        return [doc.problem(path, f"{_q(err.instance)} does not match the pattern {err.validator_value}",
                            "ids are lowercase letters, digits, '.', '_' and '-'")]
    if err.validator == "maxLength":
        return [doc.problem(path, f"{show(err.instance, 40)} is longer than {err.validator_value} characters",
                            "titles go on every plot and ids name folders: keep them short" if path[-1:] != ("description",)
                            else "put long notes in a README beside the scenario")]
    if err.validator == "format":
        return [doc.problem(path, f"{_q(err.instance)} is not a date", "write dates as YYYY-MM-DD")]
    if err.validator == "propertyNames":
        return [doc.problem(path, f"bad name: {show(err.instance, 60)} does not match {err.validator_value.get('pattern', '')}"
                            if isinstance(err.validator_value, dict) else f"bad name: {show(err.message, 100)}",
                            "codes are letters, digits and '_'")]
    if err.validator == "additionalProperties" or err.validator == "oneOf":
        return [doc.problem(path, show(err.message, 200), "see scenarios/scenario.schema.json for the format")]
    return [doc.problem(path, show(err.message, 200), "see scenarios/scenario.schema.json for the format")]


def _q(v: Any) -> str:
    """A value as echoed in a message: strings quoted, everything escaped and bounded."""
    return f"'{show(v, 60)}'" if isinstance(v, str) else show(v, 60)


def _numeric_text(v: Any) -> bool:
    """True for a string YAML 1.1 leaves as text although it reads as a number (1e3, 1.5e9, 1_000e2)."""
    if not isinstance(v, str):
        return False
    try:
        float(v.replace("_", ""))
        return True
    except ValueError:
        return False


# ---- quantities -------------------------------------------------------------------------------

def q_kind(raw: dict) -> str:
    """``param``, ``lever`` or ``override``: how a quantity mapping states its value."""
    return "param" if "param" in raw else "lever" if "lever" in raw else "override"


def _synth(pid: str, raw: dict, unit: str, source: str, file: str, line: int, col: int) -> Parameter:
    val = raw.get("lever", raw.get("value"))
    p = Parameter(id=pid, name=pid.split(":", 1)[-1], unit=unit, kind="lever" if source == "lever" else "cited",
                  value=val, file=file, line=line, col=col)
    rng = raw.get("range")
    if isinstance(rng, dict):
        p.low, p.high = rng.get("low"), rng.get("high")
    if source == "lever":
        p.rationale = str(raw.get("why", ""))
    else:
        c = raw.get("cite", {})
        p.evidence = [Evidence(source=str(c.get("source", "")), locator=str(c.get("locator", "")),
                               quote=str(c.get("quote", "")), quote_en=str(c.get("quote_en", "")),
                               reading=str(c.get("reading", "")))]
    return p


def _check_value(q: Quantity, v: Any, doc: Document, qpath: tuple, what: str, problems: list[Problem]) -> None:
    spec = q.spec
    if spec.unit == DATE:
        if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
            problems.append(doc.problem(qpath, f"{what} must be a date", f"got {show(v)} ({q.pid}); write YYYY-MM-DD, unquoted"))
        elif not DATE_WINDOW[0] <= v <= DATE_WINDOW[1]:
            problems.append(doc.problem(qpath, f"{what} {v} is outside {DATE_WINDOW[0]}..{DATE_WINDOW[1]}",
                                        f"{q.pid}: dates lie between 1900 and 2200; for 'never', leave the item out"))
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        problems.append(doc.problem(qpath, f"{what} must be a number", f"got {show(v)} ({q.pid})"))
        return
    if not math.isfinite(v) or abs(v) > 1e100:
        problems.append(doc.problem(qpath, f"{what} {show(v)} is not finite or beyond any scale ({q.pid})",
                                    "give a finite number in a sensible unit"))
        return
    x = v * q.factor
    unit = spec.alt_unit if q.alt else spec.unit
    if spec.low is not None and (x < spec.low or (spec.low_open and x == spec.low)):
        bound = f"> {spec.low:g}" if spec.low_open else f">= {spec.low:g}"
        problems.append(doc.problem(qpath, f"{what} {v:g} {show(q.param.unit, 60)} is out of range: must be {bound} {unit}",
                                    f"{q.pid}: {spec.what}" if spec.what else q.pid))
    if spec.high is not None and x > spec.high:
        problems.append(doc.problem(qpath, f"{what} {v:g} {show(q.param.unit, 60)} is out of range: must be <= {spec.high:g} {unit}",
                                    f"{q.pid}: {spec.what}" if spec.what else q.pid))


def _quantity(doc: Document, reg: Registry, scenario_id: str, qpath: tuple, raw: dict,
              problems: list[Problem]) -> Quantity | None:
    dotted = ".".join(str(x) for x in qpath)
    spec = spec_for(dotted)
    if spec is None:  # the schema admits it, so this is a programming gap; say so plainly
        problems.append(doc.problem(qpath, "no model input reads this value", "remove it; see the scenario format in docs/"))
        return None
    f, line, col = doc.where(qpath)
    if "param" in raw:
        pid = raw["param"]
        if pid not in reg:
            near = get_close_matches(pid, reg.ids(), n=1, cutoff=0.6)
            problems.append(doc.problem(qpath + ("param",), f"unknown parameter id '{pid}'",
                                        f"did you mean '{near[0]}'?" if near else "see 'batsim params' for the ids"))
            return None
        param, source = reg[pid], "param"
    else:
        source = q_kind(raw)
        unit = raw.get("unit", "")
        param = _synth(f"{scenario_id}:{dotted}", raw, unit, source, f, line, col)
        pid = param.id
        why = units.invalid_reason(unit) if isinstance(unit, str) else "not a string"
        if why:
            msg = f"unknown unit '{show(unit, 60)}'" if why.startswith("unknown unit") else \
                f"unit '{show(unit, 60)}' is not usable: {why}"
            problems.append(doc.problem(qpath + ("unit",), msg,
                                        f"this value wants a unit like '{_example_unit(spec)}'"))
            return None
    q = Quantity(path=dotted, source=source, pid=pid, spec=spec, param=param)
    if spec.unit == DATE:
        if param.unit != DATE:
            problems.append(doc.problem(qpath, f"{pid} has unit '{show(param.unit, 60)}' but this is a date",
                                        "use a parameter or lever with unit: date"))
            return None
    else:
        try:
            q.factor = units.factor(param.unit, spec.unit)
        except ValueError:
            if spec.alt_unit:
                try:
                    q.factor, q.alt = units.factor(param.unit, spec.alt_unit), True
                except ValueError:
                    q = None  # type: ignore[assignment]
            else:
                q = None  # type: ignore[assignment]
            if q is None:
                accepted = f"'{spec.unit}'" + (f" or '{spec.alt_unit}'" if spec.alt_unit else "")
                problems.append(doc.problem(qpath, f"{pid} has unit '{show(param.unit, 60)}', which cannot be converted to {accepted}",
                                            f"give this value in a unit like '{_example_unit(spec)}'"))
                return None
    n0 = len(problems)
    if param.kind != "derived":
        _check_value(q, param.value, doc, qpath, "value", problems)
        for end in ("low", "high"):
            if getattr(param, end) is not None:
                _check_value(q, getattr(param, end), doc, qpath, f"range.{end}", problems)
    if source == "lever" and len(problems) == n0:   # a value out of the slot's bounds is reported once
        _lever_range(q, raw, doc, reg, qpath, problems)
    return q


def _lever_range(q: Quantity, raw: dict, doc: Document, reg: Registry, qpath: tuple, problems: list[Problem]) -> None:
    """A lever that replaces a registry entry stays within the range the entry declares, unless it is
    marked ``what_if: true`` (then its rationale, and so the manifest, says it lies outside)."""
    pid = doc.replaced.get(tuple(qpath))
    entry = reg[pid] if pid in reg else None
    v = q.param.value
    if entry is None or entry.kind == "derived" or entry.low is None or entry.high is None:
        return
    try:
        if entry.is_date:
            if not isinstance(v, dt.date):
                return
            outside, shown = not entry.low <= v <= entry.high, f"{v}"
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                return
            x = v * units.factor(q.param.unit, entry.unit)
            outside, shown = not entry.low - 1e-9 * abs(entry.low) <= x <= entry.high + 1e-9 * abs(entry.high), \
                f"{x:g} {entry.unit}"
    except (ValueError, TypeError):
        return   # a unit or type problem is reported elsewhere
    if not outside:
        return
    rng = f"{entry.low}..{entry.high}" + ("" if entry.is_date else f" {entry.unit}")
    if raw.get("what_if") is True:
        q.param.rationale = f"{q.param.rationale} [what-if: outside the range {rng} of {pid}]".strip()
        return
    problems.append(doc.problem(qpath + ("lever",), f"lever {shown} is outside the range {rng} that {pid} declares",
                                "keep it within the evidence's range, or mark a deliberate what-if with "
                                "'what_if: true' (the manifest then records it)"))


def _example_unit(spec: SlotSpec) -> str:
    return {"GWh/day": "GWh/year", "t/day": "t/year", "day": "day", "1/year": "1/year",
            "dimensionless": "dimensionless", "person": "person", "t/GWh": "t/GWh", "t": "t"}.get(spec.unit, spec.unit)


# ---- references between sections ----------------------------------------------------------------

def _refs(doc: Document, problems: list[Problem]) -> None:
    d = doc.data
    regions = set((d.get("regions") or {}).keys())
    materials = d.get("materials") or {}
    groups = set(((d.get("cells") or {}).get("intensity") or {}).keys())

    def need(value: Any, pool: set, path: tuple, what: str, extra: tuple = ()) -> None:
        if value in extra:
            return
        if value not in pool:
            near = get_close_matches(str(value), sorted(map(str, pool)), n=1, cutoff=0.5)
            problems.append(doc.problem(path, f"unknown {what} '{value}'",
                                        f"did you mean '{near[0]}'?" if near else f"known: {', '.join(sorted(map(str, pool))) or 'none'}"))

    if "importer" in d:
        need(d["importer"], regions, ("importer",), "region")
    for m, spec in materials.items():
        unit = spec.get("unit") if isinstance(spec, dict) else None
        if isinstance(unit, str) and not units.same_dimension(unit, "t"):
            problems.append(doc.problem(("materials", m, "unit"), f"material unit '{show(unit, 40)}' is not a mass unit",
                                        "materials are counted in tonnes: write unit: t (or kg, Mt)"))
        if isinstance(spec, dict) and "group" in spec:
            need(spec["group"], groups, ("materials", m, "group"), "group (a key of cells.intensity)")
    for g in groups:
        base = [m for m, s in materials.items() if isinstance(s, dict) and s.get("group") == g and "max_share" not in s]
        if len(base) > 1:
            problems.append(doc.problem(("cells", "intensity", g), f"group '{g}' has {len(base)} materials without "
                                        f"max_share ({', '.join(base)})", "all but one material of a group need "
                                        "max_share (they are used first, up to it); the last fills the rest"))
    for g in groups:
        if not any(isinstance(s, dict) and s.get("group") == g for s in materials.values()):
            problems.append(doc.problem(("cells", "intensity", g), f"no material fills group '{g}'",
                                        "add a material with this group, or remove the group"))
    for m, origins in (d.get("supply") or {}).items():
        need(m, set(materials), ("supply", m), "material")
        for o in (origins or {}):
            need(o, regions, ("supply", m, o), "region")
        if m not in (d.get("inventory") or {}):
            problems.append(doc.problem(("supply", m), f"material '{m}' has supply but no inventory entry",
                                        f"add inventory.{m} with initial_days and target_days"))
    for m in (d.get("inventory") or {}):
        need(m, set(materials), ("inventory", m), "material")
    for m in (d.get("reserves") or {}):
        need(m, set(materials), ("reserves", m), "material")
    for i, pr in enumerate(d.get("pipeline") or []):
        for key in ("region", "product", "capacity", "online"):
            if key not in pr:
                problems.append(doc.problem(("pipeline", i), f"project '{pr.get('id')}' needs '{key}'",
                                            f"add {key}: to the project"))
        if "region" in pr:
            need(pr["region"], regions, ("pipeline", i, "region"), "region")
        if "product" in pr:
            need(pr["product"], set(materials), ("pipeline", i, "product"), "product (a material, or 'cells')", ("cells",))
            prod = pr["product"]
            if prod in materials and "region" in pr and pr["region"] not in ((d.get("supply") or {}).get(prod) or {}):
                problems.append(doc.problem(("pipeline", i, "region"), f"project '{pr.get('id')}' makes '{prod}' in "
                                            f"'{pr['region']}', but supply.{prod} has no entry for '{pr['region']}'",
                                            f"add supply.{prod}.{pr['region']} with share, capacity and lead_time"))
    pol = d.get("policies") or {}
    dest_codes = set(d.get("destinations") or {}) or ({d["importer"]} if "importer" in d else set())
    dest_codes |= set(((d.get("market") or {}).get("importers") or {}))   # other importers may be targeted
    for i, c in enumerate(pol.get("export_controls") or []):
        base = ("policies", "export_controls", i)
        for key in ("origin", "material"):
            if key not in c:
                problems.append(doc.problem(base, f"export control '{c.get('id')}' needs '{key}'",
                                            f"add {key}: to the control"))
        if "origin" in c:
            need(c["origin"], regions, base + ("origin",), "region")
        if "material" in c:
            need(c["material"], set(materials), base + ("material",), "material")
        if "destination" in c:
            need(c["destination"], regions | dest_codes, base + ("destination",), "region or destination", ("all",))
        _control_refs(doc, c, base, dest_codes | {"all", d.get("importer")}, problems)
    for i, r in enumerate(pol.get("sourcing_rules") or []):
        base = ("policies", "sourcing_rules", i)
        if "material" not in r:
            problems.append(doc.problem(base, f"sourcing rule '{r.get('id')}' needs 'material'",
                                        "name the material the rule applies to, e.g. material: graphite"))
        if "material" in r:
            need(r["material"], set(materials), base + ("material",), "material")
        for j, o in enumerate(r.get("excluded_origins") or []):
            need(o, regions, base + ("excluded_origins", j), "region")
    for i, t in enumerate(pol.get("tariffs") or []):
        base = ("policies", "tariffs", i)
        for key in ("origin", "material"):
            if key not in t:
                problems.append(doc.problem(base, f"tariff '{t.get('id')}' needs '{key}'",
                                            f"add {key}: (a {'region code' if key == 'origin' else 'material'})"))
        if "origin" in t:
            need(t["origin"], regions, base + ("origin",), "region")
        if "material" in t:
            need(t["material"], set(materials), base + ("material",), "material")
        sup = d.get("supply") or {}
        if (isinstance(t.get("origin"), str) and isinstance(t.get("material"), str) and t["origin"] in regions
                and t["material"] in sup and t["origin"] not in (sup.get(t["material"]) or {})):
            problems.append(doc.problem(base, f"tariff '{t.get('id')}' is on {t['material']} from {t['origin']}, "
                                        "a route the scenario has no supply for",
                                        f"add supply.{t['material']}.{t['origin']}, or remove the tariff"))


def _control_refs(doc: Document, c: dict, base: tuple, codes: set, problems: list[Problem]) -> None:
    """An export control states one form (regime and dates, or dated phases) and what its regimes need."""
    lic = set(c.get("licence") or {})
    if "phases" in c:
        for key in ("regime", "effective", "ends", "suspensions"):
            if key in c:
                problems.append(doc.problem(base + (key,), f"a control with 'phases' cannot also have '{key}'",
                                            "state each regime and its dates as a phase (docs/controls.md)", key=True))
        forms = [(base + ("phases", j), ph) for j, ph in enumerate(c["phases"])]
    elif "regime" not in c:
        problems.append(doc.problem(base, f"export control '{c.get('id')}' needs 'regime' or 'phases'",
                                    "add regime: none|licence|quota|ban with effective:, or a list of dated "
                                    "phases: (docs/controls.md)"))
        forms = []
    else:
        forms = [(base, {"regime": c["regime"]})]
        if c["regime"] in ("licence", "quota", "ban") and "effective" not in c:
            problems.append(doc.problem(base, f"a '{c['regime']}' control needs an 'effective' date",
                                        "add effective: {param: ...} or a date lever"))
    for where, ph in forms:
        regime = ph.get("regime")
        own = set(ph.get("licence") or {}) if where is not base else set()
        terms = own | lic
        if regime == "licence" and not {"capacity_share", "approval", "decision_days"} <= terms:
            problems.append(doc.problem(where, "a licence regime needs licence: {capacity_share, approval, decision_days}",
                                        "in the phase, or in the control's licence: block that phases inherit"))
        for a, b in (("capacity_share_final", "capacity_tau_days"), ("capacity_tau_days", "capacity_share_final")):
            stated = a in own if where is not base else a in lic
            if regime == "licence" and stated and b not in terms and (where is not base or not own):
                problems.append(doc.problem(where + ("licence", a), f"licence '{a}' needs '{b}' too",
                                            "capacity adapts from capacity_share to capacity_share_final "
                                            "with time constant capacity_tau_days", key=True))
        if regime == "quota" and "quota" not in ph and "quota" not in c:
            problems.append(doc.problem(where, "a quota regime needs 'quota'",
                                        "give the phase (or the control) quota: allowed exports, e.g. in t/year"))
        for j, code in enumerate(ph.get("destinations") or []):
            if code not in codes:
                near = get_close_matches(str(code), sorted(map(str, codes)), n=1, cutoff=0.5)
                problems.append(doc.problem(where + ("destinations", j), f"unknown destination '{code}'",
                                            f"did you mean '{near[0]}'?" if near else
                                            "known: " + ", ".join(sorted(map(str, codes)))))
    if "phases" in c and lic and any(ph.get("regime") == "licence" for ph in c["phases"]):
        for a, b in (("capacity_share_final", "capacity_tau_days"), ("capacity_tau_days", "capacity_share_final")):
            if a in lic and b not in lic and not any(b in (ph.get("licence") or {}) for ph in c["phases"]):
                problems.append(doc.problem(base + ("licence", a), f"licence '{a}' needs '{b}' too",
                                            "capacity adapts from capacity_share to capacity_share_final "
                                            "with time constant capacity_tau_days", key=True))


def _date_order(doc: Document, qs: dict[str, Quantity], problems: list[Problem]) -> None:
    def val(path: str) -> Any:
        q = qs.get(path)
        return q.param.value if q is not None and q.param.kind != "derived" else None

    def before(a: str, b: str, msg: str) -> None:
        va, vb = val(a), val(b)
        if isinstance(va, dt.date) and isinstance(vb, dt.date) and va > vb:
            problems.append(doc.problem(tuple(_split(b)), f"{msg} ({va} is after {vb})",
                                        f"check the dates of {a} and {b}"))

    for i, c in enumerate((doc.data.get("policies") or {}).get("export_controls") or []):
        b = f"policies.export_controls.{i}"
        before(f"{b}.announced", f"{b}.effective", "announced must not be after effective")
        before(f"{b}.effective", f"{b}.ends", "effective must not be after ends")
        for j, _ in enumerate(c.get("suspensions") or []):
            before(f"{b}.suspensions.{j}.start", f"{b}.suspensions.{j}.end", "a suspension must start before it ends")
        _phase_order(doc, c, b, val, problems)
    for i, _ in enumerate(doc.data.get("pipeline") or []):
        before(f"pipeline.{i}.announced", f"pipeline.{i}.online", "announced must not be after online")


def _phase_order(doc: Document, c: dict, b: str, val: Any, problems: list[Problem]) -> None:
    """Each phase ends after it starts; two phases for a common destination do not overlap (nominal dates)."""
    seen: list[tuple[int, Any, Any, set]] = []
    for j, ph in enumerate(c.get("phases") or []):
        s0, s1 = val(f"{b}.phases.{j}.start"), val(f"{b}.phases.{j}.end")
        if isinstance(s0, dt.date) and isinstance(s1, dt.date) and s1 <= s0:
            problems.append(doc.problem(tuple(_split(f"{b}.phases.{j}.end")),
                                        f"phase {j} ends ({s1}) before it starts ({s0})", "a phase's end is after its start"))
            continue
        ann = val(f"{b}.announced")
        if j == 0 and isinstance(ann, dt.date) and isinstance(s0, dt.date) and ann > s0:
            problems.append(doc.problem(tuple(_split(f"{b}.announced")),
                                        f"announced must not be after the first phase starts ({ann} is after {s0})",
                                        "a control is announced on or before the day its first phase starts"))
        dests = {"all" if x == doc.data.get("importer") else x for x in ph.get("destinations") or ["all"]}
        if not isinstance(s0, dt.date):
            continue
        for k, t0, t1, other in seen:
            shared = "all" in dests or "all" in other or bool(dests & other)
            if shared and s0 < (t1 if t1 is not None else dt.date.max) and t0 < (s1 if s1 is not None else dt.date.max):
                problems.append(doc.problem(tuple(_split(f"{b}.phases.{j}.start")),
                                            f"phase {j} overlaps phase {k} for a common destination",
                                            "phases of one destination follow each other: end one before the next "
                                            "starts, or give them disjoint destinations"))
        seen.append((j, s0, s1 if isinstance(s1, dt.date) else None, dests))


MAX_ID = 100


def _names(doc: Document, problems: list[Problem]) -> None:
    """Ids become folder and file names and keys become CSV fields: checked whole (a JSON Schema
    pattern's '$' lets a trailing newline through in Python), bounded in length, no control characters."""
    def walk(v: Any, path: tuple) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and (len(k) > MAX_ID or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in k)):
                    problems.append(doc.problem(path + (k,), f"key '{show(k, 40)}' is not a usable name",
                                                f"names have at most {MAX_ID} characters and no control characters",
                                                key=True))
                if k == "id" and isinstance(x, str) and not (len(x) <= MAX_ID and re.fullmatch(SLUG_PATTERN, x)):
                    problems.append(doc.problem(path + (k,), f"id '{show(x, 40)}' is not a usable name",
                                                f"ids name output folders: lowercase letters, digits, '.', '_' and "
                                                f"'-', at most {MAX_ID} characters, starting with a letter or digit"))
                if not (path == () and k == "claims"):
                    walk(x, path + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + (i,))

    walk(doc.data, ())


def _split(path: str) -> list[Any]:
    return [int(x) if x.isdigit() else x for x in path.split(".")]


def _shares(doc: Document, qs: dict[str, Quantity], problems: list[Problem]) -> None:
    dests = doc.data.get("destinations") or {}
    vals = [qs.get(f"destinations.{k}.share") for k in dests]
    if dests and all(q is not None and q.param.kind != "derived" and isinstance(q.param.value, (int, float))
                     for q in vals):
        total = sum(q.param.value * q.factor for q in vals)  # type: ignore[union-attr]
        if abs(total - 1.0) > 1e-6:
            problems.append(doc.problem(("destinations",), f"destination shares sum to {total:g}, not 1",
                                        "they split the importer's demand across its destinations"))
    for m, origins in (doc.data.get("supply") or {}).items():
        total = 0.0
        for o in origins or {}:
            q = qs.get(f"supply.{m}.{o}.share")
            if q is None or q.param.kind == "derived" or not isinstance(q.param.value, (int, float)):
                return
            total += q.param.value * q.factor
        if abs(total - 1.0) > 1e-6:
            problems.append(doc.problem(("supply", m), f"preferred shares of '{m}' sum to {total:g}, not 1",
                                        "shares split each material's orders across origins"))


def compile_document(doc: Document, reg: Registry, check_cites: bool = True, nested: bool = False) -> Scenario:
    """Check ``doc`` completely against the schema, the registry and itself; BadInput lists all problems.

    Schema and semantic problems are reported together: the semantic checks skip only the parts
    the schema found malformed. ``check_cites=False`` leaves the ``cite:`` checks to the caller
    (the audit, which checks them with the seed texts too).
    """
    problems, bad = _schema_problems(doc)
    n_schema = len(problems)
    _names(doc, problems)
    d = doc.data
    for key in ("id", "calendar", "importer", "regions", "materials", "cells", "demand", "supply", "inventory"):
        if key not in d and not any(p.message.startswith(f"'{key}'") for p in problems):
            problems.append(doc.problem((), f"missing required section '{key}'",
                                        "a base scenario states it; did you mean to use 'extends:'?"))
    cal = None
    c = d.get("calendar")
    if isinstance(c, dict):
        for end in ("start", "end"):
            v = c.get(end)
            if isinstance(v, str) or isinstance(v, dt.datetime):
                problems.append(doc.problem(("calendar", end), f"{show(v)} is not read as a date",
                                            "write the date unquoted as YYYY-MM-DD (quoted, YAML reads it as text)"))
            elif isinstance(v, dt.date) and not DATE_WINDOW[0] <= v <= DATE_WINDOW[1]:
                problems.append(doc.problem(("calendar", end), f"{v} is outside {DATE_WINDOW[0]}..{DATE_WINDOW[1]}",
                                            "the model's calendars lie between 1900 and 2200"))
    if isinstance(c, dict) and all(type(c.get(k)) is dt.date and DATE_WINDOW[0] <= c[k] <= DATE_WINDOW[1]
                                   for k in ("start", "end")):
        if c["end"] <= c["start"]:
            problems.append(doc.problem(("calendar", "end"), f"end {c['end']} is not after start {c['start']}",
                                        "the calendar runs from start to a later end"))
        elif (c["end"] - c["start"]).days > 366 * 60:
            problems.append(doc.problem(("calendar", "end"), "calendar longer than 60 years",
                                        "split the question into shorter runs; the model's inputs do not reach further"))
        elif c.get("step") in ("day", "week", "month"):
            cal = Calendar(c["start"], c["end"], c["step"])
    sid = str(d.get("id", "scenario"))
    qs: dict[str, Quantity] = {}
    quantities = [(qp, raw) for qp, raw in iter_quantities(d) if not _overlaps(qp, bad)]
    for qpath, raw in quantities:
        q = _quantity(doc, reg, sid, qpath, raw, problems)
        if q is not None:
            qs[q.path] = q
    if check_cites:
        problems += cite_problems(doc, reg, [(qp, raw) for qp, raw in quantities if q_kind(raw) == "override"])
    try:  # on a document the schema rejected, these checks may meet shapes they cannot read
        _refs(doc, problems)
        _date_order(doc, qs, problems)
        _shares(doc, qs, problems)
        for i, cl in enumerate(d.get("claims") or []):
            if cl.get("param") not in reg:
                problems.append(doc.problem(("claims", i, "param"), f"unknown parameter id '{show(cl.get('param'), 60)}'",
                                            "see 'batsim params' for the ids"))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        if not n_schema:
            raise
    for pid in {q.pid for q in qs.values() if q.source == "param"}:
        try:
            reg.closure([pid])
        except (KeyError, ValueError) as exc:
            problems.append(doc.problem((), f"registry entry '{pid}' cannot be evaluated: {exc}",
                                        "check the entry's formula and inputs in calibration/parameters/"))
    importers: dict[str, Scenario] = {}
    if isinstance(d.get("market"), dict) and not nested and not _overlaps(("market",), bad):
        from .market import market_problems

        more, importers = market_problems(doc, reg, compile_document, problems)
        problems += more
    if cal is None and not problems:   # e.g. a calendar the schema accepted but no step
        problems.append(doc.problem(("calendar",), "calendar needs start, end (dates) and step",
                                    "e.g. calendar: {start: 2025-01-01, end: 2034-12-31, step: week}"))
    if problems:
        raise BadInput(dedupe_problems(problems))
    assert cal is not None
    return Scenario(id=sid, title=str(d.get("title", sid)), description=str(d.get("description", "")),
                    doc=doc, calendar=cal, quantities=qs, registry=reg, importers=importers)


def dedupe_problems(problems: list[Problem]) -> list[Problem]:
    """Each problem once (same place and message), in file and line order."""
    seen, out = set(), []
    for p in problems:
        k = (p.file, p.line, p.col, p.message)
        if k not in seen:
            seen.add(k)
            out.append(p)
    return sorted(out, key=lambda p: (p.file, p.line, p.col))


# ---- resolving values -------------------------------------------------------------------------

@dataclass
class Resolved:
    """Per-sample values: by parameter id (own units) and by slot path (engine units)."""

    samples: int
    by_id: dict[str, np.ndarray]
    slots: dict[str, np.ndarray]
    sampled: list[str] = field(default_factory=list)

    def slice(self, start: int, stop: int) -> "Resolved":
        """Samples ``start:stop`` (views, no copies): for running an ensemble in blocks."""
        return Resolved(samples=stop - start, by_id={k: v[start:stop] for k, v in self.by_id.items()},
                        slots={k: v[start:stop] for k, v in self.slots.items()}, sampled=self.sampled)


def param_stream(seed: int, pid: str) -> np.random.Generator:
    """The random stream of one parameter: independent of which other parameters are sampled."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(pid.encode())])


def resolve(scn: Scenario, samples: int = 1, seed: int = 0, given: dict[str, np.ndarray] | None = None,
            uncertain: bool | None = None) -> Resolved:
    """Values of every quantity for ``samples`` samples.

    With ``samples == 1`` (and ``uncertain`` not set) every parameter takes its nominal value;
    otherwise each parameter with a range is drawn from its distribution, one independent
    stream per parameter id. ``given`` fixes ids to supplied arrays (a sweep's design).
    Derived parameters are evaluated from their (possibly sampled) inputs.
    """
    given = dict(given or {})
    draw = samples > 1 if uncertain is None else uncertain
    by_id: dict[str, Any] = {}
    sampled: list[str] = []
    leaf_params = scn.inputs()
    unused = sorted(set(given) - set(leaf_params))
    if unused:  # a value for a parameter the scenario never reads would silently do nothing
        raise ValueError(f"scenario '{scn.id}' does not use {', '.join(unused)}")
    for pid, p in leaf_params.items():
        if pid in given or p.kind == "derived":
            continue
        if draw and p.uncertain:
            u = param_stream(seed, pid).random(samples)
            by_id[pid] = sample_values(p, u)
            sampled.append(pid)
        else:
            by_id[pid] = p.value
    for pid, v in given.items():
        by_id[pid] = np.asarray(v, dtype=float) if not isinstance(v, dt.date) else v
    derived = [pid for pid, p in leaf_params.items() if p.kind == "derived" and pid not in given]
    by_id.update(scn.registry.evaluate(derived, by_id))
    start = scn.calendar.start.toordinal()
    slots: dict[str, np.ndarray] = {}
    for path, q in scn.quantities.items():
        v = by_id[q.pid]
        if q.spec.unit == DATE:
            arr = np.asarray(float(v.toordinal()) if isinstance(v, dt.date) else v, dtype=float) - start
        else:
            arr = np.asarray(v, dtype=float) * q.factor
        slots[path] = np.broadcast_to(arr, (samples,)).astype(float)
    out = {k: np.broadcast_to(np.asarray(_num(v), dtype=float), (samples,)) for k, v in by_id.items()}
    return Resolved(samples=samples, by_id=out, slots=slots, sampled=sorted(sampled))


def _num(v: Any) -> Any:
    return float(v.toordinal()) if isinstance(v, dt.date) else v
