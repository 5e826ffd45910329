"""Test functions with known sensitivity indices, to verify the sweep machinery end to end.

Module-level functions (importable, hence picklable for worker processes). Each takes the
design matrix X (rows × factors, in the factors' own units) and returns one value per row.
"""
from __future__ import annotations

import math

import numpy as np

from .factors import Factor, factor

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
SOBOL_G_A = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)
LINEAR_COEF = (2.0, -3.0, 0.5, 0.0, 10.0)
LINEAR_CONST = 1.5


def ishigami(X: np.ndarray) -> np.ndarray:
    """Ishigami & Homma (1990): sin x1 + a sin² x2 + b x3⁴ sin x1 on [-π, π]³ (a = 7, b = 0.1)."""
    x1, x2, x3 = X[:, 0], X[:, 1], X[:, 2]
    return np.sin(x1) + ISHIGAMI_A * np.sin(x2) ** 2 + ISHIGAMI_B * x3 ** 4 * np.sin(x1)


def ishigami_factors() -> list[Factor]:
    """Three uniform factors on [-π, π]."""
    return [factor(f"x{i}", -math.pi, math.pi, 0.0) for i in (1, 2, 3)]


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, np.ndarray]:
    """Analytic first-order S1 and total-order ST of the Ishigami function."""
    v = a ** 2 / 8 + b * math.pi ** 4 / 5 + b ** 2 * math.pi ** 8 / 18 + 0.5
    v1 = 0.5 * (1 + b * math.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * math.pi ** 8 * (1 / 18 - 1 / 50)
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v}


def sobol_g(X: np.ndarray, a: tuple[float, ...] = SOBOL_G_A) -> np.ndarray:
    """Sobol' G function on [0, 1]^d: prod (|4 x_i - 2| + a_i) / (1 + a_i); small a_i = important."""
    a_arr = np.asarray(a, dtype=float)[: X.shape[1]]
    return np.prod((np.abs(4 * X - 2) + a_arr) / (1 + a_arr), axis=1)


def sobol_g_factors(d: int = len(SOBOL_G_A)) -> list[Factor]:
    """d uniform factors on [0, 1]."""
    return [factor(f"g{i + 1}", 0.0, 1.0, 0.5) for i in range(d)]


def sobol_g_indices(a: tuple[float, ...] = SOBOL_G_A) -> dict[str, np.ndarray]:
    """Analytic S1 and ST of the G function: V_i = 1 / (3 (1 + a_i)²)."""
    vi = 1.0 / (3.0 * (1.0 + np.asarray(a, dtype=float)) ** 2)
    v = np.prod(1 + vi) - 1
    st = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(vi))]) / v
    return {"S1": vi / v, "ST": st}


def linear(X: np.ndarray) -> np.ndarray:
    """LINEAR_CONST + sum_i LINEAR_COEF[i] x_i (OAT must return the coefficients as slopes)."""
    return LINEAR_CONST + X @ np.asarray(LINEAR_COEF[: X.shape[1]], dtype=float)


def linear_factors() -> list[Factor]:
    """Factors with different ranges, units and distributions (slopes must not depend on them)."""
    return [factor("a", 0.0, 1.0, 0.5), factor("b", 10.0, 30.0, 12.0, unit="day", distribution="triangular"),
            factor("c", -5.0, 5.0, 0.0), factor("d", 1.0, 2.0, 1.5),
            factor("e", 0.01, 100.0, 1.0, unit="t/year", distribution="loguniform")]
