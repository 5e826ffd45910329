"""The DES implements the same licence mechanism as the stock-flow engine, and converges to it.

Scenario: the calibration scenario's buyer, demand split 20% US / 80% other, front-running from
the announcement, licensing of all destinations from 1 Dec 2023 with review capacity a share of
current applications (smoothed 30 days) rising from 0.2 to 0.8 (tau 60 days), gamma decision
times (mean 35 days, cv 0.6), every licence approved; from 1 Mar 2024 a US ban, licensing for
the rest. DES transit and review times are fixed; decision times are drawn per application, so
the DES converges as lots shrink (errors fall with the lot size), not to rounding error.
Measured (seed 3): lots per step 2 / 8 / 32 -> mean abs. daily-delivery error 18.9% / 11.0% /
5.4% of the mean delivery, cumulative-delivery error 1.2% / 0.8% / 0.29%, backlog 5.2% / 2.3% /
1.6% of its peak.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim
from controls_cases import control, destinations, lever, licence, run, write
from sim.des import run_des
from sim.des.verify import deterministic_variant

EFF, BAN = lever("2023-12-01", "date"), lever("2024-03-01", "date")
LIC = licence(0.2, 1.0, 35, decision_cv=0.6, capacity_share_final=0.8, capacity_tau_days=60,
              capacity_basis="applications", basis_smoothing_days=30)
BODY = (f"announced: {lever('2023-10-20', 'date')}\n"
        f"licence: {LIC}\n"
        f"phases:\n  - {{regime: licence, start: {EFF}, end: {BAN}}}\n"
        f"  - {{regime: ban, destinations: [US], start: {BAN}}}\n"
        f"  - {{regime: licence, destinations: [other], start: {BAN}}}")


def _errors(tmp_path, lps: int) -> dict[str, float]:
    base = write(tmp_path, "mech", destinations(US=0.2, other=0.8), control(BODY, front_running=1.0, diversion=0.3))
    p = tmp_path / f"v{lps}.yaml"
    p.write_text(deterministic_variant(base, lps), encoding="utf-8")
    sf = run(p).series
    des = run_des(sim.load_scenario(p), engine="des", seed=3, workers=1).trajectory.series
    a, b = des["deliveries"].sum(axis=(2, 3))[:, 0], sf["deliveries"].sum(axis=(2, 3))[:, 0]
    la, lb = des["licence_backlog"].sum(axis=2)[:, 0], sf["licence_backlog"].sum(axis=2)[:, 0]
    return {"deliveries": float(np.abs(a - b).mean() / b.mean()),
            "cumulative": float(np.abs(np.cumsum(a - b)).max() / b.sum()),
            "backlog": float(np.abs(la - lb).max() / lb.max())}


@pytest.mark.slow
def test_des_converges_to_the_stockflow_engine_on_the_phased_mechanism(tmp_path):
    rows = [_errors(tmp_path, lps) for lps in (2, 8, 32)]
    for key in rows[0]:
        errs = [r[key] for r in rows]
        assert all(x > y for x, y in zip(errs, errs[1:])), (key, errs)      # shrinks with the lot size
    last = rows[-1]
    assert last["deliveries"] <= 0.08 and last["cumulative"] <= 0.005 and last["backlog"] <= 0.03, rows


def test_des_refuses_the_banned_destinations_pending_applications(tmp_path):
    base = write(tmp_path, "mech", destinations(US=0.2, other=0.8), control(BODY, front_running=1.0, diversion=0.3))
    p = tmp_path / "v.yaml"
    p.write_text(deterministic_variant(base, 8), encoding="utf-8")
    events = run_des(sim.load_scenario(p), engine="des", seed=3, workers=1).events     # replication 0's log
    refused = [e for e in events if e[1] == "licences_refused"]
    assert len(refused) == 1 and refused[0][3] > 0 and refused[0][0] == 425.0     # 1 Mar 2024, the US queue
    names = {e[2] for e in events if e[1] == "licence_apply"}
    assert names == {"licensing:test-control", "licensing:test-control:other"}
