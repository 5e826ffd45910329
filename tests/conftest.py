"""Shared fixtures: repository paths, the CLI run in-process, scenario files written on the fly."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
MAIN = SCENARIOS / "graphite-controls-2025.yaml"
STRICT = SCENARIOS / "graphite-controls-2025-strict.yaml"   # licence terms that bind (assumptions)
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Callable[..., tuple[int, str, str]]:
    """Run `batsim ARGS` in-process; returns (exit code, stdout, stderr)."""
    from sim.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a file under tmp_path (dedented) and return its path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return _write


def child_of_baseline(body: str) -> str:
    """A scenario that extends the shipped baseline (absolute path), plus ``body``."""
    return f"extends: {SCENARIOS / 'baseline.yaml'}\nid: test-child\n" + textwrap.dedent(body).lstrip("\n")


LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)


def expect_bad(cli, args: list, out: Path, *needles: str, file: Path | None = None, line: int | None = None) -> str:
    """`batsim run ARGS --out OUT` must fail as bad input: exit 2, located messages containing
    ``needles`` (at ``file``/``line`` if given), no traceback, nothing written. Returns stderr."""
    code, stdout, err = cli("run", *args, "--out", out, "--no-plots")
    assert_located(code, stdout, err, *needles, file=file, line=line)
    assert not out.exists() or not any(out.iterdir()), "nothing may be written for bad input"
    return err


def assert_located(code: int, stdout: str, err: str, *needles: str, file: Path | None = None,
                   line: int | None = None) -> None:
    """A bad-input exit: code 2, no traceback, FILE:LINE:COL messages containing ``needles``."""
    assert code == 2, (code, stdout, err)
    assert "Traceback" not in err
    located = LOCATED.findall(err)
    assert located, err
    if file is not None:
        assert any(m[0] == str(file) for m in located), err
    if line is not None:
        assert any(int(m[1]) == line for m in located), err
    for n in needles:
        assert n in err, (n, err)
