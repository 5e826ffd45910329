"""batsim calibrate: fit registry parameters to a cited observed series."""
from __future__ import annotations

import argparse
import sys

NAME = "calibrate"
ORDER = 55
HELP = "fit parameters to a cited observed series and write them into the registry as 'calibrated'"
DESCRIPTION = """Fit the parameters a target file names to the observed series it cites, then:
  - print the fitted values with profile-likelihood intervals, goodness of fit (RMSE, R²),
    a backtest (the last observations held out) and, for stock-flow targets, the DES engine
    run at the fitted values;
  - write OUT/calibration/<target-id>/: report.txt, fit.json, plots/observed_vs_fitted.png,
    plots/profiles.png;
  - write the fitted values into calibration/parameters/calibrated.yaml (kind 'calibrated',
    citing the data they were fitted to; 'batsim explain ID' shows it).
A fitted value outside its plausible range (the registry range of the parameter it stands in
for, or the range the target declares) is not written, and the command exits 2, unless
--force. Fits are seeded (fit.seed in the target) and reproducible.
Targets: calibration/targets/*.yaml (format: docs/calibration.md).

A multi-episode config (calibration/episodes.yaml: a list of episodes, shared and per-episode
parameters) is fitted jointly with partial pooling: shared values, a population of per-episode
values (median, 5-95%), each episode's value, degrees of freedom and intervals; the population
entries are what scenarios/graphite-controls-2025.yaml reads. 'batsim backtest CONFIG' runs its
leave-one-out backtest."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="TARGET", help="target file, e.g. calibration/targets/cn-graphite-exports-2023.yaml, "
                   "or a multi-episode config, e.g. calibration/episodes.yaml")
    p.add_argument("--out", default="outputs", metavar="DIR",
                   help="folder for the report and plots (default: outputs/; written to DIR/calibration/<id>/)")
    p.add_argument("--no-write", action="store_true", help="fit and report, but leave the registry untouched")
    p.add_argument("--force", action="store_true",
                   help="write fitted values even when they fall outside their plausible range")
    p.add_argument("--no-des", action="store_true", help="skip the run on the discrete-event engine")
    p.add_argument("--no-plots", action="store_true", help="skip the plots (faster)")
    p.add_argument("--quick", action="store_true",
                   help="smaller population and profile grids, no DES (a fast, rougher fit; still seeded)")
    p.add_argument("--quiet", action="store_true", help="print only the report folder")


def run(args: argparse.Namespace) -> int:
    from ...calibrate.episodes import is_episode_config
    from ...calibrate.run import calibrate, main_progress, report_text

    if is_episode_config(args.target):
        return _joint(args, main_progress)

    res = calibrate(args.target, write=not args.no_write, force=args.force, out=args.out, des=not args.no_des,
                    plots=not args.no_plots, quick=args.quick, progress=None if args.quiet else main_progress,
                    argv=_argv())
    return _show(res, report_text(res), args.quiet)


def _argv() -> list[str] | None:
    """The command line as the user typed it, for the manifest (None when not run as `batsim`)."""
    return ["batsim", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith("batsim") else None


def _show(res, text: str, quiet: bool) -> int:  # type: ignore[no-untyped-def]
    """Print the report (or, with --quiet, only the output folder); exit code 0."""
    if quiet:
        print(res.out_dir)
        return 0
    print(text, end="")
    if res.out_dir is not None:
        print(f"wrote {res.out_dir}/")
    return 0


def _joint(args: argparse.Namespace, progress) -> int:  # type: ignore[no-untyped-def]
    from ...calibrate.joint_run import calibrate_joint, report_text
    from ...core.errors import bad

    if args.force:
        raise bad(args.target, "--force does not apply to a multi-episode config",
                  "a value outside its plausible range is refused: argue the range again with evidence, "
                  "or change the mechanism")

    res = calibrate_joint(args.target, write=not args.no_write, out=args.out, quick=args.quick,
                          progress=None if args.quiet else progress,
                          argv=_argv())
    return _show(res, report_text(res), args.quiet)
