"""batsim cite: the references a scenario's run uses, as BibTeX or CSL-JSON."""
from __future__ import annotations

import argparse

NAME = "cite"
ORDER = 45
HELP = "print the references a scenario uses (or the whole bibliography) as BibTeX or CSL-JSON"
DESCRIPTION = """Print the bibliography entries behind the values a scenario's run uses: the
evidence, nearest reference and calibration source of every registry entry it reads (inputs of
derived entries and claims it compares with included) and the sources of its cited overrides.
Without SCENARIO, the whole bibliography. Entries are sorted by id.

examples:
  batsim cite scenarios/graphite-controls-2025.yaml --format bibtex > refs.bib
  batsim cite --format csl-json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a scenario YAML file (default: all references)")
    p.add_argument("--format", choices=("bibtex", "csl-json"), default="bibtex", help="output format (default bibtex)")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import BadInput, Problem
    from ...provenance.bibliography import load_bibliography, require, to_bibtex, to_csl_json
    from ...paths import calibration_roots

    if args.scenario:
        import sim

        scn = sim.load_scenario(args.scenario)
        bib = require(load_bibliography(scn.registry.roots))
        ids = sorted({s for p in scn.params() for s in p.sources if s})
        missing = [s for s in ids if s not in bib]
        if missing:
            raise BadInput([Problem(args.scenario, 1, 1, f"source '{s}' is not in the bibliography",
                                    "run 'batsim audit' to see every citation problem") for s in missing])
    else:
        bib = require(load_bibliography(calibration_roots()))
        ids = bib.ids()
    entries = [bib.entries[s] for s in ids]
    print(to_bibtex(entries) if args.format == "bibtex" else to_csl_json(entries), end="")
    return 0
