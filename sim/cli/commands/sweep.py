"""batsim sweep: sensitivity analysis of a scenario over its parameter ranges."""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing.util as mp_util
import os
import signal
import sys
import threading
from typing import Iterator

NAME = "sweep"
ORDER = 40
HELP = "sweep uncertain parameters: OAT tornado, Monte Carlo / LHS fan charts, Sobol and Morris indices"
DESCRIPTION = """Sweep the uncertain parameters of a scenario (every input whose registry entry, or
lever, declares a range; --params to choose) on the stock-flow engine, and write
OUT/<scenario-id>-<method>/:
  manifest.json    settings, seeds, parameters, scenario and design hashes, finished chunks
  design/ results/ series/   Parquet shards, one per chunk (written atomically)
  indices.csv      kpi, param, index, value, ci_low, ci_high
  bands.csv        percentile bands of key time series (mc, lhs)
  summary.json     KPI statistics, failures, top parameters per KPI
  plots/*.png      tornado (oat), fan chart + KPI histograms (mc, lhs), Sobol bars, Morris mu*-sigma

methods (--samples means):
  oat      nominal, then each parameter at its registry low and high (2*D+1 runs; --samples ignored)
  mc       plain Monte Carlo: N samples (default 1000)
  lhs      Latin hypercube: N samples (default 1000)
  sobol    Saltelli/Sobol design, first and total order: N base samples, a power of two
           (another N is rounded up to the next power of two, with a note); N*(D+2) runs (default 1024)
  morris   N Morris trajectories on a 4-level grid, N*(D+1) runs (default 20)

executors:
  local    a process pool on this machine (--workers, default: one per CPU)
  dask     a Dask cluster: --scheduler tcp://HOST:PORT of a running scheduler (start one with
           'dask scheduler', and workers with batsim installed: 'dask worker tcp://HOST:PORT');
           without --scheduler a local cluster of --workers processes is started

Results are identical whatever the executor and the number of workers. Ctrl-C stops a sweep
within a few seconds, keeping its finished chunks (a second Ctrl-C exits at once); workers also
end within a second or so if the sweep process is killed. Rerun the same command with --resume:
finished chunks are not redone, after checking each shard against the sha256 and sample ids in
the manifest (a damaged or foreign shard is recomputed, with a note); stray temporary files are
removed. If the scenario, the registry or the design changed, --resume refuses (exit 2) and
nothing is touched. One sweep at a time writes a folder (a second one waits 10 s, then exits 2);
a sweep folder that is a symbolic link is refused (exit 2).

examples:
  batsim sweep scenarios/graphite-controls-2025.yaml --method sobol --samples 1024
  batsim sweep scenarios/graphite-controls-2025.yaml --method oat
  batsim sweep scenarios/graphite-controls-2025.yaml --method mc --samples 100000 --workers 8
  batsim sweep scenarios/graphite-controls-2025.yaml --method morris --params calibrated.episodes.licence_approval_share,controls.diversion
  batsim sweep scenarios/graphite-controls-2025.yaml --method mc --executor dask --scheduler tcp://10.0.0.5:8786"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `batsim sweep`."""
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("--method", required=True, choices=["oat", "mc", "lhs", "sobol", "morris"],
                   help="sampling and analysis method")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="samples (mc, lhs), base samples (sobol) or trajectories (morris); see above")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: 0)")
    p.add_argument("--params", default=None, metavar="ID,...",
                   help="comma-separated parameter ids to vary (default: every input with a range)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (default: CPU count)")
    p.add_argument("--executor", default="local", choices=["local", "dask"], help="where chunks run (default: local)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs/)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted sweep without redoing finished chunks")
    p.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="evaluations per task (default: about 1/32 of the sweep, 1024 to 4096)")
    p.add_argument("--memory", default=None, metavar="SIZE",
                   help="memory budget of the engine on this machine, shared by the local workers (with Dask: "
                        "each worker's), e.g. 2GB (default 512MiB per worker); results do not depend on it")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--format", default="png", choices=("png", "svg", "pdf"), help="plot format (default png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the sweep; print the top parameters of the headline KPIs and the folder."""
    from ...core.errors import bad

    if args.samples is not None and args.samples <= 0:
        raise bad("--samples", f"--samples must be a positive number (got {args.samples})")
    if args.workers is not None and args.workers < 1:
        raise bad("--workers", f"--workers must be at least 1 (got {args.workers})")
    if args.scheduler is not None and args.executor != "dask":
        raise bad("--scheduler", "--scheduler is for the Dask executor", "add --executor dask")
    params = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    if args.params is not None and not params:
        raise bad("--params", "--params is empty", "give comma-separated parameter ids")
    from ...stockflow.memory import MemoryBudgetError, budget_error, budget_option
    from ...sweep.evaluate import SweepError
    from ...sweep.run import sweep

    memory = budget_option(args.memory)

    try:
        with _interrupts():
            res = sweep(args.scenario, args.method, samples=args.samples, seed=args.seed, params=params,
                        workers=args.workers, executor=args.executor, scheduler=args.scheduler, out=args.out,
                        resume=args.resume, chunk_size=args.chunk_size, progress=not args.no_progress,
                        plots=not args.no_plots, argv=["batsim", *sys.argv[1:]], plot_format=args.format,
                        memory=memory)
    except MemoryBudgetError as exc:
        raise budget_error(exc) from None
    except SweepError as exc:
        print(f"batsim: sweep stopped: {exc}", file=sys.stderr)
        return 1
    s = res.summary
    print(f"{s.get('scenario')}: {res.method} sweep of {len(res.factors)} parameters, {s['evaluations']:,} evaluations"
          f", {s['failures']} failed")
    main = {"sobol": "ST", "morris": "mu_star", "oat": "swing", "mc": "spearman", "lhs": "spearman"}[res.method]
    for kpi in ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "days_until_stockout", "jobs_at_risk_peak"):
        top = s.get("top", {}).get(kpi)
        if top:
            print(f"  {kpi:28s} " + ", ".join(f"{t['param']} ({main} {t[main]:.3g})" for t in top))
        elif kpi in s.get("not_analysed", {}):
            print(f"  {kpi:28s} not analysed: {s['not_analysed'][kpi]}")
    print(f"wrote {res.folder}/")
    return 0


EXIT_DEADLINE = 4.0   # seconds after the first Ctrl-C by which the process ends, whatever is still running


def _exit_now(msg: bytes) -> None:
    """Leave at once with code 130 (after a second Ctrl-C, or when orderly shutdown overruns)."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with contextlib.suppress(OSError):
        os.write(2, msg)
    os._exit(130)


@contextlib.contextmanager
def _interrupts() -> Iterator[None]:
    """First Ctrl-C: KeyboardInterrupt (chunks saved, pool stopped) and a deadline for the whole exit;
    second Ctrl-C: exit at once. Only in the main thread (signals are delivered there).

    The deadline is a backstop: the orderly path (manifest saved, pool stopped without waiting on
    dead workers) takes well under a second, but no exit handler may keep the process past it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits = []

    def handler(signum: int, frame: object) -> None:
        if hits:
            _exit_now(b"batsim: interrupted again; exiting now\n")
        hits.append(signum)
        timer = threading.Timer(EXIT_DEADLINE, _exit_now, (b"batsim: shutdown overran; exiting now\n",))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    except KeyboardInterrupt:
        # chunks are saved and the pool is stopped: leave now, without the interpreter's slow teardown
        # of numpy/pyarrow/scipy (1.5-1.8 s measured on a loaded 2-CPU machine) or any exit handler
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            # the stopped pool's semaphores: unregister them, or the resource tracker warns of leaks
            # on the user's terminal (finalizers of priority >= 0 only: none of them joins a process)
            mp_util._run_finalizers(0)
        _exit_now(b"batsim: interrupted; finished chunks are kept (rerun with --resume)\n")
    finally:
        if not hits:
            signal.signal(signal.SIGINT, previous)
