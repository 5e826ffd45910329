"""batsim run: validate a scenario, run it, write its result folder."""
from __future__ import annotations

import argparse
import sys

NAME = "run"
ORDER = 10
HELP = "run a scenario and write timeseries.csv, summary.json, manifest.json and plots/"
DESCRIPTION = """Run a scenario (validated first) and write OUT/<scenario-id>/:
  timeseries.csv   tidy: time, variable, region, material, unit, value (ensemble median)
  summary.json     KPIs of the importer in focus (--importer CODE; default the scenario's importer):
                   cell_output_shortfall_gwh, peak_shortfall_fraction, days_until_stockout,
                   recovery_date, jobs_at_risk_peak, sic_anode_share_end, ... and cited claims beside
                   them; "importer": CODE, and "regions": the same KPIs for every importing region
                   with price_index_peak and price_index_mean by material
  manifest.json    input files with sha256, every resolved parameter with its citation, versions, seed
  plots/*.png      supply by origin vs demand, inventory cover, shortfall, Si/C share (--format svg|pdf);
                   price index by material when the run records prices, shortfall by importer when
                   it has several importers
  kpis.parquet     --samples N > 1: one row per sample, every KPI; the printed table gives median,
                   mean, 5-95% and P(KPI > 0) for each KPI
  kpis.xlsx        --format xlsx: the KPI table and the time series as an Excel workbook
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
    p.add_argument("--importer", default=None, metavar="CODE",
                   help="the importing region whose KPIs summary.json reports at the top level (default: the "
                        "scenario's importer); every importer's are in its 'regions' section")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--samples", type=int, default=1, metavar="N",
                   help="Monte Carlo samples over parameter ranges (default: 1 = nominal values)")
    p.add_argument("--memory", default=None, metavar="SIZE",
                   help="memory budget of the stock-flow engine, e.g. 2GB or 512MiB (default 512MiB); it sets the "
                        "samples per block and must hold the time series kept (docs/performance.md)")
    p.add_argument("--no-plots", action="store_true", help="skip the plots (faster)")
    p.add_argument("--format", default="png", metavar="FMT", type=output_formats,
                   help="plot format png, svg or pdf, and/or xlsx for an Excel workbook of KPIs and time series; "
                        "comma-separated, e.g. svg,xlsx (default: png)")
    p.add_argument("--quiet", action="store_true", help="print only the output folder")


HEADLINE = ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout", "recovery_date",
            "jobs_at_risk_peak", "jobs_at_risk_first_week", "sic_anode_share_end", "controlled_origin_share_end")


def output_formats(text: str) -> tuple[str, bool]:
    """'--format svg,xlsx' -> ('svg', True): the plot format (png by default) and whether to write xlsx."""
    from ...outputs.figstyle import FORMATS

    parts = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad_ones = [t for t in parts if t not in (*FORMATS, "xlsx")]
    if bad_ones or not parts:
        raise argparse.ArgumentTypeError(f"unknown format '{','.join(bad_ones) or text}' (choose from png, svg, pdf, "
                                         "xlsx; comma-separated)")
    plots = [t for t in parts if t in FORMATS]
    if len(plots) > 1:
        raise argparse.ArgumentTypeError(f"give one plot format, not {', '.join(plots)}")
    return (plots[0] if plots else "png"), "xlsx" in parts


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
    from ...stockflow.memory import MemoryBudgetError, budget_error, budget_option

    memory = budget_option(args.memory)
    import sim

    scn = sim.load_scenario(args.scenario)
    try:
        res = sim.run(scn, samples=args.samples, seed=args.seed, engine=args.engine, record="full",
                      replications=args.replications, workers=args.workers, memory=memory,
                      importer=args.importer)
    except MemoryBudgetError as exc:
        raise budget_error(exc) from None
    plot_format, xlsx = args.format
    folder = res.write(args.out, plots=not args.no_plots, argv=["batsim", *sys.argv[1:]], plot_format=plot_format,
                       xlsx=xlsx)
    if args.quiet:
        print(folder)
        return 0
    s = res.summary()
    print(f"{scn.id}: {scn.title}")
    if len(res.importers) > 1 or args.importer:
        print(f"  importer {res.importer} (of {', '.join(res.importers)}; each importer's KPIs in summary.json "
              "'regions')")
    if res.samples > 1:
        from ...outputs.tables import ensemble_table

        print(f"  {res.samples} {'samples' if args.engine == 'stockflow' else 'replications'}, seed {args.seed}; "
              f"per-sample KPIs in {folder}/kpis.parquet")
        print(ensemble_table(res), end="")
    else:
        for k in HEADLINE:
            print(f"  {k:32s} {s[k]}")
    for c in s.get("claims", []):
        print(f"  claim {c['param']} = {c['claim']} ({c['source']} {c['locator']}) vs model {c['kpi']} = {c['model']}")
    print(f"wrote {folder}/")
    return 0
