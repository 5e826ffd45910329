"""The shape of a compiled scenario as index arrays: origins, materials, groups, controls, projects.

Built once per scenario; the engine then works only with integer indices and per-sample arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..scenario.compile import Scenario


@dataclass(frozen=True)
class Control:
    """An export control on (origin, material) towards the importer."""

    id: str
    path: str            # slot prefix, e.g. 'policies.export_controls.0'
    origin: int
    material: int
    regime: str          # none | licence | quota | ban
    n_suspensions: int
    has_announced: bool
    has_ends: bool
    in_transit: str      # deliver | lose


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
    pol = d.get("policies") or {}
    for i, c in enumerate(pol.get("export_controls") or []):
        dest = c.get("destination", "all")
        if dest not in ("all", d["importer"]) or c.get("regime", "none") == "none":
            continue
        st.controls.append(Control(id=c["id"], path=f"policies.export_controls.{i}", origin=ridx[c["origin"]],
                                   material=midx[c["material"]], regime=c["regime"],
                                   n_suspensions=len(c.get("suspensions") or []), has_announced="announced" in c,
                                   has_ends="ends" in c, in_transit=c.get("in_transit", "deliver")))
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
