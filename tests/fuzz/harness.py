"""Run mutated scenarios through the real CLI entry point and judge each outcome.

A case fails when: the exit code is not 0 or 2 (bad input must never exit 1), a traceback
reaches stderr, it runs past its time bound, a problem line is not ``FILE:LINE:COL: message
(hint: ...)`` or is unbounded, a rejected case leaves anything in its output folder, or a
successful run writes a ``summary.json`` that is not strict JSON.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import mutate

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
PROBLEM = re.compile(r"^[^\n]+:\d+:\d+: .+ \(hint: .+\)$")
SUMMARY_LINE = re.compile(r"^batsim: \d+ problems? found; ")
MAX_LINE = 2000           # a problem line echoes at most this much
CASE_CPU_SECONDS = 30.0   # CPU-time bound of one case (a valid short run takes ~0.5 s of CPU, plots ~3 s)
CASE_SECONDS = 600.0      # wall-clock bound, for cases that block without using CPU (a FIFO, a device)
SHORT_CALENDAR = {"start": dt.date(2025, 1, 1), "end": dt.date(2026, 7, 1), "step": "week"}


class Hang(BaseException):
    """Raised by the alarm when a case runs past its time bound (not an Exception: main must not catch it)."""


@dataclass
class Stats:
    """Counts over a campaign, and the failures with what reproduces them."""

    cases: int = 0
    exit0: int = 0
    exit2: int = 0
    exit1: int = 0
    other_exit: int = 0
    tracebacks: int = 0
    hangs: int = 0
    runs: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"cases {self.cases}, exit 2: {self.exit2}, exit 0: {self.exit0}, exit 1: {self.exit1}, "
                f"other exit: {self.other_exit}, tracebacks: {self.tracebacks}, hangs: {self.hangs}, "
                f"runs with output: {self.runs}, failures: {len(self.failures)}")


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def call_cli(args: list[str], cpu_seconds: float = CASE_CPU_SECONDS,
             seconds: float = CASE_SECONDS) -> tuple[int | None, str, str]:
    """``sim.cli.main.main(args)`` in-process with time bounds; (exit code or None on a hang, stdout, stderr).

    The bound that catches a busy hang is on CPU time (ITIMER_PROF), so a machine shared with
    other jobs does not turn a slow case into a false hang; a wall-clock bound catches blocking.
    """
    from sim.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    old_prof = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: int | None = main(args)
            except SystemExit as exc:
                code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except Hang:
        code = None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, old)
        signal.signal(signal.SIGPROF, old_prof)
    return code, out.getvalue(), err.getvalue()


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity (which Python's json writes and reads by default)."""
    def fail(c: str) -> Any:
        raise ValueError(f"non-standard JSON constant {c}")

    return json.loads(text, parse_constant=fail)


def problems_ok(err: str) -> list[str]:
    """What is wrong with the stderr of a bad-input exit (empty when every line is as promised)."""
    bad = []
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if not lines or not SUMMARY_LINE.match(lines[-1]):
        bad.append(f"no closing 'N problems found' line: {err[-300:]!r}")
    for ln in lines[:-1]:
        if len(ln) > MAX_LINE:
            bad.append(f"problem line of {len(ln)} characters: {ln[:200]!r}...")
        elif not PROBLEM.match(ln):
            bad.append(f"not FILE:LINE:COL: message (hint: ...): {ln[:300]!r}")
    return bad


class Workspace:
    """A folder with copies of the shipped scenarios and the odd files ``extends:`` may name."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        for f in SCENARIOS.glob("*.yaml"):
            shutil.copy(f, root / f.name)
        (root / "dir.yaml").mkdir(exist_ok=True)
        (root / "binary.yaml").write_bytes(bytes(range(256)) * 4)
        (root / "huge.yaml").write_text("# padding\n" * 200_000)
        if not (root / "fifo.yaml").exists():
            os.mkfifo(root / "fifo.yaml")
        self.names = sorted(f.name for f in SCENARIOS.glob("*.yaml"))
        self.texts = {n: (root / n).read_text(encoding="utf-8") for n in self.names}
        self._merged: dict[str, dict] = {}

    def merged(self, name: str) -> dict:
        """The scenario with its ``extends:`` chain merged in: every section present, to mutate."""
        if name not in self._merged:
            from sim.scenario.load import load_document

            self._merged[name] = load_document(self.root / name).data
        return self._merged[name]


def make_case(ws: Workspace, seed: int, i: int, run_every: int) -> tuple[Path, str, bool]:
    """Write case ``i`` of campaign ``seed``; (its file, a label, whether to run it when valid)."""
    rng = random.Random(f"{seed}:{i}")
    name = rng.choice(ws.names)
    path = ws.root / f"case-{i}.yaml"
    run = i % run_every == 0
    if run:   # valid edge values (zero demand, idle plants, far dates), run on a short calendar
        merged = dict(ws.merged(name))
        merged["calendar"] = dict(SHORT_CALENDAR)
        text, label = mutate.edge(rng, merged)
    elif rng.random() < 0.6:
        text, label = mutate.structural(rng, dict(ws.merged(name)))
    else:
        text, label = mutate.textual(rng, ws.texts[name])
        text = text.replace('"self"', f'"{path.name}"')
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path, f"case {i} (seed {seed}) from {name}: {label}", run


def judge(ws: Workspace, path: Path, label: str, run: bool, stats: Stats) -> None:
    """Validate (and maybe run) one case and count its outcome."""
    stats.cases += 1
    t0 = time.monotonic()
    code, _, err = call_cli(["validate", str(path)])
    fails = _check(code, err, label)
    if code == 0 and run and not fails:
        out = ws.root / f"out-{path.stem}"
        plots = [] if rng_plots(path) else ["--no-plots"]
        code, _, err = call_cli(["run", str(path), "--out", str(out), "--quiet", *plots])
        fails += _check(code, err, label + " [run]")
        if code == 0:
            stats.runs += 1
            fails += _check_output(out, label)
        elif code == 2 and out.exists() and any(out.iterdir()):
            fails.append(f"{label} [run]: exit 2 left {sorted(p.name for p in out.iterdir())}")
        shutil.rmtree(out, ignore_errors=True)
    stats.exit0 += code == 0
    stats.exit2 += code == 2
    stats.exit1 += code == 1
    stats.other_exit += code not in (0, 1, 2, None)
    stats.hangs += code is None
    stats.tracebacks += "Traceback" in err
    if fails:
        stats.failures.extend(f"{f} ({time.monotonic() - t0:.1f} s)" for f in fails)


def rng_plots(path: Path) -> bool:
    """One run case in twenty also draws its plots (they are the slow part)."""
    return int(path.stem.split("-")[-1]) % 200 == 0


def _check(code: int | None, err: str, label: str) -> list[str]:
    if code is None:
        return [f"{label}: HANG (over {CASE_CPU_SECONDS:g} s of CPU or {CASE_SECONDS:g} s)"]
    out = []
    if "Traceback" in err:
        out.append(f"{label}: traceback: {err[-500:]}")
    if code not in (0, 2):
        out.append(f"{label}: exit {code}: {err[-500:]}")
    if code == 2:
        out.extend(f"{label}: {b}" for b in problems_ok(err)[:3])
    return out


def _check_output(out: Path, label: str) -> list[str]:
    # the run folder's lock file (sim/outputs/atomic.py: one lock per output folder) stays by design
    folders = [p for p in out.iterdir() if not (p.name.startswith(".") and p.name.endswith(".lock"))] \
        if out.exists() else []
    if len(folders) != 1 or not folders[0].is_dir():
        return [f"{label} [run]: expected one result folder, got {[p.name for p in folders]}"]
    summ = folders[0] / "summary.json"
    try:
        strict_json(summ.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{label} [run]: summary.json is not strict JSON: {exc}"]
    return []


def campaign(root: Path, seed: int, cases: int, run_every: int = 10, progress: Path | None = None) -> Stats:
    """Run ``cases`` mutated scenarios (seeded) and return the counts and failures (the counts
    so far are appended to ``progress`` every 100 cases, for long campaigns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (imported once here, not inside a case's time bound)

    ws = Workspace(root)
    stats = Stats()
    for i in range(cases):
        path, label, run = make_case(ws, seed, i, run_every)
        judge(ws, path, label, run, stats)
        path.unlink()
        if progress is not None and (i + 1) % 100 == 0:
            with open(progress, "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} {stats.line()}\n")
    return stats
