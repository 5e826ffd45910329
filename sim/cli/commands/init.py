"""batsim init: start a study in a folder of your own (a scenario extending a shipped one, a README)."""
from __future__ import annotations

import argparse

NAME = "init"
ORDER = 5
HELP = "start a study folder: DIR/scenario.yaml extending the main shipped scenario, DIR/README.md"
DESCRIPTION = """Write a study folder that works anywhere (no batsim checkout needed):
  DIR/scenario.yaml        extends the shipped scenario graphite-controls-2025 by name, with
                           commented examples of a lever and of a cited override
  DIR/README.md            the next commands: validate, run, compare, report, sweep, audit
  DIR/calibration/         the study's own registry entries, bibliography and source passages,
                           read after the shipped ones and checked by 'batsim audit'
DIR must be new or empty: nothing is overwritten (exit 2 otherwise).

examples:
  batsim init my-study
  batsim init my-study --base graphite-ban"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="the study folder to create (new or empty)")
    p.add_argument("--base", metavar="NAME", default=None,
                   help="shipped scenario to extend (default: graphite-controls-2025)")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import BadInput, Problem
    from ...scenario.extends import shipped_names
    from ...study import MAIN_SCENARIO, init_study

    base = args.base or MAIN_SCENARIO
    names = shipped_names()
    if base not in names:
        from difflib import get_close_matches

        near = get_close_matches(base, names, n=1)
        raise BadInput([Problem("--base", 1, 1, f"'{base}' is not a shipped scenario",
                                (f"did you mean '{near[0]}'? " if near else "") + "shipped: " + ", ".join(names))])
    files = init_study(args.folder, base)
    for f in files:
        print(f"wrote {f}")
    print(f"next: cd {args.folder} && batsim validate scenario.yaml && batsim run scenario.yaml")
    return 0
