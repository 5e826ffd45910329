"""Policy combinations: the design over the levers' options, and each combination's compiled scenario.

A combination takes one option per lever; its scenario is the base scenario with every chosen
patch deep-merged over it (the ``extends:`` merge of :mod:`sim.scenario.load`), then compiled and
validated like any scenario. The merged values keep their position in the policy file, so a
patch naming an input the scenario does not have, or a value out of range, is reported at
FILE:LINE:COL of the policy file.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import BadInput, Problem
from ..scenario.compile import Scenario, compile_document, dedupe_problems
from ..scenario.load import Document, _merge
from .policy import Option, PolicyFile


@dataclass
class Combination:
    """One policy: an option per lever, its name and its compiled scenario."""

    index: int
    options: tuple[Option, ...]
    scenario: Scenario | None = None

    @property
    def name(self) -> str:
        return "+".join(f"{o.lever}={o.name}" for o in self.options)

    def choices(self) -> dict[str, str]:
        return {o.lever: o.name for o in self.options}


def design(pf: PolicyFile, seed: int = 0) -> list[Combination]:
    """Full factorial over the levers' options, or ``sampled: n`` distinct combinations of it.

    The sample is drawn from ``SeedSequence([seed, 1])`` (independent of the futures' stream) and
    kept in full-factorial order, so the same file and seed give the same policies.
    """
    grid = list(itertools.product(*pf.levers.values()))
    if pf.design["kind"] == "sampled" and pf.design["n"] < len(grid):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
        keep = np.sort(rng.choice(len(grid), size=pf.design["n"], replace=False))
        grid = [grid[i] for i in keep]
    return [Combination(i, tuple(c)) for i, c in enumerate(grid)]


def patched(base: Document, pf: PolicyFile, options: tuple[Option, ...]) -> Document:
    """The base document with the options' patches merged over it, positions kept."""
    doc = Document(data=base.data, files=list(base.files) + [pf.file], values=dict(base.values),
                   keys=dict(base.keys), replaced=dict(base.replaced))
    for o in options:
        doc.data = _merge(doc.data, (), o.patch, pf.loc, o.path + ("patch",), (), doc)
    return doc


def compile_options(pf: PolicyFile, base: Document, registry: Any) -> None:
    """Check every option's patch alone over the scenario; BadInput (policy-file positions) on problems."""
    problems: list[Problem] = []
    for opts in pf.levers.values():
        for o in opts:
            try:
                compile_document(patched(base, pf, (o,)), registry)
            except BadInput as exc:
                problems += exc.problems
    if problems:
        raise BadInput(dedupe_problems(problems))


def compile_all(pf: PolicyFile, combos: list[Combination], base: Document, registry: Any) -> None:
    """Compile each combination's scenario (after :func:`compile_options`); BadInput on problems."""
    problems: list[Problem] = []
    for c in combos:
        try:
            c.scenario = compile_document(patched(base, pf, c.options), registry)
        except BadInput as exc:
            problems += exc.problems
    if problems:
        raise BadInput(dedupe_problems(problems))
