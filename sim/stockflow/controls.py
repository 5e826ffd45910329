"""Export controls as dated phases by destination, and the licence queue: one definition, both engines.

A control is a list of phases (regime, start, end, destinations, terms); where two apply, the later
listed wins (the old form's suspensions compile to overriding ``none`` phases). :class:`ControlPlan`
turns them into per-step arrays over samples and destinations (regime in force, phase in force,
front-running) for all steps at once; the DES reads one sample's rows of the same arrays.
:class:`LicenceQueue` is the stock-flow engine's step of the licence regime: applications join a
backlog, a review capacity (a share of the pre-control flow, of current applications or of current
demand, adapting from an initial to a final share) processes it, and what is processed is decided
over the following steps by the discretised decision-time distribution (gamma, mean and cv; a fixed
delay when cv = 0). Equations: docs/controls.md.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammainc

from ..scenario.compile import Resolved
from .structure import Control, Structure

NONE, LICENCE, QUOTA, BAN = 0, 1, 2, 3
CODES = {"none": NONE, "licence": LICENCE, "quota": QUOTA, "ban": BAN}
BASES = {"pre_control": 0, "applications": 1, "demand": 2}
TAIL = 1e-9          # decision-time mass beyond the kernel's last step (folded into it)


def slot(res: Resolved, path: str | None, default: float) -> np.ndarray:
    """(S,) values of slot ``path``, or ``default`` where the scenario does not state it."""
    v = res.slots.get(path) if path else None
    return np.full(res.samples, float(default)) if v is None else v


def destination_shares(st: Structure, res: Resolved) -> np.ndarray:
    """(S,D) the importer's demand split by destination (one destination: all of it)."""
    return np.stack([slot(res, p, 1.0) for p in st.destination_shares], axis=1)


def decision_kernel(mean: np.ndarray, cv: np.ndarray, dt: float) -> np.ndarray:
    """(S,K) share of what is reviewed in a step that is decided k steps later.

    The decision time is gamma with ``mean`` (days) and ``cv``; step k takes the times that round to
    k steps (cv = 0: all at ``rint(mean/dt)``, the fixed delay). Each sample's row is cut where its own
    mass falls below TAIL and the rest is folded into its last step, so a sample's kernel never depends
    on which other samples share its block (row sums are sequential, not pairwise, for the same reason).
    """
    sd = mean * cv
    kmax_s = np.ceil((mean + 8.0 * sd) / dt).astype(np.int64) + 2                  # (S,) own length
    kmax = int(kmax_s.max(initial=1))
    col = np.arange(kmax)
    edges = (np.arange(kmax + 1) - 0.5) * dt                                        # (K+1,)
    shape = np.where(cv > 0, 1.0 / np.maximum(cv, 1e-12) ** 2, 1.0)
    scale = np.where(cv > 0, mean * np.maximum(cv, 1e-12) ** 2, 1.0)
    cdf = np.where(edges[None, :] > 0, gammainc(shape[:, None], np.maximum(edges, 0)[None, :] / np.maximum(scale, 1e-300)[:, None]), 0.0)
    k = np.diff(cdf, axis=1)
    fixed = (cv <= 0) | (mean <= 0)
    one_hot = np.zeros_like(k)
    one_hot[np.arange(len(mean)), np.minimum(np.rint(mean / dt).astype(np.int64), kmax_s - 1)] = 1.0
    k = np.where(fixed[:, None], one_hot, np.where(col[None, :] < kmax_s[:, None], k, 0.0))
    rows = np.arange(len(mean))
    k[rows, kmax_s - 1] += np.maximum(0.0, 1.0 - np.cumsum(k, axis=1)[:, -1])
    # each row's last step above TAIL takes the mass after it
    big = k > TAIL
    last_s = np.where(big.any(axis=1), kmax - 1 - np.argmax(big[:, ::-1], axis=1), 0)  # (S,)
    after = col[None, :] > last_s[:, None]
    tail = np.cumsum(np.where(after, k, 0.0), axis=1)[:, -1]
    k = np.where(after, 0.0, k)
    k[rows, last_s] += tail
    return k[:, :int(last_s.max(initial=0)) + 1]


class ControlPlan:
    """Everything about one control that does not depend on the state, for all steps and samples."""

    def __init__(self, c: Control, st: Structure, res: Resolved, td: np.ndarray, dt_ref: float):
        S, D, T = res.samples, st.D, len(td)
        self.c, self.S, self.D = c, S, D
        p = c.path
        self.w = destination_shares(st, res)                                          # (S,D)
        self.exempt, self.div = slot(res, f"{p}.exempt_share", 0.0), slot(res, f"{p}.diversion", 0.0)
        self.surge = slot(res, f"{p}.front_running", 0.0)
        self.phases = []
        for ph in c.phases:
            dmask = np.zeros(D, bool)
            dmask[list(ph.dests)] = True
            start = slot(res, ph.start, -np.inf) if ph.start else np.full(S, -np.inf)
            end = slot(res, ph.end, np.inf) if ph.end else np.full(S, np.inf)
            self.phases.append(dict(ph=ph, code=CODES[ph.regime], start=start, end=end, dmask=dmask))
        starts = [q["start"] for q in self.phases if q["code"] != NONE]
        first = np.min(np.stack(starts), axis=0) if starts else np.full(S, np.nan)
        self.eff = first                                                              # (S,) the shock day
        self.ann = slot(res, f"{p}.announced", 0.0) if c.has_announced else first
        self.regime, self.phase = self._state(td[:, None])                            # (T,S,D)
        self.waiting = self._waiting(td)
        self.dt_ref = dt_ref
        self._licence_terms(res, td)

    def take(self, i: int) -> "ControlPlan":
        """The plan of sample ``i`` alone (S = 1): what one DES replication reads."""
        out = object.__new__(ControlPlan)
        cut = (lambda v: v[i:i + 1] if isinstance(v, np.ndarray) and v.ndim and len(v) == self.S else v)
        for k, v in self.__dict__.items():
            if k in ("regime", "phase", "waiting"):
                setattr(out, k, v[:, i:i + 1])
            elif k == "phases":
                out.phases = [{kk: vv if kk == "dmask" else cut(vv) for kk, vv in q.items()} for q in v]
            else:
                setattr(out, k, cut(v))
        out.S = 1
        return out

    # ---- which phase is in force --------------------------------------------------------------
    def _state(self, tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., S, D) regime code and phase index (-1: none) in force at times ``tt`` (broadcast to (..., S))."""
        shape = np.broadcast_shapes(np.shape(tt), (self.S,)) + (self.D,)
        reg = np.zeros(shape, np.int8)
        ph = np.full(shape, -1, np.int8)
        for j, q in enumerate(self.phases):
            inw = ((q["start"] <= tt) & (tt < q["end"]))[..., None] & q["dmask"]
            reg[inw] = q["code"]
            ph[inw] = j
        return reg, ph

    def _waiting(self, td: np.ndarray) -> np.ndarray:
        """(T,S,D) buyers front-run: announced, not bound now, and bound at a known later date."""
        bound = self.regime != NONE
        later = np.zeros(bound.shape, bool)
        cands = [q["start"] for q in self.phases if q["code"] != NONE] + [q["end"] for q in self.phases]
        for tau in cands:                               # a binding phase starts, or an overriding one ends
            reg_at, _ = self._state(tau)
            later |= (tau[None, :] > td[:, None])[..., None] & (reg_at != NONE)[None]
        return (td[:, None] >= self.ann[None, :])[..., None] & ~bound & later

    def _licence_terms(self, res: Resolved, td: np.ndarray) -> None:
        """Per licence phase: its terms (S,); the decision kernels; quotas per destination."""
        for q in self.phases:
            ph = q["ph"]
            q["quota"] = slot(res, ph.quota, 0.0)
            wsum = (self.w * q["dmask"]).sum(axis=1)
            q["quota_d"] = q["quota"][:, None] * np.where(q["dmask"], self.w / np.maximum(wsum, 1e-300)[:, None], 0.0)
            if ph.regime != "licence":
                continue
            q["c0"] = slot(res, ph.term("capacity_share"), 0.0)
            q["cf"] = slot(res, ph.term("capacity_share_final"), 0.0) if ph.term("capacity_share_final") else None
            q["tau"] = slot(res, ph.term("capacity_tau_days"), 0.0)
            q["basis"] = BASES[ph.basis]
            q["smooth"] = slot(res, ph.term("basis_smoothing_days"), 0.0)
            q["approval"] = slot(res, ph.term("approval"), 0.0)
            q["mean"] = slot(res, ph.term("decision_days"), 0.0)
            q["cv"] = slot(res, ph.term("decision_cv"), 0.0)
            q["kd"] = np.maximum(0, np.rint(q["mean"] / self.dt_ref)).astype(np.int64)
            q["fixed"] = bool((q["cv"] <= 0).all())
            q["kernel"] = None if q["fixed"] else decision_kernel(q["mean"], q["cv"], self.dt_ref)
        self.lic = [j for j, q in enumerate(self.phases) if q["code"] == LICENCE]
        self.fixed = all(self.phases[j]["fixed"] for j in self.lic)
        self.bases = {self.phases[j]["basis"] for j in self.lic}
        spans = [int(self.phases[j]["kd"].max()) + 2 if self.phases[j]["fixed"] else
                 self.phases[j]["kernel"].shape[1] + 1 for j in self.lic]
        self.Ld = max(spans + [2])
        # smoothing of the basis where no licence phase is in force: the first licence phase's, by destination
        self.smooth_default = np.zeros((self.S, self.D))
        for j in reversed(self.lic):
            q = self.phases[j]
            self.smooth_default = np.where(q["dmask"], q["smooth"][:, None], self.smooth_default)

    # ---- terms in force at one step -------------------------------------------------------------
    def terms(self, t: int, tday: float) -> dict[str, np.ndarray]:
        """(S,D) capacity share, approval, basis code, smoothing time, quota in force at step ``t``."""
        ph = self.phase[t]
        out = {"cap": np.zeros((self.S, self.D)), "approval": np.zeros((self.S, self.D)),
               "basis": np.zeros((self.S, self.D), np.int8), "smooth": self.smooth_default,
               "quota": np.zeros((self.S, self.D))}
        for j, q in enumerate(self.phases):
            here = ph == j
            if not here.any():
                continue
            if q["code"] == QUOTA:
                out["quota"] = np.where(here, q["quota_d"], out["quota"])
            if q["code"] != LICENCE:
                continue
            c = q["c0"]
            if q["cf"] is not None:                   # capacity adapts from c0 to cf after the phase starts
                age = np.maximum(tday - q["start"], 0.0)
                c = q["cf"] + (c - q["cf"]) * np.exp(-age / np.maximum(q["tau"], 1e-300))
                c = np.where(q["tau"] > 0, c, q["cf"])
            out["cap"] = np.where(here, c[:, None], out["cap"])
            out["approval"] = np.where(here, q["approval"][:, None], out["approval"])
            out["basis"] = np.where(here, q["basis"], out["basis"])
            out["smooth"] = np.where(here, q["smooth"][:, None], out["smooth"])
        return out


class Basis:
    """What a licence review capacity is a share of, t/day, by sample and destination (S,D).

    ``pre_control``: the flow on the link at the start; ``applications``: the restricted orders
    placed with the controlled origin, smoothed over ``basis_smoothing_days``; ``demand``: planned
    use times the origin's preferred share, smoothed alike. Both smoothed series start at the flow
    at the start (applications: its non-exempt part).
    """

    def __init__(self, plan: ControlPlan, ref: np.ndarray):
        self.bases = plan.bases
        self.w = plan.w
        self.ref = ref[:, None] * plan.w
        self.apps = self.ref * (1.0 - plan.exempt)[:, None]
        self.dem = self.ref.copy()

    def step(self, tm: dict, rest: np.ndarray, demand: np.ndarray, dt: float) -> np.ndarray:
        """Update with this step's restricted orders ``rest`` (S,D, t) and link demand (S,, t/day)."""
        if self.bases <= {0}:
            return self.ref
        alpha = 1.0 - np.exp(-dt / np.maximum(tm["smooth"], 1e-300))
        self.apps += (rest / dt - self.apps) * alpha
        self.dem += (demand[:, None] * self.w - self.dem) * alpha
        return np.where(tm["basis"] == 1, self.apps, np.where(tm["basis"] == 2, self.dem, self.ref))


class LicenceQueue:
    """The stock-flow state of one control: backlogs, pending decisions, the smoothed capacity basis (S,D)."""

    def __init__(self, plan: ControlPlan, ref: np.ndarray):
        S, D = plan.S, plan.D
        self.plan = plan
        self.basis = Basis(plan, ref)
        self.backlog = np.zeros((S, D))
        self.dbuf = np.zeros((plan.Ld, S, D))
        lanes = np.arange(S * D)
        self.dec_at = {j: [((i + np.broadcast_to(plan.phases[j]["kd"][:, None], (S, D)).ravel()) % plan.Ld)
                           * S * D + lanes for i in range(plan.Ld)] for j in plan.lic if plan.phases[j]["fixed"]}
        self.prev = np.zeros((S, D), np.int8)

    def pending(self) -> np.ndarray:
        """(S,) tonnes awaiting a licence: in the backlog or reviewed and awaiting a decision."""
        return (self.backlog + self.dbuf.sum(axis=0)).sum(axis=1)

    def seized(self, t: int) -> np.ndarray:
        """(S,) share of the link's goods in transit lost now: a ban (in_transit: lose) starts for it."""
        reg = self.plan.regime[t]
        starts = (reg == BAN) & (self.prev != BAN)
        self.prev = reg
        return (self.plan.w * starts).sum(axis=1)

    def step(self, t: int, tday: float, dt: float, x: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders ``x`` (S,) placed with the controlled origin this step -> (shipped, refused) (S,).

        ``demand`` (S,) is the link's undisturbed demand (planned use x preferred share), t/day.
        """
        plan, Ld = self.plan, self.plan.Ld
        reg = plan.regime[t]
        lic, none = reg == LICENCE, reg == NONE
        x_d = x[:, None] * plan.w
        free = x_d * plan.exempt[:, None]
        rest = x_d - free
        if not plan.lic:                                        # ban and quota phases only: no queue
            tm = plan.terms(t, tday) if (reg == QUOTA).any() else None
            allowed = np.minimum(rest, tm["quota"] * dt) if tm is not None else 0.0
            out = np.where(none, x_d, np.where(reg == QUOTA, free + allowed, free))
            refused = np.where(none, 0.0, rest - np.where(reg == QUOTA, allowed, 0.0))
            return out.sum(axis=1), refused.sum(axis=1)
        tm = plan.terms(t, tday)
        dslot = t % Ld
        decided = self.dbuf[dslot].copy()
        self.dbuf[dslot] = 0.0
        self.backlog += np.where(lic, rest, 0.0)
        basis = self.basis.step(tm, rest, demand, dt)
        proc = np.where(lic, np.minimum(self.backlog, tm["cap"] * basis * dt), self.backlog)
        self.backlog -= proc
        released = np.where(lic, 0.0, proc)                      # no licence needed now: the queue is let go
        later = proc - released
        decided = self._route(t, reg, later, decided)
        if not lic.all():                                        # decisions pending where the licence lifts
            decided += np.where(lic, 0.0, self.dbuf.sum(axis=0))
            self.dbuf *= lic
        approved = decided * np.where(lic, tm["approval"], np.where(none, 1.0, 0.0))
        refused = decided - approved
        if not (lic | none).all():                               # a ban or quota now: what was pending is refused
            strict = ~(lic | none)
            allowed = np.minimum(rest, tm["quota"] * dt)
            refused = refused + np.where(strict, released + rest - np.where(reg == QUOTA, allowed, 0.0), 0.0)
            out = np.where(lic, free + approved, np.where(none, x_d + released + approved,
                                                          free + np.where(reg == QUOTA, allowed, 0.0)))
        else:
            out = np.where(lic, free + approved, x_d + released + approved)
        return out.sum(axis=1), refused.sum(axis=1)

    def _route(self, t: int, reg: np.ndarray, later: np.ndarray, decided: np.ndarray) -> np.ndarray:
        """Spread what was reviewed now over the steps of its decision; returns this step's decisions."""
        plan, Ld = self.plan, self.plan.Ld
        flat = self.dbuf.reshape(-1)
        one = len(plan.lic) == 1
        for j in plan.lic:
            q = plan.phases[j]
            lj = later if one else np.where(plan.phase[t] == j, later, 0.0)
            if q["fixed"]:
                kd = q["kd"][:, None]
                if (kd > 0).all():                               # every sample waits for a decision
                    flat[self.dec_at[j][t % Ld]] += lj.ravel()
                elif (kd == 0).all():                            # decisions within the step
                    decided += lj
                else:
                    flat[self.dec_at[j][t % Ld]] += np.where(kd > 0, lj, 0.0).ravel()
                    decided += np.where(kd > 0, 0.0, lj)
            else:
                k = q["kernel"]
                decided += lj * k[:, 0:1]
                if k.shape[1] > 1:        # all later steps: at most two slices of the ring (Ld > kernel length)
                    inc = k.T[1:, :, None] * lj[None, :, :]   # a view of the kernel: no per-sample copy kept
                    a = (t + 1) % Ld
                    n1 = min(len(inc), Ld - a)
                    self.dbuf[a:a + n1] += inc[:n1]
                    if n1 < len(inc):
                        self.dbuf[:len(inc) - n1] += inc[n1:]
        return decided


def binding_steps(plans: list[ControlPlan], T: int, S: int) -> np.ndarray:
    """(T,S) True in the steps in which some control binds the importer (a phase other than none
    applies to a destination with weight > 0)."""
    bound = np.zeros((T, S), bool)
    for pl in plans:
        bound |= ((pl.regime != 0) * pl.w[None]).sum(axis=2) > 0
    return bound


def bind_day(bound: np.ndarray, t_days: np.ndarray) -> np.ndarray:
    """(S,) day of the first binding step in ``bound`` (T,S); NaN where no control ever binds."""
    return np.where(bound.any(axis=0), t_days[bound.argmax(axis=0)], np.nan)
