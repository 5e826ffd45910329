"""Partial pooling: transforms, the population of per-episode values, and its hyperparameter updates.

Each per-episode parameter k is fitted on a transformed scale ``u = g_k(theta)`` (``log`` for
positive quantities, ``logit`` for shares in (0, 1), ``identity`` for shared quantities that may be 0)
on which the episodes' values are a normal population::

    u_ek ~ N(mu_k, sigma_k^2),   mu_k ~ N(m0_k, s0_k^2),   sigma_k ~ Gamma(shape 2, scale beta_k)

The Gamma(2) hyperprior has zero density at sigma = 0, so the estimate of sigma never collapses onto
the boundary when there are only a few episodes. The update of (mu, sigma, tau) given the conditional
modes and Laplace covariances of the episode values is the M-step of a Laplace-approximated EM
(:func:`m_step`); docs/calibration.md gives the equations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRANSFORMS = ("log", "logit", "identity")


def forward(name: str, theta: np.ndarray | float) -> np.ndarray:
    """``u = g(theta)``: the fitting scale of a parameter."""
    x = np.asarray(theta, dtype=float)
    if name == "log":
        return np.log(x)
    if name == "logit":
        return np.log(x) - np.log1p(-x)
    return x


def inverse(name: str, u: np.ndarray | float) -> np.ndarray:
    """``theta = g^-1(u)``: back to the parameter's own unit."""
    x = np.asarray(u, dtype=float)
    if name == "log":
        return np.exp(x)
    if name == "logit":
        return 1.0 / (1.0 + np.exp(-x))
    return x


def support_ok(name: str, low: float, high: float) -> bool:
    """True when [low, high] lies inside the domain of the transform."""
    if name == "log":
        return low > 0
    if name == "logit":
        return 0 < low and high < 1
    return True


@dataclass
class Population:
    """The fitted population of one per-episode parameter, on its transformed scale."""

    name: str
    transform: str
    mu: float
    sigma: float
    mu_se: float

    def quantile(self, q: float | np.ndarray, predictive: bool = True) -> np.ndarray:
        """Quantile ``q`` of a new episode's value (``predictive``: with the uncertainty of mu)."""
        from scipy.stats import norm

        sd = np.hypot(self.sigma, self.mu_se) if predictive else self.sigma
        return inverse(self.transform, self.mu + sd * norm.ppf(q))

    @property
    def median(self) -> float:
        return float(inverse(self.transform, self.mu))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` values of new episodes: mu drawn from its estimate's error, then the population."""
        mu = self.mu + self.mu_se * rng.standard_normal(n)
        return inverse(self.transform, mu + self.sigma * rng.standard_normal(n))


def sigma_update(S: float, E: int, beta: float) -> float:
    """The MAP sigma given ``S`` = sum over episodes of (u - mu)^2 + posterior variance.

    Maximises ``-E log sigma - S / (2 sigma^2) + log sigma - sigma / beta`` (the normal population
    with a Gamma(2, beta) hyperprior): the positive root of ``sigma^3 / beta + (E - 1) sigma^2 - S = 0``.
    """
    roots = np.roots([1.0 / beta, float(E - 1), 0.0, -max(S, 1e-300)])
    real = roots[np.isreal(roots)].real
    pos = real[real > 0]
    return float(max(pos.max(), 1e-6)) if pos.size else 1e-6    # S = 0: no spread at all (floored)


def m_step(u: np.ndarray, var: np.ndarray, m0: np.ndarray, s0: np.ndarray, sigma: np.ndarray,
           beta: np.ndarray, iters: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) given the episodes' conditional modes ``u`` (E, K) and Laplace variances ``var`` (E, K).

    mu and sigma depend on each other; a few fixed-point rounds settle them.
    """
    E, K = u.shape
    mu = u.mean(axis=0)
    sig = np.array(sigma, dtype=float)
    for _ in range(iters):
        prec = E / sig ** 2 + 1.0 / s0 ** 2
        mu = (u.sum(axis=0) / sig ** 2 + m0 / s0 ** 2) / prec
        S = ((u - mu) ** 2 + var).sum(axis=0)
        new = np.array([sigma_update(float(S[k]), E, float(beta[k])) for k in range(K)])
        if np.allclose(new, sig, rtol=1e-9, atol=1e-12):
            sig = new
            break
        sig = new
    prec = E / sig ** 2 + 1.0 / s0 ** 2
    mu = (u.sum(axis=0) / sig ** 2 + m0 / s0 ** 2) / prec
    return mu, sig


def mu_se(sigma: np.ndarray, var: np.ndarray, s0: np.ndarray) -> np.ndarray:
    """Standard error of mu: E episodes, each known to within its posterior variance, around sigma."""
    E = var.shape[0]
    return 1.0 / np.sqrt(E / (sigma ** 2 + var.mean(axis=0)) + 1.0 / s0 ** 2)


def sigma_interval(S: np.ndarray, dof: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled chi-square interval of sigma from ``S`` with ``dof`` degrees of freedom (E - 1)."""
    from scipy.stats import chi2

    a = (1 - level) / 2
    return np.sqrt(S / chi2.ppf(1 - a, dof)), np.sqrt(S / chi2.ppf(a, dof))
