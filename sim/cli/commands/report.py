"""batsim report: one self-contained HTML report of a run or sweep folder, for a reviewer's browser."""
from __future__ import annotations

import argparse

NAME = "report"
ORDER = 14
HELP = "write one self-contained report.html of a run or sweep folder (opens without a network)"
DESCRIPTION = """Write FOLDER/report.html (or --out FILE): the question, KPIs with their 5-95% bands, the
plots (embedded), the top drivers of each headline KPI (a sweep folder's own indices, else a
quick local sensitivity of the scenario in one vectorised run), every cited claim beside the
model's figure, the parameters with kind and citation (linked to the bibliography), the
assumptions, and the manifest's versions and input hashes; with --explore (or for an explore
folder) the policies' robustness table, the Pareto plot and the PRIM and CART boxes. No scripts and no external
files: it opens in any browser, offline.

examples (after 'batsim run scenarios/graphite-controls-2025.yaml'):
  batsim report outputs/graphite-controls-2025
  batsim report outputs/graphite-controls-2025 --out brief.html
  batsim report outputs/graphite-controls-2025 --explore outputs/us-anode-resilience-explore
  batsim report outputs/us-anode-resilience-explore"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="RUN_OR_SWEEP_DIR", help="a folder written by 'batsim run' or 'batsim sweep'")
    p.add_argument("--out", default=None, metavar="FILE", help="where to write (default: FOLDER/report.html)")
    p.add_argument("--explore", action="append", default=None, metavar="EXPLORE_DIR",
                   help="add the section of a 'batsim explore' folder (repeatable); FOLDER itself may be one")
    p.add_argument("--no-drivers", action="store_true", help="skip the local sensitivity of a run folder (faster)")


def run(args: argparse.Namespace) -> int:
    from ...analysis.report_html import write_report

    path = write_report(args.folder, args.out, drivers=not args.no_drivers, explore=args.explore)
    print(f"wrote {path}")
    return 0
