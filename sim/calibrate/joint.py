"""Joint calibration of several episodes with partial pooling (a Laplace-approximated EM).

Unknowns: shared parameters ``s`` (one value for all episodes), per-episode values ``u_e`` (on a
transformed scale, drawn from a normal population ``N(mu, diag(sigma^2))``), and the log-scale error
sd ``tau`` common to all observations. The procedure (equations in docs/calibration.md):

1. **Screen**: shared candidates x per-episode candidates (Latin hypercubes), one engine call per
   episode; each shared candidate keeps every episode's best; the best shared candidate starts.
2. **E-step**: the conditional mode of (s, u_1..u_E) given (mu, sigma, tau) by Levenberg-Marquardt on
   the stacked residuals ``[r_e / tau, (u_e - mu) / sigma]``; each iteration is *one* engine call per
   episode holding several trial steps and their finite-difference Jacobians (vectorised over samples).
3. **M-step**: (mu, sigma) from the modes and their Laplace variances (:func:`.pooling.m_step`), tau
   from the residuals plus the trace term. Repeat 2-3 until the hyperparameters settle.
4. **Intervals**: Laplace (Gauss-Newton) covariance of (s, u) at the mode; mu from its standard error;
   sigma from a scaled chi-square with E - 1 degrees of freedom.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core.errors import BadInput
from . import pooling as P
from .episodes import EpisodeConfig, EpisodeRef, JointParam

BAD = 10.0          # residual for a prediction that is not finite (the model produced nothing)


class EpisodeModel:
    """One episode as a batch predictor over the joint parameters (natural units, config order)."""

    def __init__(self, ref: EpisodeRef, cfg: EpisodeConfig):
        from .stockflow import StockflowTarget

        self.ref, self.id = ref, ref.id
        self.sf = StockflowTarget(ref.target, cfg.registry, own_params=False)
        self.names = [q.param.calibrates for q in cfg.params]
        self.fixed = dict(cfg.fixed)          # held at these values in every run (not fitted)
        reads = self.sf.reads()
        problems = []
        for q in cfg.params:
            if q.param.calibrates not in reads:
                kind = "shared" if not q.pooled else "per-episode"
                i = (cfg.shared if not q.pooled else cfg.pooled).index(q)
                problems.append(cfg.problem(("shared" if not q.pooled else "per_episode", i, "calibrates"),
                                            f"{kind} parameter {q.id} calibrates '{q.param.calibrates}', which the "
                                            f"scenario of episode {ref.id} ({self.sf.scenario_file}) does not read",
                                            "every episode's scenario must read it; or make it a per-episode term "
                                            "of a scenario that does"))
        if problems:
            raise BadInput(problems)
        self.y = self.sf.y_all
        self.use = self.sf.fitted.copy()
        self.zero = self.y <= 0
        anchor_value = ref.target.observations[self.sf.anchor].per_unit()
        self.floor = np.where(self.zero, 0.5 / anchor_value, np.nan)   # half the reporting unit (documented)
        self.calls = 0
        self.evaluations = 0

    @property
    def n(self) -> int:
        return int(self.use.sum())

    def flows(self, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.evaluations += len(X)
        X = np.atleast_2d(X)
        if self.fixed:
            X = np.column_stack([X] + [np.full(len(X), v) for v in self.fixed.values()])
        return self.sf.flows(X, names=self.names + list(self.fixed))

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n_obs, N) normalised observations and (months, N) normalised monthly series."""
        f = self.flows(X)
        return self.sf.per_unit(f), self.sf.monthly(f)

    def residuals(self, pred: np.ndarray) -> np.ndarray:
        """(n_used, N) log residuals; a zero observation is censored at its floor (a hinge)."""
        u = self.use
        lp = np.log(np.maximum(pred[u], 1e-300))
        obs = np.where(self.zero[u], np.log(np.where(self.zero[u], self.floor[u], 1.0)),
                       np.log(np.where(self.zero[u], 1.0, self.y[u])))
        r = lp - obs[:, None]
        r = np.where(self.zero[u][:, None], np.maximum(r, 0.0), r)
        return np.where(np.isfinite(r), r, BAD)


@dataclass
class JointResult:
    """Everything the joint fit found, on the transformed and natural scales."""

    cfg: EpisodeConfig
    z: np.ndarray                 # (S + E*K,) transformed
    cov: np.ndarray               # Laplace covariance of z
    mu: np.ndarray
    sigma: np.ndarray
    mu_se: np.ndarray
    sigma_iv: tuple[np.ndarray, np.ndarray]
    tau: float
    var: np.ndarray               # (E, K) conditional variances of u_e
    residuals: list[np.ndarray]
    episodes: list[str]
    history: list[dict] = field(default_factory=list)
    evaluations: int = 0
    calls: int = 0

    @property
    def S(self) -> int:
        return len(self.cfg.shared)

    @property
    def K(self) -> int:
        return len(self.cfg.pooled)

    def shared_values(self) -> np.ndarray:
        return np.array([float(P.inverse(q.transform, self.z[j])) for j, q in enumerate(self.cfg.shared)])

    def episode_u(self, e: int) -> np.ndarray:
        return self.z[self.S + e * self.K: self.S + (e + 1) * self.K]

    def episode_values(self, e: int) -> np.ndarray:
        return np.array([float(P.inverse(q.transform, u)) for q, u in zip(self.cfg.pooled, self.episode_u(e))])

    def populations(self) -> list[P.Population]:
        return [P.Population(q.id, q.transform, float(self.mu[k]), float(self.sigma[k]), float(self.mu_se[k]))
                for k, q in enumerate(self.cfg.pooled)]

    def interval(self, j: int, transform: str, level: float) -> tuple[float, float]:
        from scipy.stats import norm

        h = float(norm.ppf((1 + level) / 2)) * float(np.sqrt(max(self.cov[j, j], 0.0)))
        q = self.cfg.shared[j] if j < self.S else self.cfg.pooled[(j - self.S) % max(self.K, 1)]
        lo, hi = float(P.inverse(transform, self.z[j] - h)), float(P.inverse(transform, self.z[j] + h))
        return max(lo, q.param.low), min(hi, q.param.high)      # an interval past the search bounds: not bounded

    @property
    def n(self) -> int:
        return int(sum(len(r) for r in self.residuals))

    @property
    def n_params(self) -> int:
        return self.S + len(self.episodes) * self.K + 2 * self.K + 1


class JointFit:
    """The joint fit of a list of episode models under a config's parameters (see module docstring)."""

    def __init__(self, cfg: EpisodeConfig, models: list[EpisodeModel],
                 progress: Callable[[str], None] | None = None):
        self.cfg, self.models, self.progress = cfg, models, progress
        self.S, self.K, self.E = len(cfg.shared), len(cfg.pooled), len(models)
        qs = cfg.shared + cfg.pooled
        self.tr = [q.transform for q in qs]
        self.lo = np.array([float(P.forward(q.transform, q.param.low)) for q in qs])
        self.hi = np.array([float(P.forward(q.transform, q.param.high)) for q in qs])
        self.step = np.array([q.param.step for q in qs])
        kk = slice(self.S, self.S + self.K)
        self.m0 = (self.lo[kk] + self.hi[kk]) / 2
        self.s0 = self.hi[kk] - self.lo[kk]
        self.beta = np.array([q.beta for q in cfg.pooled])

    # ---- one episode's block of the parameter vector --------------------------------------------
    def _block(self, z: np.ndarray, e: int) -> np.ndarray:
        return np.concatenate([z[:self.S], z[self.S + e * self.K: self.S + (e + 1) * self.K]])

    def _natural(self, U: np.ndarray) -> np.ndarray:
        return np.column_stack([P.inverse(t, U[:, j]) for j, t in enumerate(self.tr)])

    def _h(self, b: np.ndarray) -> np.ndarray:
        """Finite-difference steps on the transformed scale (a natural ``step`` mapped through g)."""
        h = 1e-2 * (self.hi - self.lo)
        nat = self._natural(b[None, :])[0]
        for j, t in enumerate(self.tr):
            if self.step[j] > 0:
                up = nat[j] + self.step[j]
                h[j] = abs(float(P.forward(t, up)) - b[j]) if P.support_ok(t, up, up) else h[j]
        return np.where(b + h > self.hi, -h, h)

    def _evaluate(self, e: int, B: np.ndarray, jac: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Residuals (n_e, M) at the M rows of B (transformed) and, if ``jac``, their Jacobians
        (M, n_e, S+K): all in one engine call."""
        m = self.models[e]
        d = B.shape[1]
        if jac:
            H = np.array([self._h(b) for b in B])                                  # (M,d)
            pts = np.repeat(B[:, None, :], d + 1, axis=1)
            pts[:, 1:, :] += np.eye(d)[None] * H[:, None, :]
            R = m.residuals(m.predict(self._natural(pts.reshape(-1, d)))[0]).reshape(m.n, len(B), d + 1)
            J = (R[:, :, 1:] - R[:, :, :1]) / H[None, :, :]
            return R[:, :, 0], np.transpose(J, (1, 0, 2))
        return m.residuals(m.predict(self._natural(B))[0]), None

    # ---- screen ---------------------------------------------------------------------------------
    def screen(self, population: int, seed: int, starts: int) -> list[np.ndarray]:
        """Starting points: shared candidates x per-episode candidates, one engine call per episode; for
        each shared candidate every episode keeps its best (and second best) values; the ``starts``
        best combinations by the concentrated -2 log L."""
        from .fit import lhs

        M = 1 if self.S == 0 else int(min(16, max(2, population // 64)))
        L = max(8, population // M)
        kk = slice(self.S, self.S + self.K)
        shared = lhs(self.lo[:self.S], self.hi[:self.S], M, seed) if self.S else np.zeros((1, 0))
        top = 2
        best_u = np.zeros((M, top, self.E, self.K))
        sse = np.zeros((M, top, self.E))
        for e in range(self.E):
            cand = lhs(self.lo[kk], self.hi[kk], L, seed + 101 * (e + 1))
            B = np.concatenate([np.repeat(shared, L, axis=0), np.tile(cand, (M, 1))], axis=1)
            r, _ = self._evaluate(e, B, jac=False)
            s = (r ** 2).sum(axis=0).reshape(M, L)
            order = np.argsort(s, axis=1, kind="stable")[:, :top]
            best_u[:, :, e], sse[:, :, e] = cand[order], np.take_along_axis(s, order, axis=1)
        n = np.array([m.n for m in self.models])
        total = (n * np.log(np.maximum(sse, 1e-300) / n)).sum(axis=2)             # (M, top)
        order = np.argsort(total, axis=None, kind="stable")[:starts]
        zs = []
        for flat in order:
            m_, j = divmod(int(flat), top)
            zs.append(np.concatenate([shared[m_], best_u[m_, j].reshape(-1)]))
        self._say(f"screen: {M} shared x {L} per-episode candidates per episode; best -2logL "
                  f"{float(total.min()):.3f}; {len(zs)} starts")
        return zs

    # ---- E-step: conditional mode by batched Levenberg-Marquardt -----------------------------------
    def _stack(self, z: np.ndarray, rs: list[np.ndarray], Js: list[np.ndarray], mu: np.ndarray,
               sigma: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
        """Stacked residual vector and Jacobian of [r_e / tau; (u_e - mu) / sigma] with respect to z."""
        Pn = len(z)
        rows, jrows = [], []
        for e, (r, J) in enumerate(zip(rs, Js)):
            full = np.zeros((len(r), Pn))
            full[:, :self.S] = J[:, :self.S]
            full[:, self.S + e * self.K: self.S + (e + 1) * self.K] = J[:, self.S:]
            rows.append(r / tau)
            jrows.append(full / tau)
        for e in range(self.E):
            u = z[self.S + e * self.K: self.S + (e + 1) * self.K]
            rows.append((u - mu) / sigma)
            pj = np.zeros((self.K, Pn))
            pj[:, self.S + e * self.K: self.S + (e + 1) * self.K] = np.diag(1 / sigma)
            jrows.append(pj)
        return np.concatenate(rows), np.vstack(jrows)

    def mode(self, zs: list[np.ndarray], mu: np.ndarray, sigma: np.ndarray, tau: float, iters: int,
             states: list | None = None) -> list[tuple[np.ndarray, list, list, float]]:
        """Levenberg-Marquardt for the conditional mode from each start in ``zs`` at once: each iteration
        is one engine call per episode holding every start's trial steps and their Jacobians."""
        bounds = self._zidx()
        if states is None:
            ev = [self._evaluate(e, np.array([self._block(z, e) for z in zs]), jac=True) for e in range(self.E)]
            states = [([r[:, i] for r, _ in ev], [J[i] for _, J in ev]) for i in range(len(zs))]
        runs = []
        for z, (rs, Js) in zip(zs, states):
            R, J = self._stack(z, rs, Js, mu, sigma, tau)
            runs.append({"z": z, "rs": rs, "Js": Js, "R": R, "J": J, "f": float(R @ R), "lam": 1e-2, "done": False})
        lams = np.array([0.01, 0.1, 1.0, 10.0])
        for _ in range(iters):
            live = [k for k, st in enumerate(runs) if not st["done"]]
            if not live:
                break
            trials, owner = [], []
            for k in live:
                st = runs[k]
                A, g = st["J"].T @ st["J"], st["J"].T @ st["R"]
                D = np.diag(np.diag(A) + 1e-12)
                for lm in st["lam"] * lams:
                    try:
                        step = -np.linalg.solve(A + lm * D, g)
                    except np.linalg.LinAlgError:
                        step = -g / np.diag(D)
                    trials.append(np.clip(st["z"] + step, self.lo[bounds], self.hi[bounds]))
                    owner.append(k)
            Z = np.array(trials)
            ev = [self._evaluate(e, np.array([self._block(t, e) for t in Z]), jac=True) for e in range(self.E)]
            best: dict[int, tuple[float, int]] = {}
            for i, k in enumerate(owner):
                Ri, _ = self._stack(Z[i], [r[:, i] for r, _ in ev], [J_[i] for _, J_ in ev], mu, sigma, tau)
                fi = float(Ri @ Ri)
                if k not in best or fi < best[k][0]:
                    best[k] = (fi, i)
            for k in live:
                st = runs[k]
                fi, i = best[k]
                if fi < st["f"]:
                    gain = (st["f"] - fi) / max(st["f"], 1e-300)
                    st["z"], st["f"] = Z[i], fi
                    st["rs"], st["Js"] = [r[:, i] for r, _ in ev], [J_[i] for _, J_ in ev]
                    st["R"], st["J"] = self._stack(st["z"], st["rs"], st["Js"], mu, sigma, tau)
                    st["lam"] = max(st["lam"] * lams[(i % len(lams))] / 3, 1e-9)
                    st["done"] = gain < 1e-7
                else:
                    st["lam"] *= 1e4
                    st["done"] = st["lam"] > 1e10
        return [(st["z"], st["rs"], st["Js"], st["f"]) for st in runs]

    def _zidx(self) -> np.ndarray:
        return np.concatenate([np.arange(self.S)] + [np.arange(self.S, self.S + self.K)] * self.E).astype(int)

    # ---- the whole procedure ----------------------------------------------------------------------
    def run(self) -> JointResult:
        cfg = self.cfg
        zs = self.screen(cfg.population, cfg.seed, cfg.starts)
        z = zs[0]
        U = np.array([z[self.S + e * self.K: self.S + (e + 1) * self.K] for e in range(self.E)])
        mu = U.mean(axis=0)
        sigma = np.maximum(U.std(axis=0), 0.1 * self.s0)
        n = sum(m.n for m in self.models)
        ev = [self._evaluate(e, self._block(z, e)[None, :], jac=False)[0][:, 0] for e in range(self.E)]
        tau = float(np.sqrt(max(sum(float(r @ r) for r in ev) / n, 1e-6)))
        states: list | None = None
        history: list[dict] = []
        var = np.zeros((self.E, self.K))
        from ..outputs.progress import bar

        for it in bar(range(cfg.outer), desc="joint fit (EM rounds)", unit="round"):
            found = self.mode(zs, mu, sigma, tau, cfg.inner if it else 2 * cfg.inner, states)
            z, rs, Js, _ = min(found, key=lambda x: x[3])           # the best start goes on
            zs, states = [z], [(rs, Js)]
            U = np.array([z[self.S + e * self.K: self.S + (e + 1) * self.K] for e in range(self.E)])
            var, trace = self._laplace(Js, sigma, tau)
            mu_new, sigma_new = P.m_step(U, var, self.m0, self.s0, sigma, self.beta)
            sse = sum(float(r @ r) for r in rs)
            tau_new = float(np.sqrt(max((sse + trace) / n, 1e-6)))
            change = max(float(np.max(np.abs(mu_new - mu))), float(np.max(np.abs(np.log(sigma_new / sigma)))),
                         abs(np.log(tau_new / tau)))
            mu, sigma, tau = mu_new, sigma_new, tau_new
            history.append({"iteration": it + 1, "sse": sse, "tau": tau, "mu": mu.tolist(),
                            "sigma": sigma.tolist(), "change": change})
            self._say(f"EM round {it + 1}: SSE(log) {sse:.4f}, tau {tau:.3f}, change {change:.2e}")
            if change < 2e-3:
                break
        R, J = self._stack(z, rs, Js, mu, sigma, tau)
        cov = np.linalg.pinv(J.T @ J)
        var, _ = self._laplace(Js, sigma, tau)
        se = P.mu_se(sigma, var, self.s0)
        S_ = ((U - mu) ** 2 + var).sum(axis=0)
        siv = P.sigma_interval(S_, max(self.E - 1, 1), cfg.level)
        return JointResult(cfg=cfg, z=z, cov=cov, mu=mu, sigma=sigma, mu_se=se, sigma_iv=siv, tau=tau, var=var,
                           residuals=rs, episodes=[m.id for m in self.models], history=history,
                           evaluations=sum(m.evaluations for m in self.models),
                           calls=sum(m.calls for m in self.models))

    def _laplace(self, Js: list[np.ndarray], sigma: np.ndarray, tau: float) -> tuple[np.ndarray, float]:
        """Conditional variances of each u_e (E, K) and the trace term of the tau update."""
        var = np.zeros((self.E, self.K))
        trace = 0.0
        for e, J in enumerate(Js):
            Ju = J[:, self.S:]
            C = np.linalg.inv(Ju.T @ Ju / tau ** 2 + np.diag(1 / sigma ** 2))
            var[e] = np.diag(C)
            trace += float(np.trace(Ju @ C @ Ju.T))
        return var, trace

    def _say(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(msg)


def check_dof(cfg: EpisodeConfig, models: list[EpisodeModel]) -> dict[str, Any]:
    """Degrees of freedom of every fitted quantity; BadInput (located in the config) when any is <= 0."""
    K, S, E = len(cfg.pooled), len(cfg.shared), len(models)
    problems = []
    per = {}
    for m in models:
        per[m.id] = m.n - K
        if m.n < K:
            problems.append(cfg.problem(m.ref.path, f"episode {m.id} has {m.n} fitted observations, fewer than its "
                                        f"own {K} per-episode parameters", "add observations or pool fewer terms"))
        elif m.n == K:
            problems.append(cfg.problem(m.ref.path, f"episode {m.id}: 0 degrees of freedom ({m.n} observations "
                                        f"for {K} per-episode parameters); refusing to fit",
                                        "add observations or pool fewer terms"))
    n = sum(m.n for m in models)
    p = S + E * K + 2 * K + 1
    if n - p <= 0 and not problems:
        problems.append(cfg.problem(("episodes",), f"the joint fit has {n} observations for {p} fitted quantities "
                                    f"({S} shared, {E}x{K} per episode, {2 * K} population, 1 error sd): "
                                    f"{n - p} degrees of freedom", "add episodes or observations, or pool fewer terms"))
    if problems:
        raise BadInput(problems)
    return {"joint": n - p, "observations": n, "fitted_quantities": p, "per_episode": per,
            "population_sd": E - 1}


def build_models(cfg: EpisodeConfig, refs: list[EpisodeRef] | None = None) -> list[EpisodeModel]:
    """Episode models for ``refs`` (default: the fitted episodes), collecting every located problem."""
    out, problems = [], []
    for ref in (cfg.episodes if refs is None else refs):
        try:
            out.append(EpisodeModel(ref, cfg))
        except BadInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise BadInput(problems)
    return out


def fit_joint(cfg: EpisodeConfig, models: list[EpisodeModel], progress: Callable[[str], None] | None = None) -> JointResult:
    """Fit the episodes ``models`` jointly under ``cfg`` (degrees of freedom checked first)."""
    check_dof(cfg, models)
    return JointFit(cfg, models, progress).run()


def predictive(res: JointResult, model: EpisodeModel, samples: int, seed: int) -> dict[str, np.ndarray]:
    """A new episode's predictive distribution: shared values at their estimate, per-episode values from
    the population (with the uncertainty of mu), log-normal observation error tau; one engine call."""
    rng = np.random.default_rng(seed)
    s = res.shared_values()
    draws = [pop.draw(rng, samples) for pop in res.populations()]
    X = np.column_stack([np.repeat(s[None, :], samples, axis=0)] + [d[:, None] for d in draws]) \
        if len(s) else np.column_stack(draws)
    pred, monthly = model.predict(X)
    noise = np.exp(res.tau * rng.standard_normal(pred.shape))
    return {"obs": pred * noise, "obs_model": pred, "monthly": monthly, "theta": X}
