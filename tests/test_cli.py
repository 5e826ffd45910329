"""The CLI shell: help everywhere, exit codes, fast start."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

COMMANDS = ["run", "validate", "params", "explain", "audit", "cite"]


def test_help_lists_the_commands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for c in COMMANDS:
        assert c in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cli, cmd):
    code, out, _ = cli(cmd, "--help")
    assert code == 0 and "usage: batsim " + cmd in out


def test_unknown_command_is_bad_input(cli):
    code, _, err = cli("frobnicate")
    assert code == 2 and "invalid choice" in err


def test_no_command_prints_help_and_exits_2(cli):
    code, out, _ = cli()
    assert code == 2 and "usage:" in out


def test_help_does_not_import_the_numerical_stack():
    code = ("import sys; from sim.cli.main import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('numpy', 'pandas', 'matplotlib', 'pint', 'scipy', 'simpy') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("batsim ")
