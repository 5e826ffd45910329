"""Shared inputs of the explore tests: a short scenario and a small policy file."""
from __future__ import annotations

from pathlib import Path

from conftest import STRICT

SHORT = f"""extends: {STRICT}
id: explore-short
calendar: {{start: 2025-01-01, end: 2027-12-31, step: month}}
"""

POLICY = """id: tiny
kpi: cell_output_shortfall_gwh
threshold: {kpi: peak_shortfall_fraction, max: 0.05}
levers:
  stockpile:
    options:
      none: {patch: {}, cost: {lever: 0, unit: USD, why: nothing bought}}
      d30:
        patch:
          reserves:
            graphite:
              initial: {lever: 14500, unit: t, why: test}
              trigger_days: {lever: 20, unit: day, why: test}
              release_days: {lever: 90, unit: day, why: test}
        cost: {param: policy_costs.graphite_stockpile_30d}
  twin:
    options:
      a: {patch: {}, cost: {lever: 0, unit: USD, why: the same policy twice}}
      b: {patch: {}, cost: {lever: 0, unit: USD, why: the same policy twice}}
design: full_factorial
"""


def write(tmp: Path, policy: str = POLICY) -> tuple[Path, Path]:
    """The short scenario and a policy file in ``tmp``."""
    scn = tmp / "short.yaml"
    scn.write_text(SHORT, encoding="utf-8")
    pol = tmp / "policy.yaml"
    pol.write_text(policy, encoding="utf-8")
    return scn, pol


def block_import(monkeypatch, package: str) -> None:
    """Make ``import package`` (and its submodules) raise ImportError, as when an optional extra is missing."""
    import builtins

    real = builtins.__import__

    def blocked(name, *a, **k):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"no {package} here")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", blocked)


def explore_without(monkeypatch, tmp_path, package: str):
    """Run a small exploration with ``package`` unimportable: (result, CLI notes, summary.json)."""
    import json

    from sim.explore import explore

    block_import(monkeypatch, package)
    scn, pol = write(tmp_path)
    notes: list[str] = []
    res = explore(scn, pol, samples=16, seed=1, out=tmp_path / "o", workers=1, plots=False, log=notes.append)
    return res, notes, json.loads((res.folder / "summary.json").read_text())
