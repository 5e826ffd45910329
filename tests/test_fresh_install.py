"""A fresh, non-editable install works from a folder outside the checkout (package data, study folders).

The venv reuses the system site-packages for the dependencies (``--system-site-packages``,
``--no-deps``, ``--no-build-isolation``, ``--no-index``), so the test is quick and offline. The
install is made from a copy of the checkout, so no build files land in the checkout. Each later
step of the analyst's workflow is one line in STEPS.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from conftest import ROOT

_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
_TOP = {".git", "outputs", "build", "dist", ".pytest_cache", ".hypothesis", ".venv"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Build products and caches; top-level run outputs (not the sim/outputs package)."""
    top = {n for n in names if n in _TOP} if Path(folder) == ROOT else set()
    return top | set(_ANYWHERE(folder, names))


def _check_init(work: Path, out: str) -> None:
    assert (work / "study" / "scenario.yaml").read_text(encoding="utf-8").count("extends: graphite-controls-2025") == 1
    assert (work / "study" / "README.md").is_file()


def _check_run(work: Path, out: str) -> None:
    run = work / "out" / "study"
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "study" and summary["cell_output_shortfall_gwh"] is not None
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    registry = [Path(i["path"]) for i in manifest["inputs"] if i["role"] == "registry"]
    shipped = [p for p in registry if "site-packages" in p.parts and "_data" in p.parts]
    study = [p for p in registry if (work / p).resolve().is_relative_to((work / "study").resolve())]
    assert shipped and [p.name for p in study] == ["study.yaml"], registry     # shipped data, then the study's
    assert len(shipped) + len(study) == len(registry), registry
    assert (run / "timeseries.csv").stat().st_size > 1000


def _check_audit(work: Path, out: str) -> None:
    assert "problems: none" in out


# (working folder relative to the temporary root, batsim arguments, check of the result)
STEPS: list[tuple[str, list[str], Callable[[Path, str], None]]] = [
    (".", ["init", "study"], _check_init),
    (".", ["validate", "study/scenario.yaml"], lambda w, out: "ok (study" in out or pytest.fail(out)),
    (".", ["run", "study/scenario.yaml", "--out", "out", "--no-plots"], _check_run),
    ("study", ["audit", "--strict"], _check_audit),
]
if (ROOT / "sim" / "cli" / "commands" / "compare.py").is_file():
    STEPS.append((".", ["compare", "study/scenario.yaml", "study/scenario.yaml", "--out", "out"], lambda w, out: None))
if (ROOT / "sim" / "cli" / "commands" / "report.py").is_file():
    STEPS.append((".", ["report", "out/study"], lambda w, out: (w / "out" / "study" / "report.html").is_file()
                  or pytest.fail("no report.html")))


@pytest.mark.slow
def test_fresh_install_runs_a_study_outside_the_checkout(tmp_path):
    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    shutil.copytree(ROOT, src, ignore=_ignore)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    pip = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--quiet", str(src)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    shutil.rmtree(src)                       # nothing may depend on the source tree
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BATSIM_CALIBRATION")}
    env["MPLBACKEND"] = "Agg"
    where = subprocess.run([str(py), "-c", "import sim, sim.paths as p; print(sim.__file__); print(p.shipped_scenarios())"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert all(str(venv) in line for line in where.stdout.splitlines()), where.stdout
    batsim = venv / "bin" / "batsim"
    for folder, args, check in STEPS:
        r = subprocess.run([str(batsim), *args], cwd=work / folder, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"batsim {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        check(work, r.stdout + r.stderr)
