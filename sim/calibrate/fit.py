"""Fitting a model to observations, vectorised over candidate parameter sets.

A :class:`FitProblem` wraps a *batch predictor*: a function taking an ``(N, p)`` array of
candidate parameter sets and returning ``(n_obs, N)`` predictions, computed in one model call
(for the stock-flow engine, one ``sim.run(scn, samples=N, given=...)``). On top of it:

- :func:`global_search`: a seeded Latin hypercube of candidates in one batch;
- :func:`refine`: ``scipy.optimize.least_squares`` from the best candidates, its Jacobian
  computed by forward differences in one batch per iteration;
- :func:`profile`: profile likelihood of each parameter on a grid; the other parameters are
  re-fitted for every grid value at once (a population in one batch, then a batched
  Levenberg-Marquardt polish);
- :func:`fit_stats` and :func:`interval_from_profile`.

Residuals are compared on the log scale (``scale='log'``: relative errors) or as they are.
The error variance is unknown and concentrated out of a Gaussian likelihood, so that
``-2 log L = n log(SSE / n)`` up to a constant, and a ``level`` confidence interval is the set
of values whose profile lies within ``chi2.ppf(level, 1)`` of the minimum. With few
observations this is an approximation; it is reported as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

BatchPredictor = Callable[[np.ndarray], np.ndarray]


@dataclass
class FitProblem:
    """Observed values, a batch predictor, bounds and steps; ``use`` masks the observations fitted."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    predict: BatchPredictor
    y: np.ndarray
    scale: str = "log"
    steps: np.ndarray | None = None
    use: np.ndarray | None = None
    calls: int = 0
    evaluations: int = 0

    def __post_init__(self) -> None:
        self.low = np.asarray(self.low, dtype=float)
        self.high = np.asarray(self.high, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        if self.steps is None:
            self.steps = np.zeros(len(self.names))
        self.steps = np.where(np.asarray(self.steps, dtype=float) > 0, self.steps, (self.high - self.low) * 1e-3)
        if self.use is None:
            self.use = np.ones(len(self.y), bool)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def n(self) -> int:
        return int(self.use.sum())

    def transform(self, v: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.log(np.maximum(v, 1e-12))
        return v

    def predictions(self, theta: np.ndarray) -> np.ndarray:
        """(n_obs, N) predictions for (N, p) candidates: one batch call of the model."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        self.calls += 1
        self.evaluations += len(theta)
        out = np.asarray(self.predict(theta), dtype=float)
        return out.reshape(len(self.y), len(theta))

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """(n_used, N) residuals on the comparison scale (model minus observed)."""
        pred = self.predictions(theta)[self.use]
        r = self.transform(pred) - self.transform(self.y[self.use])[:, None]
        return np.where(np.isfinite(r), r, 1e3)

    def sse(self, theta: np.ndarray) -> np.ndarray:
        return (self.residuals(theta) ** 2).sum(axis=0)

    def subset(self, use: np.ndarray) -> "FitProblem":
        """The same problem fitted to the observations in ``use`` only (backtests)."""
        return FitProblem(self.names, self.low, self.high, self.predict, self.y, self.scale, self.steps,
                          np.asarray(use, bool) & self.use)


@dataclass
class FitResult:
    theta: np.ndarray
    sse: float
    starts: list[np.ndarray] = field(default_factory=list)
    population_best: float = float("nan")
    nfev: int = 0
    message: str = ""


def lhs(low: np.ndarray, high: np.ndarray, n: int, seed: int) -> np.ndarray:
    """A seeded Latin hypercube of ``n`` points in the box [low, high]."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(low), seed=np.random.default_rng(seed)).random(n)
    return low + u * (high - low)


def global_search(prob: FitProblem, n: int, seed: int, starts: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a Latin hypercube of ``n`` candidates in one batch; return (candidates, SSE) sorted by SSE,
    the first ``starts`` of them far enough apart to be distinct starting points."""
    cand = lhs(prob.low, prob.high, n, seed)
    sse = prob.sse(cand)
    order = np.argsort(sse, kind="stable")
    cand, sse = cand[order], sse[order]
    width = prob.high - prob.low
    chosen: list[int] = []
    for i in range(len(cand)):
        if all(np.max(np.abs(cand[i] - cand[j]) / width) > 0.1 for j in chosen):
            chosen.append(i)
        if len(chosen) == starts:
            break
    keep = chosen + [i for i in range(len(cand)) if i not in chosen]
    return cand[keep], sse[keep]


def _jacobian(prob: FitProblem, x: np.ndarray, r0: np.ndarray | None = None) -> np.ndarray:
    """Forward-difference Jacobian (n_used, p) at ``x``, all p perturbations in one batch."""
    p = prob.p
    h = prob.steps.copy()
    h = np.where(x + h > prob.high, -h, h)          # step backwards at the upper bound
    pts = np.repeat(x[None, :], p + (r0 is None), axis=0)
    pts[:p] += np.diag(h)
    r = prob.residuals(pts)
    base = r[:, p] if r0 is None else r0
    return (r[:, :p] - base[:, None]) / h[None, :]


def refine(prob: FitProblem, starts: list[np.ndarray], max_nfev: int = 200) -> FitResult:
    """``scipy.optimize.least_squares`` (trust region, bounds) from each start; the best result."""
    from scipy.optimize import least_squares

    best: FitResult | None = None
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=float), prob.low, prob.high)
        cache: dict[bytes, np.ndarray] = {}

        def fun(x: np.ndarray) -> np.ndarray:
            r = prob.residuals(x[None, :])[:, 0]
            cache[x.tobytes()] = r
            return r

        def jac(x: np.ndarray) -> np.ndarray:
            return _jacobian(prob, x, cache.get(x.tobytes()))

        sol = least_squares(fun, x0, jac=jac, bounds=(prob.low, prob.high), method="trf", x_scale="jac",
                            max_nfev=max_nfev, xtol=1e-10, ftol=1e-12, gtol=1e-10)
        x = np.asarray(sol.x, dtype=float)
        tol = 1e-6 * (prob.high - prob.low)       # a value at a bound is reported as the bound
        x = np.where(x - prob.low < tol, prob.low, np.where(prob.high - x < tol, prob.high, x))
        s = float((prob.residuals(x[None, :])[:, 0] ** 2).sum())
        if best is None or s < best.sse - 1e-15:
            best = FitResult(theta=x, sse=s, nfev=int(sol.nfev), message=str(sol.message))
    assert best is not None
    best.starts = [np.asarray(s, dtype=float) for s in starts]
    return best


def fit(prob: FitProblem, population: int, seed: int, starts: int = 3) -> FitResult:
    """Global search (one batch) then local refinement from the best ``starts`` candidates."""
    cand, sse = global_search(prob, population, seed, starts)
    res = refine(prob, [cand[i] for i in range(min(starts, len(cand)))])
    res.population_best = float(sse[0])
    if sse[0] < res.sse:  # refinement never makes things worse than the best candidate seen
        res.theta, res.sse = cand[0], float(sse[0])
    return res


# ---- profile likelihood -----------------------------------------------------------------------

def batched_lm(prob: FitProblem, X: np.ndarray, free: np.ndarray, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Levenberg-Marquardt on the ``free`` parameters of P problems at once (the others held).

    Each iteration is two batch calls: the forward-difference Jacobians of all P problems, and the
    trial steps. Bounds are kept by projection. Returns (X, SSE).
    """
    X = np.array(X, dtype=float)
    P = len(X)
    idx = np.nonzero(free)[0]
    k = len(idx)
    r = prob.residuals(X)
    f = (r ** 2).sum(axis=0)
    if k == 0:
        return X, f
    lam = np.full(P, 1e-2)
    lo, hi = prob.low[idx], prob.high[idx]
    for _ in range(iters):
        h = np.broadcast_to(prob.steps[idx], (P, k)).copy()
        h = np.where(X[:, idx] + h > hi, -h, h)
        pts = np.repeat(X[:, None, :], k, axis=1)                        # (P,k,p)
        pts[:, np.arange(k), idx] += h
        rp = prob.residuals(pts.reshape(P * k, -1)).reshape(len(r), P, k)
        J = (rp - r[:, :, None]) / h[None, :, :]                         # (n,P,k)
        Jt = np.transpose(J, (1, 2, 0))                                  # (P,k,n)
        A = Jt @ np.transpose(Jt, (0, 2, 1))                            # (P,k,k)
        g = np.einsum("pkn,np->pk", Jt, r)
        diag = np.einsum("pkk->pk", A) + 1e-12
        M = A + lam[:, None, None] * np.eye(k)[None] * diag[:, :, None]
        try:
            step = -np.linalg.solve(M, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -g / diag
        Xn = X.copy()
        Xn[:, idx] = np.clip(X[:, idx] + step, lo, hi)
        rn = prob.residuals(Xn)
        fn = (rn ** 2).sum(axis=0)
        better = fn < f
        X[better], r[:, better], f[better] = Xn[better], rn[:, better], fn[better]
        lam = np.where(better, lam / 3, lam * 4)
        if np.all(lam > 1e8):
            break
    return X, f


@dataclass
class Profile:
    """The profile of one parameter: grid values, the minimised SSE and -2 log L at each."""

    name: str
    grid: np.ndarray
    sse: np.ndarray
    m2ll: np.ndarray
    others: np.ndarray        # (G, p) the re-fitted parameter sets


def m2ll(sse: np.ndarray | float, n: int) -> np.ndarray:
    """-2 log likelihood (up to a constant) with the error variance concentrated out."""
    return n * np.log(np.maximum(np.asarray(sse, dtype=float), 1e-300) / n)


def profile(prob: FitProblem, theta: np.ndarray, j: int, points: int, seed: int, population: int = 256) -> Profile:
    """Profile likelihood of parameter ``j`` over ``points`` values spanning its search bounds."""
    grid = np.unique(np.concatenate([np.linspace(prob.low[j], prob.high[j], points), [theta[j]]]))
    G = len(grid)
    free = np.ones(prob.p, bool)
    free[j] = False
    # a population for the other parameters, shared by every grid value, plus the optimum's values
    if free.any():
        pop = lhs(prob.low[free], prob.high[free], population, seed + 7919 * (j + 1))
        pop = np.vstack([theta[free][None, :], pop])
        cand = np.repeat(pop[None, :, :], G, axis=0)                    # (G,M,p-1)
        full = np.empty((G, len(pop), prob.p))
        full[:, :, free] = cand
        full[:, :, j] = grid[:, None]
        s = prob.sse(full.reshape(-1, prob.p)).reshape(G, len(pop))
        X = full[np.arange(G), s.argmin(axis=1)]
        X, f = batched_lm(prob, X, free)
    else:
        X = np.repeat(theta[None, :], G, axis=0)
        X[:, j] = grid
        f = prob.sse(X)
    return Profile(prob.names[j], grid, f, m2ll(f, prob.n), X)


@dataclass
class Interval:
    low: float
    high: float
    open_low: bool
    open_high: bool
    level: float

    def to_json(self) -> dict:
        return {"low": self.low, "high": self.high, "level": self.level, "method": "profile likelihood",
                "bounded_by_search_low": self.open_low, "bounded_by_search_high": self.open_high}


def interval_from_profile(pr: Profile, best_m2ll: float, level: float, value: float) -> Interval:
    """The connected set around ``value`` where the profile is within chi2(level, 1) of the minimum."""
    from scipy.stats import chi2

    thr = best_m2ll + float(chi2.ppf(level, 1))
    g, y = pr.grid, pr.m2ll
    i0 = int(np.argmin(np.abs(g - value)))

    def walk(step: int) -> tuple[float, bool]:
        i = i0
        while 0 <= i + step < len(g):
            if y[i + step] > thr:
                a, b = y[i], y[i + step]
                t = 0.0 if b == a else (thr - a) / (b - a)
                return float(g[i] + t * (g[i + step] - g[i])), False
            i += step
        return float(g[i]), True

    lo, open_lo = walk(-1)
    hi, open_hi = walk(1)
    return Interval(min(lo, value), max(hi, value), open_lo, open_hi, level)


# ---- statistics -------------------------------------------------------------------------------

def r2_text(r2: float | None, digits: int = 4) -> str:
    """R² as printed: 'undefined' (not 'nan') when the observations are all equal."""
    return "undefined (the observations do not vary)" if r2 is None else f"{r2:.{digits}f}"


def fit_stats(prob: FitProblem, theta: np.ndarray) -> dict:
    """Goodness of fit at ``theta`` on the observations used: SSE, RMSE, R^2 (comparison scale),
    mean absolute percentage error, AIC, n, p, degrees of freedom."""
    pred = prob.predictions(theta[None, :])[:, 0]
    u = prob.use
    ty, tp = prob.transform(prob.y[u]), prob.transform(pred[u])
    res = tp - ty
    sse = float((res ** 2).sum())
    sst = float(((ty - ty.mean()) ** 2).sum())
    n, p = int(u.sum()), prob.p
    return {
        "n": n, "p": p, "dof": n - p, "scale": prob.scale, "sse": sse,
        "rmse": float(np.sqrt(sse / n)),
        "r2": float(1 - sse / sst) if sst > 0 else None,   # undefined when the data do not vary
        "mape": float(np.mean(np.abs(pred[u] / prob.y[u] - 1))),
        "aic": float(m2ll(sse, n) + 2 * p),
        "max_abs_residual": float(np.abs(res).max()),
    }


def backtest(prob: FitProblem, holdout: int, population: int, seed: int, starts: int) -> dict:
    """Hold out the last ``holdout`` observations used, fit the rest, report the out-of-sample errors."""
    used = np.nonzero(prob.use)[0]
    if holdout < 1 or holdout >= len(used):
        return {"holdout": holdout, "skipped": "nothing to hold out"}
    train = prob.use.copy()
    train[used[-holdout:]] = False
    sub = prob.subset(train)
    res = fit(sub, population, seed, starts)
    pred = prob.predictions(res.theta[None, :])[:, 0]
    held = used[-holdout:]
    err = [{"index": int(i), "observed": float(prob.y[i]), "predicted": float(pred[i]),
            "error": float(pred[i] - prob.y[i]), "relative_error": float(pred[i] / prob.y[i] - 1),
            "log_error": float(np.log(pred[i] / prob.y[i]))} for i in held]
    le = np.array([e["log_error"] for e in err])
    return {"holdout": holdout, "theta": [float(x) for x in res.theta], "train_sse": res.sse,
            "train_n": int(train.sum()), "errors": err, "rmse_log": float(np.sqrt(np.mean(le ** 2))),
            "mape": float(np.mean([abs(e["relative_error"]) for e in err]))}
