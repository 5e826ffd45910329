"""A real Dask cluster (LocalCluster on loopback, two worker processes) runs a sweep through
`batsim sweep --executor dask --scheduler ADDRESS`, with the same results as the local pool."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import STRICT

distributed = pytest.importorskip("distributed")

SHORT = f"""extends: {STRICT}
id: sweep-dask
calendar: {{start: 2025-01-01, end: 2027-12-31, step: month}}
"""


def _results(folder) -> pd.DataFrame:
    return pd.concat([pq.read_table(f).to_pandas() for f in sorted((folder / "results").glob("chunk-*.parquet"))],
                     ignore_index=True)


@pytest.mark.slow  # about 3 s here; starting a cluster can take longer on a cold machine
def test_dask_cluster_gives_the_local_results(tmp_path, cli):
    scn = tmp_path / "short.yaml"
    scn.write_text(SHORT, encoding="utf-8")
    common = ["--method", "lhs", "--samples", "400", "--seed", "9", "--chunk-size", "100", "--no-progress"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        code, out, err = cli("sweep", scn, *common, "--executor", "dask", "--scheduler", cluster.scheduler_address,
                             "--out", tmp_path / "dask", "--no-plots")
        assert code == 0, err
        # the chunks ran on the cluster's two worker processes, not in this one
        with distributed.Client(cluster.scheduler_address, timeout=5) as client:
            executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert len(executed) == 2 and sum(executed.values()) == 4, executed      # 4 chunks of 100
    code, _, err = cli("sweep", scn, *common, "--workers", "2", "--out", tmp_path / "local", "--no-plots")
    assert code == 0, err
    d, loc = tmp_path / "dask" / "sweep-dask-lhs", tmp_path / "local" / "sweep-dask-lhs"
    m = json.loads((d / "manifest.json").read_text())
    assert m["runs"][-1]["executor"] == "dask" and m["runs"][-1]["workers"] == 2 and m["status"] == "complete"
    pd.testing.assert_frame_equal(_results(d), _results(loc))
    assert (d / "indices.csv").read_text() == (loc / "indices.csv").read_text()
    assert (d / "bands.csv").read_text() == (loc / "bands.csv").read_text()
