"""batsim validate: check scenario files (and explore policy files) and report every problem at once."""
from __future__ import annotations

import argparse

NAME = "validate"
ORDER = 20
HELP = "check scenario and policy files; every problem as FILE:LINE:COL: message (exit 2 if any)"
DESCRIPTION = """Check one or more scenarios against the format (scenarios/scenario.schema.json),
the parameter registry (ids, units, ranges) and themselves (regions, materials, date order).
A file with a top-level 'levers:' key is taken for a policy file of 'batsim explore'
(docs/explore.md) and checked as explore checks it: every option's patch and every combination
against the scenario given with --scenario, or else the one its 'scenario:' key names.
Every problem in every file is reported at once as FILE:LINE:COL: message (hint: ...).
Exit 0 when all are valid, 2 otherwise.

examples:
  batsim validate scenarios/graphite-controls-2025.yaml
  batsim validate scenarios/policies/us-anode-resilience.yaml
  batsim validate P.yaml --scenario scenarios/graphite-ban.yaml"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="+", metavar="FILE", help="scenario (or policy) YAML files")
    p.add_argument("--scenario", default=None, metavar="SCENARIO",
                   help="the scenario to check policy files against (default: each one's 'scenario:' key)")


def run(args: argparse.Namespace) -> int:
    import sim
    from ...core.errors import BadInput
    from ...explore.policy import is_policy_file

    problems = []
    for path in args.scenarios:
        try:
            if is_policy_file(path):
                from ...explore.run import check

                pf, combos = check(path, args.scenario)
                print(f"{path}: ok (policy file {pf.id}, {len(pf.levers)} levers, {len(combos)} policies over "
                      f"{combos[0].scenario.id})")
                continue
            scn = sim.load_scenario(path)
            print(f"{path}: ok ({scn.id}, {len(scn.quantities)} values, {scn.calendar.n} {scn.calendar.step} steps)")
        except BadInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise BadInput(problems)
    return 0
