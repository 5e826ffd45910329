"""batsim explain: where one number comes from, down to the quoted source."""
from __future__ import annotations

import argparse

NAME = "explain"
ORDER = 35
HELP = "show a parameter's value, range, kind, source, locator, quote, derivation and the scenarios using it"
DESCRIPTION = """Show everything the registry knows about one parameter: value, unit, range, kind;
for a cited figure the source with its locator, the verbatim quote (original language and
English rendering) and how the figure was read; for a derived value the whole derivation
chain down to cited figures and assumptions; for an assumption its rationale and nearest
reference; and which shipped scenarios use it, override it or compare a KPI with it.
A scenario's lever or cited override is named '<scenario-id>:<path>' (see 'batsim params SCENARIO').
An unknown id exits 2 with the closest ids.

examples:
  batsim explain sic.displacement_effective
  batsim explain graphite.intensity --format json
  batsim explain graphite-ban:policies.export_controls.0.effective"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("param", metavar="PARAM_ID", help="a registry id, e.g. sic.displacement_ratio")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    import json

    from ...provenance.explain import explain_json, explain_text
    from ...provenance.registry import load_registry

    reg = load_registry()
    if args.format == "json":
        print(json.dumps(explain_json(reg, args.param), ensure_ascii=False, indent=2))
    else:
        print(explain_text(reg, args.param), end="")
    return 0
