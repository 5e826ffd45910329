"""`batsim report`: one self-contained report.html of a run or sweep folder, checked in a real
headless browser (Chromium from Debian's packages; skipped with a clear message without one).

Set BATSIM_REPORT_SCREENSHOT=FILE to keep the browser's screenshot of the report."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sim
from conftest import MAIN
from sim.stockflow.kpis import KPI_UNITS

SAMPLES = 16


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    res = sim.run(MAIN, samples=SAMPLES, seed=1)
    return res.write(out)


@pytest.fixture(scope="module")
def report(run_folder):
    from sim.cli.main import main

    assert main(["report", str(run_folder)]) == 0
    return run_folder / "report.html"


def test_report_is_written_inside_the_folder_and_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert report.name == "report.html" and text.startswith("<!DOCTYPE html>")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", text)
    assert refs and not [r for r in refs if re.match(r"(?i)(https?:)?//", r)]
    assert not [r for r in refs if not r.startswith(("#", "data:image/png;base64,"))]   # nothing outside the file
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 5                  # the five plots


def test_report_has_every_section_a_reviewer_needs(report, run_folder):
    text = report.read_text(encoding="utf-8")
    for sid in ("question", "kpis", "plots", "drivers", "claims", "parameters", "assumptions", "bibliography",
                "manifest"):
        assert f'<section id="{sid}">' in text
    summ = json.loads((run_folder / "summary.json").read_text())
    man = json.loads((run_folder / "manifest.json").read_text())
    assert "how much US cell output is lost" in text                    # the question (description)
    for k in KPI_UNITS:
        assert f"<code>{k}</code>" in text
    assert "P(KPI &gt; 0)" in text and f"Median over {SAMPLES} samples" in text
    for c in summ["claims"]:                                            # cited claim beside the model's figure
        assert f"<b>{c['model']}</b>" in text and c["param"] in text
    for p in man["parameters"]:
        assert f"<code>{p['id']}</code>" in text
    for i in man["inputs"]:
        assert i["sha256"] in text
    anchors = set(re.findall(r'<li id="([^"]+)"', text))
    links = set(re.findall(r'href="#(bib-[^"]+)"', text))
    assert links and links <= anchors                                    # every citation links to its entry
    # the drivers name their parameters with the command that explains them (a calibrated licence term leads)
    assert "[batsim explain" not in text and re.search(r"batsim explain calibrated\.episodes\.[a-z_]+", text)


def test_a_sweep_folder_reports_its_own_drivers(tmp_path):
    from sim.analysis.report_html import write_report
    from sim.sweep.run import sweep

    params = ["calibrated.episodes.licence_approval_share", "inventory.anode_days"]
    res = sweep(MAIN, "oat", params=params, out=tmp_path, workers=1, log=lambda m: None)
    path = write_report(res.folder)
    text = path.read_text(encoding="utf-8")
    assert path == res.folder / "report.html"
    assert "From this sweep&#x27;s indices (oat" in text and "spread of the design, not a probability band" in text
    top = res.summary["top"]["cell_output_shortfall_gwh"][0]["param"]
    assert f"<code>{top}</code>" in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == len(list((res.folder / "plots").glob("*.png")))


def test_bad_folders_exit_2_and_write_nothing(cli, tmp_path):
    code, out, err = cli("report", tmp_path / "nope")
    assert code == 2 and "no such folder" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, out, err = cli("report", tmp_path / "empty")
    assert code == 2 and "not a finished run or sweep folder" in err
    assert list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    code, out, err = cli("report", tmp_path / "broken")
    assert code == 2 and re.search(r"summary.json:1:2: summary.json is not valid JSON", err)


# ---- in a real browser --------------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _browse(url: str, tmp: Path, *flags: str) -> subprocess.CompletedProcess:
    exe = _chromium()
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--window-size=1280,1600", *flags, url],
                          capture_output=True, text=True, timeout=180)


def console_messages(stderr: str) -> list[str]:
    """Chromium's log lines for the page's console (errors, warnings, failed loads)."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "CONSOLE(" in ln]


def table_lines(png: Path) -> int:
    """Horizontal rules in the screenshot drawn in the tables' border colour (#ddd) across most of the width."""
    import matplotlib.image as mi

    a = mi.imread(png)[:, :, :3]
    rule = np.all(np.abs(a - 221 / 255) < 0.02, axis=2)
    return int((rule.mean(axis=1) > 0.5).sum())


needs_browser = pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on this machine: install it "
                                   "with 'apt-get install -y chromium' (.ci/run does) to run the browser test")


def test_console_check_catches_errors(tmp_path):
    if _chromium() is None:
        pytest.skip("no headless Chromium on this machine (apt-get install -y chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("h12-boom")</script></body></html>')
    r = _browse(bad.as_uri(), tmp_path, "--dump-dom")
    assert any("h12-boom" in m for m in console_messages(r.stderr)), r.stderr[-2000:]


@needs_browser
@pytest.mark.slow
def test_report_loads_in_chromium_without_console_errors_and_shows_the_kpi_table(report, tmp_path):
    r = _browse(report.as_uri(), tmp_path, "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_messages(r.stderr) == []
    assert 'id="kpi-table"' in r.stdout and "cell_output_shortfall_gwh" in r.stdout     # rendered DOM
    shot = tmp_path / "report.png"
    r = _browse(report.as_uri(), tmp_path, f"--screenshot={shot}")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    assert console_messages(r.stderr) == []
    assert shot.stat().st_size > 50_000                       # not a blank page
    assert table_lines(shot) >= len(KPI_UNITS) + 1            # the KPI table's rows are on screen
    keep = os.environ.get("BATSIM_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
