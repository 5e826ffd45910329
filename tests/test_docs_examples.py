"""Every example in README.md and docs/*.md runs: docs that cannot go stale.

Each fenced ``bash``/``console`` block's commands run in a temporary folder where ``scenarios/``
and ``calibration/`` link to the checkout's (``batsim`` becomes ``python -m sim``; ``pip install``
and the test suite itself are skipped, with the reason shown); a ``console`` block's output
lines must appear in what its command prints (whitespace aside; ``…`` stands for anything).
``python`` blocks run in-process in that folder; ``yaml`` blocks must validate merged onto the
shipped baseline (or parse, when marked as fragments). ``batsim calibrate`` writes into a private
copy of the registry, never the checkout's. Markers above a block (tests/docs_blocks.py) may
lower ``--samples``/``--replications``, run ``batsim calibrate --quick``, mark it slow, or skip it
with a reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from docs_blocks import RUNNABLE, Block, blocks, console_steps, reduce_text, shell_commands

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ALL = blocks(DOCS)
TIMEOUT = 600


def _params() -> list:
    out = []
    for b in ALL:
        if b.lang not in RUNNABLE:
            continue
        marks = [pytest.mark.slow] if b.slow else []
        out.append(pytest.param(b, id=b.id, marks=marks))
    return out


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    for name in ("scenarios", "calibration"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.delenv("BATSIM_CALIBRATION", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BATSIM_CALIBRATION"}
    env.update({"PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""), "MPLBACKEND": "Agg"}, **extra)
    return env


def _private_registry(workdir: Path) -> Path:
    copy = workdir.parent / f"{workdir.name}-registry" / "calibration"
    if not copy.exists():
        shutil.copytree(ROOT / "calibration", copy)
    return copy


def _run(cmd: list[str], cwd: Path, workdir: Path) -> subprocess.CompletedProcess | str:
    """Run one documented command; a string is the reason it was skipped."""
    if cmd[0] == "pip":
        return "pip install is the reader's setup step (tests/test_fresh_install.py installs the package)"
    if cmd[:3] == ["python", "-m", "pytest"]:
        return "the test suite itself"
    if any(w in (">", ">>", "|", "<") for w in cmd):
        raise AssertionError(f"shell redirection in a documented command is not supported: {cmd}")
    extra: dict[str, str] = {}
    if cmd[0] == "batsim":
        argv = [sys.executable, "-m", "sim", *cmd[1:]]
        if cmd[1:2] == ["calibrate"]:
            extra["BATSIM_CALIBRATION"] = str(_private_registry(workdir))
    elif cmd[0] == "python":
        argv = [sys.executable, *cmd[1:]]
    else:
        raise AssertionError(f"unknown command {cmd[0]!r} in a documented block; mark it "
                             "'<!-- docs-test: skip REASON -->' if it cannot run here")
    return subprocess.run(argv, cwd=cwd, env=_env(extra), capture_output=True, text=True, timeout=TIMEOUT)


def _norm(s: str) -> str:
    return " ".join(s.split())


def _shows(expected: str, output: str) -> bool:
    pos = 0
    for piece in (_norm(p) for p in expected.split("…")):
        i = output.find(piece, pos)
        if i < 0:
            return False
        pos = i + len(piece)
    return True


def _shell(b: Block, workdir: Path) -> list[str]:
    text = reduce_text(b.text, b.reduce, python=False)
    steps = console_steps(text) if b.lang == "console" else [(c, []) for c in shell_commands(text)]
    assert steps, f"{b.id}: a {b.lang} block with no command"
    cwd, skipped = workdir, []
    for cmd, expected in steps:
        if b.quick and cmd[:2] == ["batsim", "calibrate"]:
            cmd = [*cmd, "--quick"]
        if cmd[0] == "cd":
            cwd = (cwd / cmd[1]).resolve()
            continue
        r = _run(cmd, cwd, workdir)
        if isinstance(r, str):
            skipped.append(f"{' '.join(cmd)}: {r}")
            continue
        shown = f"$ {' '.join(cmd)}\n{r.stdout}\n{r.stderr}"
        assert r.returncode == 0, f"{b.id}: exit {r.returncode}\n{shown}"
        assert "Traceback" not in r.stderr, shown
        out = _norm(r.stdout + "\n" + r.stderr)
        for line in expected:
            assert _shows(line, out), f"{b.id}: the doc says the command prints {line!r}; it printed:\n{shown}"
    return skipped


def _python(b: Block) -> None:
    code = reduce_text(textwrap.dedent(b.text), b.reduce, python=True)
    exec(compile(code, f"{b.file}:{b.line}", "exec"), {"__name__": "__docs__"})


def _yaml(b: Block, workdir: Path) -> None:
    data = yaml.safe_load(b.text)
    assert isinstance(data, dict), f"{b.id}: a YAML example is a mapping"
    if b.fragment:
        return
    import sim

    f = workdir / "snippet.yaml"
    f.write_text("extends: baseline\nid: docs-snippet\n" + b.text, encoding="utf-8")
    sim.load_scenario(f)    # raises BadInput, with every problem located, if the example is stale


@pytest.mark.parametrize("block", _params())
def test_documented_example_runs(block: Block, workdir: Path) -> None:
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    if block.lang == "python":
        import matplotlib

        matplotlib.use("Agg")
        _python(block)
    elif block.lang == "yaml":
        _yaml(block, workdir)
    else:
        skipped = _shell(block, workdir)
        if skipped and len(skipped) == len(shell_commands(block.text)):
            pytest.skip("; ".join(skipped))


def test_every_block_with_a_command_is_tagged():
    """An untagged block holding a command would escape these tests: each must say its language."""
    bad = [b.id for b in ALL if b.lang == "" and any(
        line.lstrip("$ ").startswith(("batsim ", "python ", "import sim")) for line in b.text.splitlines())]
    assert not bad, f"tag these blocks (```bash, ```python or ```text): {bad}"


def test_the_collector_finds_the_examples():
    langs = [b.lang for b in ALL]
    assert langs.count("python") >= 3 and langs.count("yaml") >= 1
    assert sum(lang in ("bash", "console") for lang in langs) >= 4


def _readme_table() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = "| scenario | shortfall (GWh) | peak shortfall | days to stock-out | recovery | jobs at risk (peak) | Si/C share at end |"
    assert head in text, "the README's table of shipped-scenario results moved; update this test"
    rows = []
    for line in text[text.index(head):].splitlines()[2:]:
        if not line.startswith("| `"):
            break
        rows.append([c.strip().strip("`") for c in line.strip("|").split("|")])
    return rows


@pytest.mark.slow
def test_the_readme_table_of_shipped_scenarios_is_what_batsim_run_gives():
    """The README states each shipped scenario's KPIs (seed 0, nominal values); they must be current."""
    import sim

    rows = _readme_table()
    assert len(rows) == 7
    for sid, shortfall, peak, days, recovery, jobs, sic in rows:
        s = sim.run(ROOT / "scenarios" / f"{sid}.yaml", seed=0).summary()
        assert float(shortfall) == pytest.approx(s["cell_output_shortfall_gwh"], abs=0.051), sid
        assert float(peak) == pytest.approx(s["peak_shortfall_fraction"], abs=0.0051), sid
        assert (days == "—" and s["days_until_stockout"] is None) or float(days) == pytest.approx(
            s["days_until_stockout"], abs=0.51), sid
        got = s["recovery_date"]
        assert (got is None and recovery.startswith("none")) or recovery == got, (sid, recovery, got)
        assert int(jobs.replace(",", "")) == round(s["jobs_at_risk_peak"]), sid
        assert float(sic) == pytest.approx(s["sic_anode_share_end"], abs=0.00051), sid


@pytest.mark.slow
def test_the_readme_ensemble_figures_are_what_1000_samples_give():
    """README: '--samples 1000 loses output in N% of samples (median, mean, 95th percentile ...)'."""
    import re

    import numpy as np

    import sim

    text = _norm((ROOT / "README.md").read_text(encoding="utf-8"))
    m = re.search(r"graphite-controls-2025\.yaml --samples 1000` loses output in (\d+)% of samples \(median ([\d.]+), "
                  r"mean ([\d.]+) GWh, 95th percentile ([\d.]+) GWh; peak shortfall fraction ([\d.]+) and ([\d,]+) "
                  r"jobs at risk at the 95th percentile\)", text)
    assert m, "the README's ensemble sentence changed; update this test"
    k = sim.run(ROOT / "scenarios" / "graphite-controls-2025.yaml", samples=1000, seed=0, record="summary").kpis
    short = k["cell_output_shortfall_gwh"]
    assert int(m[1]) == round(100 * float((short > 0).mean()))
    assert float(m[2]) == pytest.approx(float(np.median(short)), abs=0.05)
    assert float(m[3]) == pytest.approx(float(short.mean()), abs=0.05)
    assert float(m[4]) == pytest.approx(float(np.quantile(short, 0.95)), abs=0.05)
    assert float(m[5]) == pytest.approx(float(np.quantile(k["peak_shortfall_fraction"], 0.95)), abs=0.005)
    assert int(m[6].replace(",", "")) == round(float(np.quantile(k["jobs_at_risk_peak"], 0.95)))


@pytest.mark.slow
def test_the_readme_world_market_table_is_what_batsim_run_gives():
    """README: each importer's KPIs and graphite price index in the world-market scenario."""
    import sim

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = "| importer | shortfall (GWh) | peak shortfall | graphite price index peak | graphite price index mean |"
    assert head in text, "the README's world-market table moved; update this test"
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in text[text.index(head):].splitlines()[2:] if line.startswith("| ")]
    rows = rows[:next((i for i, r in enumerate(rows) if len(r) != 6), len(rows))]
    regions = sim.run(ROOT / "scenarios" / "world-graphite-controls-2025.yaml", seed=0).summary()["regions"]
    assert [r[0] for r in rows] == list(regions)
    for code, shortfall, peak, p_peak, p_mean, cn_share in rows:
        reg = regions[code]
        assert float(shortfall) == pytest.approx(reg["cell_output_shortfall_gwh"], abs=0.051), code
        assert float(peak) == pytest.approx(reg["peak_shortfall_fraction"], abs=0.0051), code
        assert float(p_peak) == pytest.approx(reg["price_index_peak"]["graphite"], abs=0.0051), code
        assert float(p_mean) == pytest.approx(reg["price_index_mean"]["graphite"], abs=0.0051), code
        assert float(cn_share) == pytest.approx(reg["controlled_origin_share_end"], abs=0.0051), code
