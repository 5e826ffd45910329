"""Scaffold a study folder: a scenario extending a shipped one by name, a README, an empty registry.

A study folder is where an analyst works outside the batsim checkout. Its ``calibration/``
holds the study's own registry entries, bibliography and source passages, which batsim reads
after the shipped ones (see :mod:`sim.paths`) and ``batsim audit`` checks the same way.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from .core.errors import BadInput, Problem

MAIN_SCENARIO = "graphite-controls-2025"

SCENARIO = """\
# A study scenario: everything not stated here comes from the shipped scenario named below
# ('batsim validate scenario.yaml' lists the names that 'extends:' accepts when one is wrong).
extends: {base}
id: {sid}
title: "{title}"
description: >
  Question: what does this study ask? State it here; it heads every report.

# To change a value, override it. A lever is a what-if choice and says why:
#
# cells:
#   capacity: {{lever: 200, unit: GWh/year, why: "what if US cell capacity were 200 GWh/yr"}}
#
# A cited value names a source in the bibliography (the shipped one or this study's
# calibration/bibliography/study.json), where in the source it stands, and a verbatim quote
# that calibration/sources/<source>.txt contains, so that 'batsim audit' can check it:
#
# cells:
#   capacity: {{value: 200, unit: GWh/year,
#               cite: {{source: my-source-2026, locator: "p. 3", quote: "the exact words of the source"}}}}
"""

README = """\
# Study: {title}

Made by `batsim init`. `scenario.yaml` extends the shipped scenario `{base}`; edit it to
ask your own question. Run these commands from this folder:

```bash
batsim validate scenario.yaml              # every problem at once, as FILE:LINE:COL
batsim run scenario.yaml                   # writes outputs/{sid}/ (timeseries, summary, manifest, plots)
batsim run scenario.yaml --samples 1000    # an ensemble over every cited range
batsim compare scenario.yaml variant.yaml  # KPI and parameter differences (copy scenario.yaml to variant.yaml, change a value)
batsim report outputs/{sid}                # one self-contained HTML file for a reviewer
batsim sweep scenario.yaml --method morris --samples 20   # which parameters drive the results
batsim audit                               # checks this study's citations with the shipped ones
```

Your own figures go in `calibration/`: registry entries in `calibration/parameters/*.yaml`
(the format is the shipped registry's: id, name, unit, kind, value, range, evidence), CSL-JSON
references in `calibration/bibliography/*.json`, and the passage read from each external source
in `calibration/sources/<source-id>.txt` (first line `# <URL> — read YYYY-MM-DD`). A scenario
uses an entry as `{{param: its.id}}`. `batsim explain ID` shows any parameter's evidence.
"""

REGISTRY = """\
# This study's own registry entries (read after the shipped registry; ids must not repeat one).
# Example (uncomment and fill in from your source):
#
# - id: study.cell_capacity_2027
#   name: US cell capacity expected in 2027
#   unit: GWh/year
#   kind: cited
#   value: 200
#   range: {low: 150, high: 250}
#   evidence:
#     source: my-source-2026
#     locator: "p. 3"
#     quote: "the exact words of the source"
#     reading: how the figure was read from the quote
parameters: []
"""


def scenario_id(folder: Path) -> str:
    """A scenario id (a file-name-safe slug) from the study folder's name."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", folder.resolve().name.lower()).strip("-._")
    return slug[:64] if slug else "my-study"


def init_study(folder: str | Path, base: str = MAIN_SCENARIO) -> list[Path]:
    """Write a study folder at ``folder`` (new or empty) atomically; return the files written."""
    d = Path(folder)
    if d.exists() and not d.is_dir():
        raise BadInput([Problem(str(d), 1, 1, "exists and is not a folder", "give a new folder name")])
    if d.is_dir() and any(d.iterdir()):
        raise BadInput([Problem(str(d), 1, 1, "folder is not empty; nothing was overwritten",
                                "give a new or empty folder, e.g. batsim init my-study")])
    sid = scenario_id(d)
    title = sid.replace("-", " ").capitalize()
    files = {
        "scenario.yaml": SCENARIO.format(base=base, sid=sid, title=title),
        "README.md": README.format(base=base, sid=sid, title=title),
        "calibration/parameters/study.yaml": REGISTRY,
        "calibration/bibliography/study.json": "[]\n",
        "calibration/sources/README.md": "Passages read from this study's external sources, one file per "
                                         "source: <source-id>.txt.\n",
    }
    parent = d.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.init-", dir=parent))
    try:
        for rel, text in files.items():
            f = tmp / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text, encoding="utf-8")
        mask = os.umask(0)
        os.umask(mask)
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod((0o777 if p.is_dir() else 0o666) & ~mask)
        if d.is_dir():
            d.rmdir()          # empty, checked above
        os.replace(tmp, d)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [d / rel for rel in files]
