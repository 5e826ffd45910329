"""Episode targets (issue 9): real export-control episodes load, are well ordered, cite stored passages, and add up."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from sim.calibrate.targets import Target, load_target
from sim.core.errors import BadInput
from sim.provenance.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
CAL = REPO / "calibration"
TARGETS = CAL / "targets"

# target file -> post-effective monthly observations found (months starting on or after the effective date)
EPISODES = {
    "cn-graphite-exports-2023.yaml": 3,             # Dec 2023, Jan and Feb 2024: no later month found
    "cn-graphite-flake-spherical-2023.yaml": 3,     # Dec 2023, Jan and Feb 2024: no later month found
    "cn-antimony-exports-2024.yaml": 4,             # Oct, Nov, Dec 2024 and Jun 2025: Jan-May 2025 not found
    "cn-rare-earth-magnet-exports-2025.yaml": 7,    # May-Nov 2025
    "cn-gallium-exports-2023.yaml": 11,             # held out: Aug-Dec 2023, Mar, May, Aug, Dec 2024, Mar, Apr 2025
    "cn-germanium-exports-2023.yaml": 8,            # held out: Aug-Dec 2023, Mar, May 2024, Apr 2025
}
HELD_OUT = {"cn-gallium-exports-2023.yaml", "cn-germanium-exports-2023.yaml"}


@pytest.fixture(autouse=True)
def _repo(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _target(name: str) -> Target:
    return load_target(TARGETS / name)


def _control(t: Target) -> dict:
    scn = yaml.safe_load((TARGETS / t.model["scenario"]).read_text(encoding="utf-8"))
    (ctrl,) = scn["policies"]["export_controls"]
    return ctrl


def _effective(t: Target) -> dt.date:
    reg = load_registry(CAL)
    ctrl = _control(t)   # the old form's effective date, or the start of the first dated phase
    when = ctrl["effective"] if "effective" in ctrl else ctrl["phases"][0]["start"]
    return reg[when["param"]].value


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_episode_has_its_post_effective_months(name):
    t = _target(name)
    eff = _effective(t)
    post = [o for o in t.observations if o.period.units == 1 and o.period.start >= eff]
    assert len(post) == EPISODES[name], [o.period.label for o in post]
    if EPISODES[name] >= 6:
        assert len(post) >= 6


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_periods_are_sorted_and_do_not_overlap(name):
    t = _target(name)
    spans = [(o.period.start, o.period.end) for o in t.observations]
    assert spans == sorted(spans)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0, (a0, a1, b0, b1)
    anchor = t.model["_normalise"]
    assert any(o.period == anchor and o.value > 0 for o in t.observations)
    assert anchor.end <= _effective(t) + dt.timedelta(days=31)   # the anchor is pre-control


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_every_quote_is_in_its_stored_source(name):
    t = _target(name)
    for o in t.observations:
        path = CAL / "sources" / f"{o.source}.txt"
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# http"), path
        assert _norm(o.quote) in _norm(text), (o.period.label, o.source)
        # the figure read is in the quote (or the reading explains how it was derived)
        assert o.reading.strip()


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_episode_dates_are_cited_announcements(name):
    t = _target(name)
    reg = load_registry(CAL)
    ctrl = _control(t)
    dates = [ctrl["effective"]] if "effective" in ctrl else [ph["start"] for ph in ctrl["phases"]]
    ann, eff = reg[ctrl["announced"]["param"]], reg[dates[0]["param"]]
    assert ann.kind == "cited" and all(reg[d["param"]].kind == "cited" for d in dates)
    assert ann.value <= eff.value
    assert {s.id for s in t.sources} <= {e["id"] for e in _bibliography()}


def _bibliography() -> list[dict]:
    import json

    out: list[dict] = []
    for f in sorted((CAL / "bibliography").glob("*.json")):
        out += json.loads(f.read_text(encoding="utf-8"))
    return out


def test_zero_months_are_observations_not_gaps():
    for name, months in (("cn-gallium-exports-2023.yaml", ["2023-08", "2023-09"]),
                         ("cn-germanium-exports-2023.yaml", ["2023-08"])):
        zeros = [o for o in _target(name).observations if o.zero]
        assert [o.period.label for o in zeros] == months
        assert all(o.value == 0 and "zero" in o.reading.lower() for o in zeros)
    assert all(not o.zero for n in EPISODES if n not in HELD_OUT for o in _target(n).observations)


def test_held_out_episode_says_so():
    for name in HELD_OUT:
        t = _target(name)
        assert "HELD OUT" in t.description and "not for the joint fit" in t.params[0].name


def test_antimony_months_add_up_to_the_reported_2024_total():
    t = _target("cn-antimony-exports-2024.yaml")
    v = {o.period.label: o for o in t.observations}
    jan_aug = v["2024-01/2024-07"].value * 7 + v["2024-08"].value
    assert jan_aug == pytest.approx(29379, abs=0.01)                  # metalswire: first eight months
    total = jan_aug + sum(v[m].value for m in ("2024-09", "2024-10", "2024-11", "2024-12"))
    assert total == pytest.approx(38632, abs=1.5)                     # energynews: 2024 total (rounding)
    src = _norm((CAL / "sources" / "energynews-2025-antimony-december-recover.txt").read_text(encoding="utf-8"))
    assert "38,632" in src


def test_magnet_months_add_up_to_the_reported_year_to_date_totals():
    t = _target("cn-rare-earth-magnet-exports-2025.yaml")
    v = {o.period.label: o.value for o in t.observations}
    ytd = v["2025-01/2025-03"] * 3
    sums = {}
    for m in range(4, 12):
        ytd += v[f"2025-{m:02d}"]
        sums[m] = ytd
    assert sums[5] == pytest.approx(19132, abs=1.5)    # econotimes, Jan-May
    assert sums[7] == pytest.approx(27897, abs=1.5)    # kitco, Jan-Jul
    assert sums[9] == pytest.approx(39817, abs=1.5)    # telegraphindia, Jan-Sep
    assert sums[10] == pytest.approx(45290, abs=1.5)   # tippinsights, Jan-Oct
    assert sums[11] == pytest.approx(51440, abs=1.5)   # astroawani, Jan-Nov
    for sid, figure in (("kitco-reuters-2025-magnet-exports-july", "27,897"),
                        ("telegraphindia-reuters-2025-magnet-exports-september", "39,817"),
                        ("tippinsights-2025-magnet-exports-october", "45,290"),
                        ("astroawani-reuters-2025-magnet-exports-november", "51,440")):
        assert figure in (CAL / "sources" / f"{sid}.txt").read_text(encoding="utf-8")


def test_us_share_for_a_destination_ban_is_cited():
    reg = load_registry(CAL)
    share = reg["controls.cn_sb_2024.us_share_2024_08"]
    assert share.kind == "cited" and 0 < share.value < 1
    assert reg["controls.cn_sb_2024.us_ban"].value == dt.date(2024, 12, 3)


# ---- the loader's zero rule (the one change to sim/calibrate/targets.py) -------------------

def _bad(tmp_path: Path, old: str, new: str) -> list[str]:
    text = (TARGETS / "cn-gallium-exports-2023.yaml").read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "calibration" / "targets" / "t.yaml"
    p.parent.mkdir(parents=True)
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        load_target(p, registry=load_registry(CAL))
    lines = [i + 1 for i, line in enumerate(text.replace(old, new, 1).splitlines()) if re.search(r"\bvalue: |zero:", line)]
    for pr in exc.value.problems:
        assert pr.file == str(p) and pr.line >= 1
    assert any(pr.line in lines for pr in exc.value.problems)
    return [pr.message for pr in exc.value.problems]


def test_a_zero_without_the_zero_flag_is_refused(tmp_path):
    msgs = _bad(tmp_path, "    value: 0\n    zero: true\n", "    value: 0\n")
    assert any("'value' is 0" in m for m in msgs)


def test_a_zero_flag_on_a_non_zero_value_is_refused(tmp_path):
    msgs = _bad(tmp_path, "    value: 0\n    zero: true\n", "    value: 12\n    zero: true\n")
    assert any("zero: true has value 0" in m for m in msgs)


def test_a_zero_flag_must_be_boolean(tmp_path):
    msgs = _bad(tmp_path, "    zero: true\n", "    zero: yes please\n")
    assert any("'zero' must be true or false" in m for m in msgs)
