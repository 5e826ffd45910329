"""Every example in README.md and docs/*.md runs: docs that cannot go stale.

Each fenced ``bash``/``console`` block's commands run in a temporary folder where ``scenarios/``
and ``calibration/`` link to the checkout's (``batsim`` becomes ``python -m sim``; ``pip install``
and the test suite itself are skipped, with the reason shown); a ``console`` block's output
lines must appear in what its command prints (whitespace aside; ``…`` stands for anything).
``python`` blocks run in-process in that folder; ``yaml`` blocks must validate merged onto the
shipped baseline (or parse, when marked as fragments). ``batsim calibrate`` writes into a private
copy of the registry, never the checkout's. Markers above a block (tests/docs_blocks.py) may
lower ``--samples``/``--replications``, mark it slow, or skip it with a reason.
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
