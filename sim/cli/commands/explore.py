"""batsim explore: policy levers evaluated over common futures; robustness, Pareto front, PRIM."""
from __future__ import annotations

import argparse
import sys

NAME = "explore"
ORDER = 45
HELP = "evaluate policy levers over common sampled futures: regret, satisficing, Pareto front, PRIM boxes"
DESCRIPTION = """Evaluate every combination of the policy file's lever options over the same N
sampled futures of SCENARIO (common random numbers), and write OUT/<policy-id>-explore/:
  robustness.csv   policy, metric, value (rank, satisficing, regret, KPI percentiles, cost)
  pareto.csv       policy, its options, mean cost (USD), mean KPI, satisficing, on the front
  prim_boxes.csv   box, param, low, high, coverage, density (futures where the preferred policy fails)
  cart_boxes.csv   the same from a classification tree (CART): its leaves where most futures fail
  futures.parquet  the sampled futures (one column per parameter, in its unit)
  design/ results/ Parquet shards of (policy, future) rows, with checksums (resumable like sweeps)
  summary.json  manifest.json  plots/ (pareto, regret, prim_trajectory)
The policy file format is in docs/explore.md.

examples:
  batsim explore scenarios/graphite-controls-2025.yaml --policies scenarios/policies/us-anode-resilience.yaml --samples 1000
  batsim explore scenarios/graphite-controls-2025.yaml --policies P.yaml --samples 10000 --workers 2 --resume"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `batsim explore`."""
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("--policies", required=True, metavar="FILE", help="policy file (levers and options)")
    p.add_argument("--samples", type=int, default=None, metavar="N", help="sampled futures (default 1000)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default 0)")
    p.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs/)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted exploration")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (default: CPU count)")
    p.add_argument("--executor", default="local", choices=["local", "dask"], help="where chunks run (default: local)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address (with --executor dask)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="N", help="evaluations per task")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--format", default="png", choices=("png", "svg", "pdf"), help="plot format (default png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the exploration; print the preferred policy, its robustness and failure box, and the folder."""
    from ...core.errors import bad
    from ...explore.run import explore
    from ...sweep.evaluate import SweepError
    from .sweep import _interrupts

    if args.workers is not None and args.workers < 1:
        raise bad("--workers", f"--workers must be at least 1 (got {args.workers})")
    if args.scheduler is not None and args.executor != "dask":
        raise bad("--scheduler", "--scheduler is for the Dask executor", "add --executor dask")
    try:
        with _interrupts():
            res = explore(args.scenario, args.policies, samples=args.samples, seed=args.seed, out=args.out,
                          resume=args.resume, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                          chunk_size=args.chunk_size, plots=not args.no_plots, progress=not args.no_progress,
                          argv=["batsim", *sys.argv[1:]], plot_format=args.format)
    except SweepError as exc:
        print(f"batsim: explore stopped: {exc}", file=sys.stderr)
        return 1
    s = res.summary
    p = s["preferred"]
    print(f"{s['policy_file']}: {s['policies']} policies x {s['futures']:,} common futures of {s['scenario']}")
    thr = s["threshold"]
    lim = f"{thr['kpi']} <= {thr['max']}" if "max" in thr else f"{thr['kpi']} >= {thr['min']}"
    print(f"  preferred ({p['chosen']}): {p['policy']}")
    print(f"    satisficing P({lim}) = {p['satisficing']:.3f}; mean cost {p['cost_mean_usd'] / 1e6:,.0f} million USD; "
          f"{s['kpi']} mean {p['kpi_mean']:.4g}, p90 {p['kpi_p90']:.4g}; regret p90 {p['regret_p90']:.4g}")
    for b in s["boxes"]:
        lims = "; ".join(f"{k} in [{lo}, {hi}] {u}" for k, (lo, hi, u) in b["limits"].items())
        print(f"    fails (box {b['box']}, coverage {b['coverage']:.2f}, density {b['density']:.2f}) when {lims}")
    if not s["boxes"]:
        print(f"    no PRIM box: {p['failing_futures']} of {s['futures']} futures fail")
    for b in s["cart"][:2]:
        lims = "; ".join(f"{k} in [{lo}, {hi}] {u}" for k, (lo, hi, u) in b["limits"].items())
        print(f"    CART leaf {b['box']} (coverage {b['coverage']:.2f}, density {b['density']:.2f}): {lims}")
    print(f"wrote {res.folder}/")
    return 0
