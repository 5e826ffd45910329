"""batsim validate: check scenario files and report every problem at once."""
from __future__ import annotations

import argparse

NAME = "validate"
ORDER = 20
HELP = "check scenario files; every problem as FILE:LINE:COL: message (exit 2 if any)"
DESCRIPTION = """Check one or more scenarios against the format (scenarios/scenario.schema.json),
the parameter registry (ids, units, ranges) and themselves (regions, materials, date order).
Every problem in every file is reported at once as FILE:LINE:COL: message (hint: ...).
Exit 0 when all are valid, 2 otherwise."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario YAML files")


def run(args: argparse.Namespace) -> int:
    import sim
    from ...core.errors import BadInput

    problems = []
    for path in args.scenarios:
        try:
            scn = sim.load_scenario(path)
            print(f"{path}: ok ({scn.id}, {len(scn.quantities)} values, {scn.calendar.n} {scn.calendar.step} steps)")
        except BadInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise BadInput(problems)
    return 0
