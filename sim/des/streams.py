"""Random streams: one SeedSequence per run, one child per replication, one named stream per use.

``SeedSequence(seed).spawn(n)`` gives replication ``i`` its child; inside a replication each
random purpose (the transit times of one origin and material, the reviews of one control, the
slip of one plant, ...) draws from its own stream, keyed by name. A replication's draws therefore
depend only on (seed, i, name): the same whatever the worker count, and the same in two scenarios
that differ elsewhere (common random numbers: a scenario that adds a plant does not shift the
transit times of another).
"""
from __future__ import annotations

import math
import zlib

import numpy as np

BUFFER = 512   # draws generated at a time (one vectorised call instead of many scalar ones)


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """The children of ``SeedSequence(seed)``, one per replication."""
    return np.random.SeedSequence(int(seed)).spawn(n)


def named(parent: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The generator of stream ``name`` inside a replication."""
    key = tuple(parent.spawn_key) + (zlib.crc32(name.encode()),)
    return np.random.default_rng(np.random.SeedSequence(parent.entropy, spawn_key=key))


def impossible(shape: str, cv: float) -> str:
    """Why a delay distribution with this shape and cv cannot exist ('' when it can)."""
    if not math.isfinite(cv) or cv < 0:
        return f"a coefficient of variation must be a finite number >= 0 (got {cv:g})"
    if shape == "uniform" and cv > 1 / math.sqrt(3) + 1e-12:
        return (f"a uniform delay with cv {cv:g} would be negative: a uniform distribution on [0, 2 x mean] "
                f"has cv {1 / math.sqrt(3):.4f} at most")
    return ""


class Multiplier:
    """Draws of a positive factor with mean 1 and a given cv: delay = mean x factor."""

    def __init__(self, rng: np.random.Generator, shape: str, cv: float):
        why = impossible(shape, cv)
        if why:
            raise ValueError(why)
        self.rng, self.shape, self.cv = rng, shape, float(cv)
        self.fixed = shape == "fixed" or cv == 0
        self._next = iter(()).__next__

    def _fill(self) -> None:
        cv, rng = self.cv, self.rng
        if self.shape == "gamma":
            k = 1.0 / (cv * cv)
            buf = rng.standard_gamma(k, BUFFER) / k
        elif self.shape == "lognormal":
            s2 = math.log1p(cv * cv)
            buf = np.exp(rng.standard_normal(BUFFER) * math.sqrt(s2) - s2 / 2)
        elif self.shape == "uniform":
            buf = 1.0 + cv * math.sqrt(3.0) * (2.0 * rng.random(BUFFER) - 1.0)
        else:  # pragma: no cover - validated before
            raise ValueError(f"unknown shape '{self.shape}'")
        self._next = iter(buf.tolist()).__next__

    def __call__(self) -> float:
        """The next factor (1.0 for a fixed delay)."""
        if self.fixed:
            return 1.0
        try:
            return self._next()
        except StopIteration:
            self._fill()
            return self._next()


class _Buffered:
    """Draws taken from a generator a buffer at a time (one numpy call per BUFFER draws)."""

    def __init__(self, rng: np.random.Generator, draw: str):
        self.rng = rng
        self._draw = getattr(rng, draw)
        self._next = iter(()).__next__

    def __call__(self) -> float:
        """The next draw."""
        try:
            return self._next()
        except StopIteration:
            self._next = iter(self._draw(BUFFER).tolist()).__next__
            return self._next()


class Uniform(_Buffered):
    """Buffered U(0,1) draws (licence approvals)."""

    def __init__(self, rng: np.random.Generator):
        super().__init__(rng, "random")


class Normal(_Buffered):
    """Buffered standard normal draws (batch yields)."""

    def __init__(self, rng: np.random.Generator):
        super().__init__(rng, "standard_normal")
