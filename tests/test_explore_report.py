"""`batsim report` with an exploration: the robustness table, the Pareto plot, PRIM and CART boxes."""
from __future__ import annotations

import csv
import html
import re

import pytest

import sim
from explore_cases import write


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    """A small finished exploration (4 policies x 24 futures, plots on) and a run folder of its scenario."""
    from sim.explore import explore

    tmp = tmp_path_factory.mktemp("xrep")
    scn, pol = write(tmp)
    res = explore(scn, pol, samples=24, seed=2, out=tmp / "out", workers=1, plots=True, log=lambda m: None)
    run = sim.run(scn, samples=4, seed=1).write(tmp / "runs")
    return res, run, tmp


def _rows(folder, name):
    return list(csv.DictReader(open(folder / name)))


def _section(text):
    return text[text.index("Policy exploration"):]


def test_an_explore_folder_gets_a_report_of_its_own(explored, cli):
    res, _, tmp = explored
    code, out, err = cli("report", res.folder)
    assert code == 0, err
    text = (res.folder / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text.lower()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", text)
    assert refs and all(r.startswith(("#", "data:image/png;base64,")) for r in refs)    # self-contained
    sec = _section(text)
    # the robustness table: every policy of robustness.csv, best first, with its satisficing
    table = sec[sec.index('id="explore-robustness"'):sec.index("</table>", sec.index('id="explore-robustness"'))]
    shown = re.findall(r"<td><code>([^<]+)</code></td>", table)
    ranked = list(dict.fromkeys(r["policy"] for r in _rows(res.folder, "robustness.csv")))
    assert shown == ranked and len(shown) == 4
    sat = {r["policy"]: float(r["value"]) for r in _rows(res.folder, "robustness.csv") if r["metric"] == "satisficing"}
    from sim.analysis.report import _fmt

    for n in shown:
        row = table[table.index(f"<code>{n}</code>"):]
        assert row.split("</td>")[1] == f'<td class="num">{html.escape(_fmt(sat[n]))}', n
    assert f"<b>{html.escape(res.names[res.preferred])}</b>" in sec
    # the Pareto plot, embedded
    assert "pareto (pareto.png)" in sec and sec.count("data:image/png;base64,") == 1
    # PRIM and CART boxes: one table row per row of their CSV (or the sentence that there is none)
    for name, tid in (("prim_boxes.csv", "explore-prim"), ("cart_boxes.csv", "explore-cart")):
        rows = _rows(res.folder, name)
        if rows:
            t = sec[sec.index(f'id="{tid}"'):]
            t = t[:t.index("</table>")]
            assert t.count("<tr>") - 1 == len(rows), name
            assert all(f"<code>{r['param']}</code>" in t for r in rows)
        else:
            assert "box: no region" in sec


def test_a_run_report_with_explore_adds_the_section_and_keeps_the_rest(explored, cli, tmp_path):
    res, run, _ = explored
    out = tmp_path / "brief.html"
    code, stdout, err = cli("report", run, "--explore", res.folder, "--out", out, "--no-drivers")
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    for sid in ("kpis", "plots", "explore-1", "parameters", "manifest"):
        assert f'<section id="{sid}">' in text, sid
    assert text.index('id="drivers"') < text.index('id="explore-1"') < text.index('id="claims"')
    assert 'id="explore-robustness"' in text and "tiny-explore" in text
    # and without --explore there is no such section
    code, _, err = cli("report", run, "--out", tmp_path / "plain.html", "--no-drivers")
    assert code == 0 and "explore-robustness" not in (tmp_path / "plain.html").read_text(encoding="utf-8")


def test_explore_given_a_folder_that_is_not_an_exploration_exits_2_and_writes_nothing(explored, cli, tmp_path):
    _, run, _ = explored
    out = tmp_path / "r.html"
    code, _, err = cli("report", run, "--explore", run, "--out", out, "--no-drivers")
    assert code == 2 and "not a finished explore folder" in err and "Traceback" not in err
    assert not out.exists()
