"""Bad export-control input: located message, exit 2, no traceback, nothing written."""
from __future__ import annotations

import pytest

from conftest import expect_bad
from controls_cases import control, destinations, lever, licence, write

EFF, LATER = lever("2023-12-01", "date"), lever("2024-03-01", "date")
PHASES = f"phases:\n  - {{regime: licence, start: {EFF}, end: {LATER}}}\n  - {{regime: none, start: {LATER}}}"
CASES = {
    "end-before-start": (control(f"licence: {licence()}\nphases:\n  - {{regime: licence, start: {LATER}, end: {EFF}}}"),
                         "ends (2023-12-01) before it starts (2024-03-01)"),
    "overlap": (control(f"licence: {licence()}\nphases:\n  - {{regime: licence, start: {EFF}}}\n"
                        f"  - {{regime: none, start: {LATER}}}"), "phase 1 overlaps phase 0"),
    "overlap-via-importer-code": (destinations(US=0.5, other=0.5) + control(
        f"phases:\n  - {{regime: ban, destinations: [ROW], start: {EFF}}}\n"
        f"  - {{regime: none, destinations: [US], start: {LATER}}}"), "phase 1 overlaps phase 0"),
    "unknown-destination": (destinations(US=0.5, other=0.5) + control(
        f"phases:\n  - {{regime: ban, destinations: [UK], start: {EFF}}}"), "unknown destination 'UK'"),
    "negative-cv": (control(f"licence: {licence(decision_cv=-0.5)}\n{PHASES}"), "must be >= 0"),
    "shares-do-not-sum": (destinations(US=0.5, other=0.4) + control(PHASES.replace("licence,", "ban,")),
                          "destination shares sum to 0.9"),
    "both-forms": (control(f"regime: ban\n{PHASES}"), "cannot also have 'regime'"),
    "final-without-tau": (control(f"licence: {licence(capacity_share_final=0.8)}\n{PHASES}"),
                          "needs 'capacity_tau_days'"),
    "unknown-basis": (control(f"licence: {licence(capacity_basis='applicatons')}\n{PHASES}"), "is not one of"),
    "licence-without-terms": (control(PHASES), "a licence regime needs licence"),
    "quota-without-quota": (control(f"phases:\n  - {{regime: quota, start: {EFF}}}"), "a quota regime needs 'quota'"),
    "announced-after-start": (control(f"announced: {lever('2024-01-01', 'date')}\nlicence: {licence()}\n{PHASES}"),
                              "announced must not be after the first phase starts"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_control_input_is_located(cli, tmp_path, case):
    body, needle = CASES[case]
    p = write(tmp_path, "bad", body)
    err = expect_bad(cli, [p], tmp_path / "out", needle, file=p)
    assert "(hint:" in err or case == "unknown-basis"           # a schema enum lists the allowed values
