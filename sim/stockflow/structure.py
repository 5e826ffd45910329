"""The shape of a compiled scenario as index arrays: origins, materials, groups, controls, projects.

Built once per scenario; the engine then works only with integer indices and per-sample arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..scenario.compile import Scenario


LICENCE_TERMS = ("capacity_share", "capacity_share_final", "capacity_tau_days", "basis_smoothing_days",
                 "approval", "decision_days", "decision_cv")


@dataclass(frozen=True)
class Phase:
    """One dated regime of an export control, for some destinations (docs/controls.md).

    Dates and terms are slot paths (their values are per sample); a phase listed later overrides
    an earlier one where both apply (the old form's suspensions compile to such ``none`` phases).
    """

    regime: str                          # none | licence | quota | ban
    start: str | None                    # slot path of the start date; None: from the calendar start
    end: str | None                      # slot path of the end date; None: open-ended
    dests: tuple[int, ...]               # destination indices the phase applies to
    terms: tuple[tuple[str, str], ...]   # licence term -> slot path (the phase's own, else the control's)
    quota: str | None = None
    basis: str = "pre_control"           # pre_control | applications | demand

    def term(self, name: str) -> str | None:
        """Slot path of licence term ``name``, or None when neither phase nor control states it."""
        return dict(self.terms).get(name)

    @property
    def binds(self) -> bool:
        return self.regime != "none"


@dataclass(frozen=True)
class Control:
    """An export control on (origin, material) towards the importer, as a list of dated phases."""

    id: str
    path: str            # slot prefix, e.g. 'policies.export_controls.0'
    origin: int
    material: int
    regime: str          # the old form's regime, or 'phases'
    n_suspensions: int
    has_announced: bool
    has_ends: bool
    in_transit: str      # deliver | lose
    phases: tuple[Phase, ...] = ()

    @property
    def has_licence(self) -> bool:
        return any(p.regime == "licence" for p in self.phases)


@dataclass(frozen=True)
class Project:
    """A capacity project: adds material supply at an origin, or cell capacity at the importer."""

    id: str
    path: str
    product: str         # material name or 'cells'
    origin: int          # region index (for materials)
    material: int        # material index, -1 for cells
    in_cell_units: bool  # capacity given in GWh/day (cell-equivalent) rather than t/day


@dataclass(frozen=True)
class SourcingRule:
    id: str
    path: str
    material: int
    excluded: tuple[int, ...]
    n_steps: int


@dataclass(frozen=True)
class Tariff:
    id: str
    path: str
    origin: int
    material: int


@dataclass
class Structure:
    """Names and indices of everything the engine loops or indexes over."""

    regions: list[str]
    importer: int
    materials: list[str]
    groups: list[str]
    group_of: list[int]                  # material -> group index
    substitutes: list[int]               # materials with a max_share (used first within their group)
    segments: list[str]
    supplied: list[tuple[int, int]]      # (origin, material) pairs with a supply entry
    controls: list[Control] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    rules: list[SourcingRule] = field(default_factory=list)
    tariffs: list[Tariff] = field(default_factory=list)
    reserves: list[int] = field(default_factory=list)
    destinations: list[str] = field(default_factory=list)        # the importer's destinations (codes)
    destination_shares: list[str | None] = field(default_factory=list)  # slot paths; None: the one destination

    @property
    def D(self) -> int:
        return len(self.destinations)

    @property
    def R(self) -> int:
        return len(self.regions)

    @property
    def M(self) -> int:
        return len(self.materials)

    @property
    def G(self) -> int:
        return len(self.groups)


def build_structure(scn: Scenario) -> Structure:
    """Index the scenario's regions, materials, groups, policies and projects."""
    d = scn.data
    regions = list(d["regions"])
    materials = list(d["materials"])
    groups = list(d["cells"]["intensity"])
    ridx = {r: i for i, r in enumerate(regions)}
    midx = {m: i for i, m in enumerate(materials)}
    group_of = [groups.index(d["materials"][m]["group"]) for m in materials]
    subs = [midx[m] for m in materials if "max_share" in d["materials"][m]]
    supplied = [(ridx[o], midx[m]) for m, origins in d["supply"].items() for o in origins]
    st = Structure(regions=regions, importer=ridx[d["importer"]], materials=materials, groups=groups,
                   group_of=group_of, substitutes=subs, segments=list(d["demand"]["segments"]), supplied=supplied)
    dests = d.get("destinations") or {}
    st.destinations = list(dests) or [d["importer"]]
    st.destination_shares = [f"destinations.{k}.share" for k in dests] or [None]
    pol = d.get("policies") or {}
    for i, c in enumerate(pol.get("export_controls") or []):
        ctl = _control(c, f"policies.export_controls.{i}", d["importer"], st, ridx, midx)
        if ctl is not None:
            st.controls.append(ctl)
    for i, p in enumerate(d.get("pipeline") or []):
        path = f"pipeline.{i}"
        q = scn.quantities[f"{path}.capacity"]
        if p["product"] == "cells":
            st.projects.append(Project(p["id"], path, "cells", ridx[p["region"]], -1, True))
        else:
            st.projects.append(Project(p["id"], path, p["product"], ridx[p["region"]], midx[p["product"]], q.alt))
    for i, r in enumerate(pol.get("sourcing_rules") or []):
        st.rules.append(SourcingRule(r["id"], f"policies.sourcing_rules.{i}", midx[r["material"]],
                                     tuple(ridx[o] for o in r.get("excluded_origins") or []),
                                     len(r.get("schedule") or [])))
    for i, t in enumerate(pol.get("tariffs") or []):
        st.tariffs.append(Tariff(t["id"], f"policies.tariffs.{i}", ridx[t["origin"]], midx[t["material"]]))
    st.reserves = [midx[m] for m in (d.get("reserves") or {})]
    return st


def destination_indices(codes: list[str] | None, importer: str, destinations: list[str]) -> tuple[int, ...] | None:
    """Indices of destination ``codes`` ('all' or the importer's code: every one); None if one is unknown."""
    if not codes:
        return tuple(range(len(destinations)))
    out: set[int] = set()
    for code in codes:
        if code in ("all", importer):
            out.update(range(len(destinations)))
        elif code in destinations:
            out.add(destinations.index(code))
        else:
            return None
    return tuple(sorted(out))


def _terms(path: str, own: dict, inherited: dict, base: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, f"{path}.licence.{k}" if k in own else f"{base}.licence.{k}")
                 for k in LICENCE_TERMS if k in own or k in inherited)


def _control(c: dict, path: str, importer: str, st: Structure, ridx: dict, midx: dict) -> Control | None:
    """The control ``c`` as dated phases; None when it does not act on this importer's destinations."""
    scope = destination_indices([c.get("destination", "all")], importer, st.destinations)
    if scope is None or c["origin"] == importer:
        return None                                    # aimed at another importer, or its own exports
    lic = c.get("licence") or {}
    phases: list[Phase] = []
    if "phases" in c:
        for j, ph in enumerate(c["phases"]):
            p = f"{path}.phases.{j}"
            own = ph.get("licence") or {}
            mine = [x for x in ph.get("destinations") or [] if x in ("all", importer) or x in st.destinations]
            dests = (destination_indices(mine, importer, st.destinations) if mine else ()) \
                if ph.get("destinations") else scope
            dests = tuple(x for x in (dests or ()) if x in scope)
            phases.append(Phase(ph["regime"], f"{p}.start", f"{p}.end" if "end" in ph else None, dests,
                                _terms(p, own, lic, path),
                                f"{p}.quota" if "quota" in ph else (f"{path}.quota" if "quota" in c else None),
                                own.get("capacity_basis", lic.get("capacity_basis", "pre_control"))))
        regime = "phases"
    else:
        regime = c.get("regime", "none")
        if regime == "none":
            return None
        phases.append(Phase(regime, f"{path}.effective", f"{path}.ends" if "ends" in c else None, scope,
                            _terms(path, {}, lic, path), f"{path}.quota" if "quota" in c else None,
                            lic.get("capacity_basis", "pre_control")))
        for j, _ in enumerate(c.get("suspensions") or []):
            phases.append(Phase("none", f"{path}.suspensions.{j}.start", f"{path}.suspensions.{j}.end", scope, ()))
    if not any(p.binds and p.dests for p in phases):
        return None
    return Control(id=c["id"], path=path, origin=ridx[c["origin"]], material=midx[c["material"]], regime=regime,
                   n_suspensions=len(c.get("suspensions") or []), has_announced="announced" in c,
                   has_ends="ends" in c, in_transit=c.get("in_transit", "deliver"), phases=tuple(phases))
