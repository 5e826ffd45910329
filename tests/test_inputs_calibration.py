"""Issue 13, calibration inputs: absurd observations are refused at load with their line; a fit
statistic that is undefined (R² of all-equal data) is reported as undefined, not nan."""
from __future__ import annotations

import numpy as np
import pytest

from sim.calibrate.fit import r2_text
from sim.calibrate.observations import observation_problem
from test_calibrate_targets import GOOD, _line, _problems, _repo  # noqa: F401  (_repo: autouse fixture)


@pytest.mark.parametrize("value", ["1.0e+308", "1.0e+16", "1.0e-300"])
def test_an_absurd_observation_is_refused_at_its_line(tmp_path, value):
    text = GOOD.replace("    value: 137\n", f"    value: {value}\n")
    (p,) = _problems(tmp_path, text)
    assert p.line == _line(text, f"value: {value}") and "plausible scale" in p.message and p.hint


def test_observation_problem():
    assert observation_problem(137.0, "USD/kWh") == ""
    assert observation_problem(0.0) == ""
    for v in (float("inf"), float("nan"), 1e308, -1e20, 1e-20):
        assert observation_problem(v)


def test_r2_of_all_equal_data_is_undefined_not_nan():
    from sim.calibrate import fit as F

    class _Prob:  # the least of a FitProblem that fit_stats reads
        use = np.array([True, True, True])
        y = np.array([5.0, 5.0, 5.0])
        p, scale = 1, "log"

        def predictions(self, theta):
            return np.full((3, 1), 5.0)

        def transform(self, v):
            return np.log(v)

    st = F.fit_stats(_Prob(), np.array([1.0]))
    assert st["r2"] is None
    assert r2_text(st["r2"]).startswith("undefined") and "nan" not in r2_text(st["r2"])
    assert r2_text(0.91234) == "0.9123"
