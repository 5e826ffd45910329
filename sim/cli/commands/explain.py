"""batsim explain: where one number comes from, down to the quoted source."""
from __future__ import annotations

import argparse

NAME = "explain"
ORDER = 35
HELP = "where a number comes from: a parameter (source, quote, derivation) or a KPI (formula, arithmetic, drivers)"
DESCRIPTION = """Show everything the registry knows about one parameter: value, unit, range, kind;
for a cited figure the source with its locator, the verbatim quote (original language and
English rendering) and how the figure was read; for a derived value the whole derivation
chain down to cited figures and assumptions; for an assumption its rationale and nearest
reference; and which shipped scenarios use it, override it or compare a KPI with it.
A scenario's lever or cited override is named '<scenario-id>:<path>' (see 'batsim params SCENARIO').
An unknown id exits 2 with the closest ids.

Given a KPI name from summary.json (e.g. cell_output_shortfall_gwh) instead, it says how the
KPI is computed from the recorded series; with --scenario FILE also the arithmetic for a
nominal run of that scenario and its top drivers from a quick local sensitivity (every ranged
input nudged by ±10% of its range, one vectorised run), each with 'batsim explain PARAM'.

examples:
  batsim explain sic.displacement_effective
  batsim explain graphite.intensity --format json
  batsim explain graphite-ban:policies.export_controls.0.effective
  batsim explain cell_output_shortfall_gwh --scenario scenarios/graphite-controls-2025.yaml"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("param", metavar="PARAM_ID|KPI", help="a registry id, e.g. sic.displacement_ratio, or a KPI name "
                   "from summary.json, e.g. cell_output_shortfall_gwh")
    p.add_argument("--scenario", metavar="FILE", default=None,
                   help="for a KPI: the scenario whose nominal run is explained (arithmetic and drivers)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    import json

    from ...provenance.explain import explain_json, explain_text
    from ...provenance.registry import load_registry

    from ...provenance.explain_kpi import explain_kpi, explain_kpi_text, is_kpi, kpi_names

    if is_kpi(args.param):
        import sim

        scn = sim.load_scenario(args.scenario) if args.scenario else None
        info = explain_kpi(args.param, scn)
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str) if args.format == "json"
              else explain_kpi_text(info), end="\n" if args.format == "json" else "")
        return 0
    if args.scenario:
        from ...core.errors import bad

        raise bad("--scenario", f"--scenario applies to a KPI name; '{args.param}' is not one",
                  "KPIs: " + ", ".join(kpi_names()[:4]) + ", ... (see summary.json)")
    reg = load_registry()
    if args.format == "json":
        print(json.dumps(explain_json(reg, args.param), ensure_ascii=False, indent=2))
    else:
        print(explain_text(reg, args.param), end="")
    return 0
