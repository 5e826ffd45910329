"""Learning curves: price against time, a learning rate through a cited volume growth, and the
scale a loss-making producer would need to break even.

No cited series of cumulative battery deployment was found, so the curve is fitted against
time: ``price(t) = level * exp(-decline * (t - base_year))``. A learning rate (fall per doubling
of cumulative output) follows when output grows at a steady exponential rate ``r`` (then
cumulative output grows at ``r`` too): ``price ∝ Q^(-decline / r)`` and
``learning_rate = 1 - 2^(-decline / r)``, with ``r = ln(factor) / years`` from a cited growth of
output. Read as a scale curve (unit cost ∝ scale^(-decline / r)), a producer losing ``L`` per
dollar of sales (cost = (1 + L) x revenue) breaks even at a scale multiple
``M = (1 + L)^(r / decline)``.
"""
from __future__ import annotations

import math

import numpy as np

from .targets import Target


class LearningCurveTarget:
    """Batch predictions of the observed prices for (N, 2) candidates (level, decline)."""

    def __init__(self, target: Target):
        self.target = target
        self.base_year = int(target.model.get("base_year", 2010))
        self.t = np.array([o.period.mid_year() - (self.base_year + 0.5) for o in target.observations])
        self.y_all = np.array([o.per_unit() for o in target.observations])
        self.fitted = np.ones(len(self.y_all), bool)
        self.i_level = next(j for j, p in enumerate(target.params) if p.role == "level")
        self.i_decline = next(j for j, p in enumerate(target.params) if p.role == "decline")
        lr = target.model.get("learning_rate") or {}
        vg = lr.get("volume_growth") or {}
        self.growth = math.log(float(vg["factor"])) / float(vg["years"]) if vg else float("nan")

    def curve(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        return theta[:, self.i_level][None, :] * np.exp(-theta[:, self.i_decline][None, :] * t[:, None])

    def predict(self, theta: np.ndarray) -> np.ndarray:
        return self.curve(theta, self.t)

    def learning_rate(self, decline: float | np.ndarray) -> float | np.ndarray:
        """Fall in price per doubling of cumulative output implied by ``decline`` (per year)."""
        return 1.0 - 2.0 ** (-np.asarray(decline) / self.growth)


def breakeven_multiple(loss_per_sales_dollar: float, learning_rate: float) -> float:
    """Scale multiple at which unit cost falls from (1 + L) to 1 per dollar of sales."""
    b = -math.log2(1.0 - learning_rate)                 # elasticity of unit cost to scale
    return (1.0 + loss_per_sales_dollar) ** (1.0 / b)


def learning_rate_for_multiple(loss_per_sales_dollar: float, multiple: float) -> float:
    """The learning rate under which a multiple ``M`` of scale exactly breaks even."""
    b = math.log(1.0 + loss_per_sales_dollar) / math.log(multiple)
    return 1.0 - 2.0 ** (-b)
