"""batsim params: list the registry (or what one scenario uses) with value, unit, kind and source."""
from __future__ import annotations

import argparse

NAME = "params"
ORDER = 30
HELP = "list parameters with value, unit, range, kind and source (all, or those a scenario uses)"
DESCRIPTION = """List every registry parameter, or with SCENARIO every value that scenario uses:
registry entries (inputs of derived entries included), its levers (what-if choices) and its
cited overrides. Formats: text (a table), json (a list of objects with id, name, value, unit,
low, high, kind, source, sources, ...), markdown (the catalogue docs/parameters.md is made of).

examples:
  batsim params
  batsim params scenarios/graphite-controls-2025.yaml --format json
  batsim params --format markdown > docs/parameters.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a scenario YAML file (default: the whole registry)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from ...provenance.audit import fmt_value
    from ...provenance.catalogue import range_text, render, source_text, value_text
    from ...provenance.explain import display_where, derived_range, nominal
    from ...provenance.registry import load_registry

    paths: dict[str, list[str]] = {}
    if args.scenario:
        import sim

        scn = sim.load_scenario(args.scenario)
        reg = scn.registry
        params = scn.params()
        for q in scn.quantities.values():
            paths.setdefault(q.pid, []).append(q.path)
        title = f"Parameters of scenario {scn.id}"
    else:
        reg = load_registry()
        params = [reg[i] for i in reg.ids()]
        title = "Parameter catalogue"
    if args.format == "markdown":
        print(render(reg, params=params if args.scenario else None, title=title), end="")
        return 0

    def jv(v: object) -> object:
        return v.isoformat() if isinstance(v, dt.date) else v

    rows = []
    for p in params:
        derived = p.kind == "derived" and p.id in reg
        r = derived_range(reg, p.id) if derived else (p.low, p.high)
        rows.append({
            "id": p.id, "name": p.name, "value": jv(nominal(reg, p.id) if derived else p.value), "unit": p.unit,
            "low": jv(r[0]) if r else None, "high": jv(r[1]) if r else None, "distribution": p.distribution,
            "kind": p.kind, "source": p.sources[0] if p.sources else None, "sources": p.sources,
            "locator": p.evidence[0].locator if p.evidence else None, "formula": p.formula or None,
            "file": display_where(p.file), "line": p.line, **({"paths": sorted(paths.get(p.id, []))} if args.scenario else {}),
        })
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [(p.id, p.kind, value_text(reg, p), range_text(reg, p), source_text(p)) for p in params]
    heads = ("id", "kind", "value", "range", "source")
    w = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(heads[:4])]
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(heads[:4])) + "  source")
    for r in table:
        src = r[4] if len(r[4]) <= 70 else r[4][:67] + "..."
        print("  ".join(r[i].ljust(w[i]) for i in range(4)) + "  " + src)
    kinds: dict[str, int] = {}
    for p in params:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    print(f"\n{len(params)} parameters: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
          + ("" if args.scenario else f"; {fmt_value(len(reg.params))} in the registry")
          + ". 'batsim explain ID' shows the evidence for one.")
    return 0
