"""The example notebook (docs/example.ipynb) runs top to bottom; the notebook API has short views."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import MAIN, ROOT

NOTEBOOK = ROOT / "docs" / "example.ipynb"


@pytest.mark.slow
def test_example_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="pip install '.[test]' for the notebook test")
    nbclient = pytest.importorskip("nbclient", reason="pip install '.[test]' for the notebook test")
    pytest.importorskip("ipykernel", reason="pip install '.[test]' for the notebook test")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
    m = re.search(r"shortfall median ([\d.]+) GWh, 5-95% ([\d.]+)-([\d.]+) GWh; (\d+)% of samples lose output", text)
    assert m, text
    assert float(m[2]) <= float(m[1]) <= float(m[3])
    html = [o["data"]["text/html"] for o in outs if "text/html" in o.get("data", {})]
    assert any("<table>" in h and "cell_output_shortfall_gwh" in h for h in html)
    assert (tmp_path / "cell_output.png").stat().st_size > 1000


def test_dir_lists_the_public_api():
    import sim

    names = dir(sim)
    for n in ("load_scenario", "run", "Result", "Scenario", "BadInput", "audit", "init_study", "load_registry"):
        assert n in names and getattr(sim, n) is not None
    assert set(sim.__all__) <= set(names)


def test_result_and_scenario_reprs_are_short_and_html_is_a_kpi_table():
    import sim

    scn = sim.load_scenario(MAIN)
    assert len(repr(scn)) < 300 and scn.id in repr(scn)
    res = sim.run(scn, samples=8, seed=1)
    r = repr(res)
    assert len(r) < 300 and r.startswith("<Result graphite-controls-2025: stockflow, 8 samples, seed 1")
    html = res._repr_html_()
    assert html.count("<tr>") == len(res.summary()["units"]) + 1          # header + one row per KPI
    assert "<th>p05</th>" in html and "<th>median</th>" in html
    df = res.kpi_table()
    assert list(df.columns) == ["kpi", "unit", "value", "p05", "p95"]
    row = df.set_index("kpi").loc["cell_output_shortfall_gwh"]
    k = res.kpis["cell_output_shortfall_gwh"]
    assert row["value"] == pytest.approx(float(np.median(k)), rel=1e-6, abs=1e-9)
    assert row["p05"] <= row["value"] <= row["p95"]
    assert len(repr(scn.registry)) < 300
