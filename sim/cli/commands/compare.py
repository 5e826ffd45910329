"""batsim compare: run scenarios with common random numbers; KPI table, parameter diff, overlay plots."""
from __future__ import annotations

import argparse

NAME = "compare"
ORDER = 12
HELP = "compare scenarios: KPI differences from the first, every parameter that differs, overlay plots"
DESCRIPTION = """Run two or more scenarios with the same seed (common random numbers: each uncertain
input shared by the scenarios gets the same draws) and write OUT/compare-<id1>-vs-<id2>.../:
  kpis.csv         scenario, kpi, unit, value, diff_vs_first, importer; with --samples N > 1 also p05, p50,
                   p95 and diff_p05/diff_p95, the 5-95% band of the paired per-sample differences
  params_diff.csv  every scenario quantity whose parameter or value differs: id, value, unit, kind
                   and citation per scenario
  plots/*          overlays: output_vs_demand, shortfall, inventory_cover, sic_share
  kpis.xlsx        with --format xlsx: the two tables and the time series
The folder is written atomically.

examples:
  batsim compare scenarios/graphite-controls-2025.yaml scenarios/graphite-ban.yaml
  batsim compare scenarios/baseline.yaml scenarios/graphite-controls-2025.yaml --samples 200 --format svg,xlsx"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .run import output_formats

    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="two or more scenario YAML files; the first is "
                   "the reference")
    p.add_argument("--samples", type=int, default=1, metavar="N",
                   help="Monte Carlo samples per scenario (default 1 = nominal values)")
    p.add_argument("--importer", default=None, metavar="CODE",
                   help="compare the KPIs of this importing region (default: each scenario's importer)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed shared by all scenarios (default 0)")
    p.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs/)")
    p.add_argument("--format", default="png", metavar="FMT", type=output_formats,
                   help="plot format png, svg or pdf, and/or xlsx; comma-separated (default: png)")
    p.add_argument("--no-plots", action="store_true", help="skip the overlay plots")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import bad

    if len(args.scenarios) < 2:
        raise bad("SCENARIO", "compare needs at least two scenarios", "give the reference first, then the others")
    if not 1 <= args.samples <= 5000:
        raise bad("--samples", f"--samples must be between 1 and 5,000 (got {args.samples})",
                  "use 'batsim sweep' for larger ensembles")
    import sim
    from ...analysis.compare import Comparison, labels_for
    from ...core.errors import BadInput

    scns, problems = [], []
    for path in args.scenarios:      # validate every file before running any
        try:
            scns.append(sim.load_scenario(path))
        except BadInput as exc:
            problems += exc.problems
    if problems:
        raise BadInput(problems)
    results = [sim.run(s, samples=args.samples, seed=args.seed, record="full", importer=args.importer) for s in scns]
    cmp = Comparison(results=results, labels=labels_for(scns), samples=args.samples, seed=args.seed)
    fmt, xlsx = args.format
    folder = cmp.write(args.out, fmt=fmt, xlsx=xlsx, plots=not args.no_plots)
    print(f"compared {len(scns)} scenarios, seed {args.seed}, {args.samples} sample(s) each"
          + (" (differences: median [5%, 95%] of paired samples)" if args.samples > 1 else ""))
    print(cmp.table_text(), end="")
    print(f"wrote {folder}/")
    return 0
