"""batsim run: validate a scenario, run it, write its result folder."""
from __future__ import annotations

import argparse
import sys

NAME = "run"
ORDER = 10
HELP = "run a scenario and write timeseries.csv, summary.json, manifest.json and plots/"
DESCRIPTION = """Run a scenario (validated first) and write OUT/<scenario-id>/:
  timeseries.csv   tidy: time, variable, region, material, unit, value (ensemble median)
  summary.json     KPIs: cell_output_shortfall_gwh, peak_shortfall_fraction, days_until_stockout,
                   recovery_date, jobs_at_risk_peak, sic_anode_share_end, ... and cited claims beside them
  manifest.json    input files with sha256, every resolved parameter with its citation, versions, seed
  plots/*.png      supply by origin vs demand, inventory cover, shortfall, Si/C share
  events.csv       des/hybrid only: the first replication's events (time, kind, entity, quantity)
With --engine des|hybrid and --replications N, summary.json holds p05/p50/p95 over the
replications (days until stock-out, licence backlog, recovery date, ...).
The folder is written atomically: it appears complete or not at all. Re-running the same
scenario file replaces its own folder; if OUT/<scenario-id>/ holds the result of another
scenario file (same id), OUT/<scenario-id>-2/ (-3, ...) is written instead, with a note."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file, e.g. scenarios/graphite-controls-2025.yaml")
    p.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs/)")
    p.add_argument("--engine", default="stockflow", choices=["stockflow", "des", "hybrid"],
                   help="simulation engine: stockflow (deterministic), des (discrete events: lots, licence queue, "
                        "random delays) or hybrid (DES material and licensing over stock-flow capacity, learning "
                        "and demand); default: stockflow. See docs/des.md")
    p.add_argument("--replications", type=int, default=1, metavar="N",
                   help="des/hybrid: independent stochastic replications (default: 1); summary.json gets "
                        "p05/p50/p95 over them")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="des/hybrid: processes running replications (default: min(2, CPUs)); results do not "
                        "depend on it")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--samples", type=int, default=1, metavar="N",
                   help="Monte Carlo samples over parameter ranges (default: 1 = nominal values)")
    p.add_argument("--no-plots", action="store_true", help="skip the plots (faster)")
    p.add_argument("--quiet", action="store_true", help="print only the output folder")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import bad

    if args.samples < 1:
        raise bad("--samples", f"--samples must be at least 1 (got {args.samples})")
    if args.samples > 20_000:
        raise bad("--samples", f"--samples {args.samples} is more than a run keeps time series for (20,000)",
                  "use 'batsim sweep SCENARIO --method mc --samples N' for large ensembles")
    if args.replications < 1:
        raise bad("--replications", f"--replications must be at least 1 (got {args.replications})")
    if args.replications > 1 and args.engine == "stockflow":
        raise bad("--replications", "--replications needs --engine des or hybrid (the stock-flow engine is deterministic)")
    if args.samples > 1 and args.replications > 1 and args.samples != args.replications:
        raise bad("--samples", f"--samples {args.samples} and --replications {args.replications} differ",
                  "with both, replication i uses parameter sample i: give the same number, or only one of them")
    if args.workers is not None and args.workers < 1:
        raise bad("--workers", f"--workers must be at least 1 (got {args.workers})")
    import sim

    scn = sim.load_scenario(args.scenario)
    res = sim.run(scn, samples=args.samples, seed=args.seed, engine=args.engine, record="full",
                  replications=args.replications, workers=args.workers)
    folder = res.write(args.out, plots=not args.no_plots, argv=["batsim", *sys.argv[1:]])
    if args.quiet:
        print(folder)
        return 0
    s = res.summary()
    print(f"{scn.id}: {scn.title}")
    for k in ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout", "recovery_date",
              "jobs_at_risk_peak", "jobs_at_risk_first_week", "sic_anode_share_end", "controlled_origin_share_end"):
        print(f"  {k:32s} {s[k]}")
    for k, v in (s.get("quantiles") or {}).items():
        if args.engine != "stockflow" and v and k in ("days_until_stockout", "recovery_date", "licence_backlog_peak_t"):
            print(f"  {k:32s} p05 {v['p05']}  p50 {v['p50']}  p95 {v['p95']}  (defined in {v['defined_in']:.0%})")
    for c in s.get("claims", []):
        print(f"  claim {c['param']} = {c['claim']} ({c['source']} {c['locator']}) vs model {c['kpi']} = {c['model']}")
    print(f"wrote {folder}/")
    return 0
