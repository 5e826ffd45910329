"""batsim audit: check that every number traces to its evidence; fail loudly when one does not."""
from __future__ import annotations

import argparse

NAME = "audit"
ORDER = 40
HELP = "check the registry: citations, verbatim quotes, units, ranges, formulas, scenarios (exit 1 with --strict)"
DESCRIPTION = """Audit the parameter registry and the shipped scenarios (or, in a study folder made by
'batsim init' or given as STUDY, the shipped registry plus the study's own entries,
bibliography, sources and scenarios), and print a coverage table
(entries per kind and file, quotes found, bibliography use, every assumption) and every problem
as FILE:LINE:COL: id: what is wrong (hint: how to fix).

Checks: ids, units and kinds parse; ids are unique; every evidence and nearest-reference source
is in the bibliography and no bibliography entry is orphaned; cited entries have source,
locator, quote, reading, and an English rendering of a non-English quote; ranges contain their
values; assumptions have a rationale and a range; derived formulas name known ids, have no
cycles and evaluate with units into their declared unit; every scenarios/*.yaml compiles
(units convert to the slot each value fills); and every quote appears verbatim (whitespace
aside) in its source text: external sources in calibration/sources/<id>.txt, seeds seedNNN in
--sources DIR as NNN_*.txt, where a 'para. N' locator must be the line holding the quote.

Exit status: 0, or with --strict 1 when any problem is found (the design's choice for a failed
audit); 2 for bad input (e.g. --sources is not a folder).

examples:
  batsim audit --sources ../shared/seeds --strict
  batsim audit my-study --strict
  batsim audit --format json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", nargs="?", metavar="STUDY",
                   help="a study folder (batsim init): audit the shipped registry plus the study's own entries, "
                        "bibliography, sources and scenarios (default: the study holding the working folder, if any)")
    p.add_argument("--sources", metavar="DIR", help="folder of the seed texts (NNN_*.txt), to check seed quotes")
    p.add_argument("--strict", action="store_true", help="exit 1 if any problem is found")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.add_argument("--scenarios", metavar="DIR", help="scenario folder to compile (default: scenarios/ beside calibration/)")


def run(args: argparse.Namespace) -> int:
    import json

    from ...provenance.audit import audit, format_text

    rep = audit(sources=args.sources, scenarios=args.scenarios, study=args.study)
    if args.format == "json":
        print(json.dumps(rep.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_text(rep), end="")
    if rep.problems:
        import sys

        n = len(rep.problems)
        print(f"batsim audit: {n} problem{'s' if n != 1 else ''} found" + ("" if args.strict else
              " (exit 0 without --strict)"), file=sys.stderr)
    return 1 if (args.strict and rep.problems) else 0
