"""batsim backtest: leave-one-out backtest of a multi-episode calibration config."""
from __future__ import annotations

import argparse
import json

NAME = "backtest"
ORDER = 56
HELP = "leave-one-out backtest of a multi-episode calibration (out-of-sample error per episode)"
DESCRIPTION = """For each episode of CONFIG in turn: fit the others jointly (partial pooling, as
'batsim calibrate CONFIG'), predict the left-out episode from the fitted population (a predictive
band by sampling the population), and report the out-of-sample RMSE(log), the months of collapse
(first month below 25% of the pre-announcement mean) and recovery (first month back at 50%),
observed vs predicted, and the share of observations inside the 90% predictive band. Episodes the
config lists under held_out are predicted from the population of all fitted episodes.
--format json prints {"dof": N, "episodes": [{"episode", "observations", "rmse_log_out_of_sample",
"collapse_month_error", "recovery_month_error", "inside_band_90"}, ...], "held_out": [...]} (month
errors: predicted minus observed, in months; null when either month is undefined).
Nothing is written to the registry."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG", help="multi-episode config, e.g. calibration/episodes.yaml")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write DIR/backtest/<config-id>/backtest.json and plots (default: nothing written)")
    p.add_argument("--quick", action="store_true", help="smaller screen and fewer EM rounds (tests; still seeded)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the independent fits (the full fit and one per left-out episode); "
                        "the numbers do not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    from ...calibrate.backtest import run_backtest, table
    from ...calibrate.episodes import load_config
    from ...calibrate.joint_run import shrink
    from ...calibrate.run import main_progress

    cfg = load_config(args.config)
    if args.quick:
        shrink(cfg)
    res = run_backtest(cfg, None if args.quiet or args.format == "json" else main_progress, workers=max(1, args.workers))
    if args.out:
        from ...calibrate.backtest_out import write_backtest

        write_backtest(res, args.out)
    if args.format == "json":
        print(json.dumps(res.to_json(), indent=1))
    else:
        print(table(res), end="")
    return 0
