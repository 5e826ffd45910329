"""The `batsim` command: a thin shell over the Python API.

Each subcommand is a module in ``sim/cli/commands/`` with ``NAME``, ``HELP``, ``add_arguments(p)``
and ``run(args) -> int``; they are found at start-up, and import what they need only when run,
so ``batsim --help`` stays fast. Exit codes: 0 success, 2 bad input, 1 internal error.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from difflib import get_close_matches
from typing import Sequence

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with a did-you-mean or a pointer to --help; no abbreviations
    (``--sample`` is an error, not silently ``--samples``)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        hint = _did_you_mean(self, message) or f"run '{self.prog} --help'"
        sys.stderr.write(f"{self.prog}: error: {message}\n(hint: {hint})\n")
        raise SystemExit(EXIT_BAD_INPUT)

    def options(self) -> list[str]:
        """Every long option string this parser knows."""
        return sorted(o for a in self._actions for o in a.option_strings if o.startswith("--"))


def _did_you_mean(parser: _Parser, message: str) -> str:
    """A 'did you mean' for an unknown subcommand or option named in argparse's ``message``."""
    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if m:
        choices = re.findall(r"'([^']*)'", m.group(2))
        near = get_close_matches(m.group(1), choices, n=1, cutoff=0.5)
        return f"did you mean '{near[0]}'?" if near else ""
    m = re.search(r"unrecognized arguments: (.*)", message)
    if m:
        for word in m.group(1).split():
            opt = word.split("=", 1)[0]
            if opt.startswith("-"):
                near = get_close_matches(opt, parser.options(), n=1, cutoff=0.6)
                if near:
                    return f"did you mean '{near[0]}'? see '{parser.prog} --help'"
    return ""


def _commands() -> list:
    from . import commands

    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME"):
            mods.append(mod)
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 50))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="batsim", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Scenario simulator of battery supply-chain disruption (graphite anode export controls).\n"
                            "Every parameter traces to a cited source: see 'batsim params' and 'batsim explain ID'.",
                epilog="examples:\n"
                       "  batsim init my-study        (a study folder of your own, anywhere)\n"
                       "  batsim run scenarios/graphite-controls-2025.yaml\n"
                       "  batsim validate scenarios/*.yaml\n"
                       "  batsim explain sic.displacement_ratio\n"
                       "exit codes: 0 success, 2 bad input, 1 internal error")
    p.add_argument("--version", action="version", version="batsim 0.1.0")
    p.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _commands():
        sp = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(sp)
        sp.set_defaults(_run=mod.run)
        SUBPARSERS[mod.NAME] = sp
    return p


SUBPARSERS: dict[str, _Parser] = {}


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; an unknown option is reported by its subcommand, with its usage."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        owner = SUBPARSERS.get(getattr(args, "command", None) or "", parser)
        owner.error("unrecognized arguments: " + " ".join(extra))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if not getattr(args, "_run", None):
        build_parser().print_help()
        return EXIT_BAD_INPUT
    from ..core.errors import BadInput

    try:
        return int(args._run(args) or 0)
    except BadInput as exc:
        for prob in exc.problems:
            print(prob, file=sys.stderr)
        n = len(exc.problems)
        print(f"batsim: {n} problem{'s' if n != 1 else ''} found; {exc.outcome}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("batsim: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # internal error: short message, traceback only with --debug
        if args.debug or os.environ.get("BATSIM_DEBUG"):
            raise
        from ..outputs.atomic import is_env_error

        if is_env_error(exc):  # read-only, full disk, not a folder: the environment, not a bug
            where = f"'{exc.filename}': " if getattr(exc, "filename", None) else ""
            msg = str(exc) if exc.__class__.__name__ == "OutputError" else f"cannot access {where}{exc.strerror}"
            print(f"batsim: {msg}\n(hint: a problem of the file system, not of your input: check the path, its "
                  "permissions and free space; any earlier result there is unchanged)", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"batsim: internal error: {exc.__class__.__name__}: {exc}\n"
              "(this is a bug in batsim, not in your input; rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
