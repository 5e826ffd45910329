"""`--memory` on run and sweep: parsed with a unit, bad values and budgets too small exit 2."""
from __future__ import annotations

import json

import pytest
from conftest import MAIN, assert_located


@pytest.mark.parametrize("value", ["lots", "2", "-1GB", "2 parsecs", "0MB"])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_bad_memory_value_exits_2_with_hint(cli, tmp_path, command, value):
    extra = ["--method", "oat"] if command == "sweep" else []
    code, out, err = cli(command, MAIN, *extra, f"--memory={value}", "--out", tmp_path / "o", "--no-plots")
    assert_located(code, out, err, "--memory", "hint:")
    assert not (tmp_path / "o").exists()


def test_run_too_small_for_a_full_record_exits_2(cli, tmp_path):
    code, out, err = cli("run", MAIN, "--samples", "3000", "--memory", "64MB", "--out", tmp_path / "o", "--no-plots")
    assert_located(code, out, err, "cannot hold this run", "--memory")
    assert not (tmp_path / "o").exists()


def test_sweep_too_small_exits_2_before_writing(cli, tmp_path):
    code, out, err = cli("sweep", MAIN, "--method", "mc", "--samples", "64", "--memory", "100KB", "--workers", "1",
                         "--out", tmp_path / "o", "--no-plots", "--no-progress")
    assert_located(code, out, err, "cannot hold this run")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_run_with_memory_gives_the_same_summary(cli, tmp_path):
    code, _, err = cli("run", MAIN, "--samples", "6", "--memory", "2MB", "--out", tmp_path / "a", "--no-plots",
                       "--quiet")
    assert code == 0, err
    code, _, err = cli("run", MAIN, "--samples", "6", "--out", tmp_path / "b", "--no-plots", "--quiet")
    assert code == 0, err
    a = json.loads(next((tmp_path / "a").glob("*/summary.json")).read_text())
    b = json.loads(next((tmp_path / "b").glob("*/summary.json")).read_text())
    for k in ("cell_output_shortfall_gwh", "peak_shortfall_fraction", "jobs_at_risk_peak"):
        assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12), k
