"""sim.paths: shipped data from the checkout or the package, a study's registry, the override."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT


def test_in_a_checkout_the_shipped_folders_are_the_top_level_ones(monkeypatch):
    from sim import paths

    monkeypatch.delenv(paths.ENV, raising=False)
    assert paths.shipped_calibration() == ROOT / "calibration"
    assert paths.shipped_scenarios() == ROOT / "scenarios"
    monkeypatch.chdir(ROOT / "docs")
    assert paths.calibration_roots() == [ROOT / "calibration"]   # the checkout's own is not a study


def test_outside_a_checkout_the_package_data_is_used(monkeypatch, tmp_path):
    from sim import paths

    monkeypatch.setattr(paths, "CHECKOUT", tmp_path)          # e.g. site-packages: no pyproject, no calibration/
    assert paths.shipped_calibration() == paths.DATA / "calibration"
    assert paths.shipped_scenarios() == paths.DATA / "scenarios"


def test_a_study_is_found_above_the_start_and_read_after_the_shipped_registry(monkeypatch, tmp_path):
    from sim import paths

    monkeypatch.delenv(paths.ENV, raising=False)
    (tmp_path / "s" / "calibration" / "parameters").mkdir(parents=True)
    (tmp_path / "s" / "deep" / "er").mkdir(parents=True)
    assert paths.study_folder(tmp_path / "s" / "deep" / "er") == tmp_path / "s"
    assert paths.calibration_roots(tmp_path / "s" / "deep") == [ROOT / "calibration", tmp_path / "s" / "calibration"]
    monkeypatch.chdir(tmp_path)
    assert paths.calibration_roots() == [ROOT / "calibration"]
    assert paths.study_folder(tmp_path / "elsewhere.yaml") is None


def test_the_environment_variable_replaces_both(monkeypatch, tmp_path):
    from sim import paths

    (tmp_path / "s" / "calibration" / "parameters").mkdir(parents=True)
    monkeypatch.setenv(paths.ENV, str(tmp_path / "mine"))
    assert paths.calibration_roots(tmp_path / "s") == [tmp_path / "mine"]


def test_find_in_roots_takes_the_first_regular_file(tmp_path):
    from sim.paths import find_in_roots

    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sources").mkdir(parents=True)
    (b / "sources").mkdir(parents=True)
    (a / "sources" / "x.txt").mkdir()                            # a folder named like the file is skipped
    (b / "sources" / "x.txt").write_text("b", encoding="utf-8")
    assert find_in_roots([a, b], "sources", "x.txt") == b / "sources" / "x.txt"
    assert find_in_roots([a, b], "sources", "y.txt") is None


def test_a_registry_with_a_missing_root_is_bad_input(tmp_path):
    from sim.core.errors import BadInput
    from sim.provenance.registry import load_registry

    with pytest.raises(BadInput) as e:
        load_registry([ROOT / "calibration", tmp_path / "nope"])
    assert "parameter registry folder not found" in str(e.value.problems[0])
    assert Path(e.value.problems[0].file) == tmp_path / "nope" / "parameters"


def test_a_batsim_checkout_is_not_taken_for_a_study(tmp_path):
    """An installed batsim run inside a source checkout must not read the checkout's registry a
    second time as a study (every id would be a duplicate)."""
    from sim.paths import study_calibration

    (tmp_path / "calibration" / "parameters").mkdir(parents=True)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "batsim"\n', encoding="utf-8")
    assert study_calibration(tmp_path / "scenarios") is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "my-study"\n', encoding="utf-8")
    assert study_calibration(tmp_path / "scenarios") == (tmp_path / "calibration").resolve()
