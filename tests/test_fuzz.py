"""Fuzz the scenario inputs through the real CLI: nothing bad is accepted, nothing crashes or hangs.

CI runs a fixed-seed sample (``CI_CASES``); ``BATSIM_FUZZ_LONG=1 pytest -m fuzz_long`` runs the
long campaign (``LONG_CASES``, a few minutes). Each case is a mutation of a shipped scenario
(tests/fuzz/mutate.py) judged by tests/fuzz/harness.py: exit 0 or 2 only, no traceback, no hang,
every problem line ``FILE:LINE:COL: message (hint: ...)``, nothing left behind on failure and a
strict-JSON summary.json on success. A handful of cases also go through ``python -m sim`` in a
subprocess, for the inputs that only a real process can exercise (devices, FIFOs, stdin).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS
from fuzz import harness

CI_SEED, CI_CASES = 20261201, 520
LONG_SEED, LONG_CASES = 7, 3200


def _report(stats: harness.Stats, name: str) -> None:
    print(f"\nfuzz {name}: {stats.line()}")
    path = os.environ.get("BATSIM_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{name}: {stats.line()}\n")


@pytest.mark.slow
def test_fuzz_ci_sample(tmp_path: Path) -> None:
    stats = harness.campaign(tmp_path / "ws", CI_SEED, CI_CASES)
    _report(stats, "ci")
    assert stats.cases == CI_CASES
    assert stats.exit0 > 0 and stats.exit2 > 0, "the sample must exercise both accepted and refused inputs"
    assert stats.runs > 0, "some valid edge cases must run to the end"
    assert not stats.failures, "\n".join(stats.failures[:30])


@pytest.mark.fuzz_long
@pytest.mark.skipif(not os.environ.get("BATSIM_FUZZ_LONG"), reason="long fuzz run: set BATSIM_FUZZ_LONG=1")
def test_fuzz_long(tmp_path: Path) -> None:
    report = os.environ.get("BATSIM_FUZZ_REPORT")
    stats = harness.campaign(tmp_path / "ws", LONG_SEED, LONG_CASES, progress=Path(report) if report else None)
    _report(stats, "long")
    assert not stats.failures, "\n".join(stats.failures[:50])


def _subprocess(args: list[str], stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BATSIM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "/dev/stdin", "fifo"])
def test_subprocess_special_files_refused(tmp_path: Path, special: str) -> None:
    target = special
    if special == "fifo":
        target = str(tmp_path / "s.yaml")
        os.mkfifo(target)
    r = _subprocess(["validate", target], stdin=subprocess.PIPE if special == "/dev/stdin" else subprocess.DEVNULL)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "not a regular file" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert harness.problems_ok(r.stderr) == []


@pytest.mark.slow
def test_subprocess_sample_of_mutations(tmp_path: Path) -> None:
    """A few mutated cases through a real `python -m sim` process: same verdicts as in-process."""
    ws = harness.Workspace(tmp_path / "ws")
    for i in range(1, 6):
        path, label, _ = harness.make_case(ws, CI_SEED, i * 97 + 1, run_every=10 ** 9)
        r = _subprocess(["validate", str(path)])
        assert r.returncode in (0, 2), (label, r.returncode, r.stderr[-500:])
        assert "Traceback" not in r.stderr, label
        if r.returncode == 2:
            assert harness.problems_ok(r.stderr) == [], (label, r.stderr[-500:])
