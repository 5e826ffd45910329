"""A multi-episode calibration config (``calibration/episodes.yaml``): load and check it.

The config lists the episodes fitted jointly (each a stock-flow target file), the episodes held out
of the fit (predicted, never fitted), the parameters shared by all episodes and those drawn per
episode from a fitted population, and the fit settings. Every problem is reported as
``FILE:LINE:COL: message (hint: ...)`` before anything runs. Format: docs/calibration.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..core.yamlio import Located, load_file
from ..provenance.registry import Registry, find_calibration, load_registry
from .pooling import TRANSFORMS, support_ok
from .targets import _PARAM, FitParam, Target, _Checker, _sorted, fit_param, load_target

_TOP = {"id", "title", "description", "episodes", "held_out", "shared", "per_episode", "fixed", "fit"}
_EPISODE = {"id", "target"}
_JPARAM = _PARAM | {"transform", "hyperprior"}
_FIT = {"seed", "population", "starts", "level", "band", "predictive_samples", "outer", "inner"}


@dataclass
class JointParam:
    """A parameter of the joint fit: shared by all episodes, or per episode from a population."""

    param: FitParam
    transform: str
    pooled: bool
    beta: float = 0.5               # scale of the Gamma(2) hyperprior on the population sd (transformed scale)

    @property
    def id(self) -> str:
        return self.param.id


@dataclass
class EpisodeRef:
    id: str
    target: Target
    path: tuple                     # key path of the entry in the config (for located errors)


@dataclass
class EpisodeConfig:
    path: Path
    id: str
    title: str
    description: str
    episodes: list[EpisodeRef]
    held_out: list[EpisodeRef]
    params: list[JointParam]
    seed: int = 0
    population: int = 1024
    level: float = 0.95
    band: float = 0.90
    predictive_samples: int = 400
    outer: int = 8
    inner: int = 12
    starts: int = 4
    located: Located | None = None
    registry: Registry | None = None
    root: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)   # registry id -> value held in every episode

    @property
    def shared(self) -> list[JointParam]:
        return [q for q in self.params if not q.pooled]

    @property
    def pooled(self) -> list[JointParam]:
        return [q for q in self.params if q.pooled]

    def problem(self, path: tuple, message: str, hint: str = "") -> Any:
        assert self.located is not None
        return self.located.problem(path, message, hint)


def is_episode_config(path: str | Path) -> bool:
    """True when ``path`` is a multi-episode config (it has an ``episodes`` list), not a target file."""
    try:
        data = load_file(Path(path)).data
    except Exception:  # noqa: BLE001 - the target loader reports the problem with its location
        return False
    return isinstance(data, dict) and "episodes" in data


def load_config(path: str | Path) -> EpisodeConfig:
    """Read and check an episodes config and every target it names; BadInput lists every problem."""
    p = Path(path)
    loc = load_file(p)
    root = find_calibration(p.parent)
    reg = load_registry(start=p.parent)
    c = _Checker(loc)
    d = loc.data
    if not isinstance(d, dict):
        raise BadInput([loc.problem((), "an episodes config is a mapping with episodes, shared, per_episode, fit")])
    c.keys(d, (), _TOP, "an episodes config")
    for key in ("id", "title", "episodes", "per_episode"):
        if key not in d:
            c.add((), f"missing required key '{key}'", "see docs/calibration.md for the episodes config format")
    params: list[JointParam] = []
    for key, pooled in (("shared", False), ("per_episode", True)):
        raw = d.get(key) or []
        if not isinstance(raw, list):
            c.add((key,), f"'{key}' must be a list of parameters")
            continue
        for i, fp in enumerate(raw):
            pp = (key, i)
            x = fit_param(c, fp, pp, reg, "stockflow", _JPARAM)
            if x is None:
                continue
            tr = str(fp.get("transform", "log" if pooled else "identity"))
            if tr not in TRANSFORMS:
                c.add(pp + ("transform",), f"{x.id}: unknown transform '{tr}'", "one of " + ", ".join(TRANSFORMS))
                continue
            if pooled and tr == "identity":
                c.add(pp + ("transform",), f"{x.id}: a per-episode parameter needs transform log or logit",
                      "its population is normal on that scale")
                continue
            if not support_ok(tr, x.low, x.high):
                c.add(pp + ("search",), f"{x.id}: search [{x.low:g}, {x.high:g}] is outside the domain of "
                      f"transform {tr}", "log needs low > 0; logit needs 0 < low and high < 1")
                continue
            beta = 0.5
            hp = fp.get("hyperprior")
            if hp is not None:
                if not isinstance(hp, dict) or set(hp) != {"sd_scale"} or isinstance(hp["sd_scale"], bool) \
                        or not isinstance(hp["sd_scale"], (int, float)) or not hp["sd_scale"] > 0:
                    c.add(pp + ("hyperprior",), f"{x.id}: hyperprior is {{sd_scale: X}} with X > 0",
                          "the scale of the Gamma(2) prior on the population sd, on the transformed scale")
                else:
                    beta = float(hp["sd_scale"])
            params.append(JointParam(x, tr, pooled, beta))
    ids = [q.id for q in params]
    for i, q in enumerate(params):
        if ids.count(q.id) > 1 and ids.index(q.id) == i:
            c.add(("per_episode",), f"parameter '{q.id}' is listed twice")
    if not any(q.pooled for q in params) and "per_episode" in d:
        c.add(("per_episode",), "per_episode needs at least one parameter", "a population is fitted to them")
    fixed: dict[str, float] = {}
    for pid, v in (d.get("fixed") or {}).items() if isinstance(d.get("fixed") or {}, dict) else []:
        if pid not in reg:
            c.add(("fixed", pid), f"fixed: '{pid}' is not in the registry", key=True)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            c.add(("fixed", pid), f"fixed: {pid} must be a number")
        else:
            fixed[str(pid)] = float(v)
    eps = _episodes(c, d, "episodes", p, reg, root)
    held = _episodes(c, d, "held_out", p, reg, root) if "held_out" in d else []
    if "episodes" in d and len(eps) < 2 and not c.problems:
        c.add(("episodes",), f"a joint fit needs at least 2 episodes, got {len(eps)}",
              "a population sd needs more than one episode")
    seen: dict[str, tuple] = {}
    for e in eps + held:
        if e.id in seen:
            c.add(e.path + ("id",), f"episode id '{e.id}' is used twice")
        seen[e.id] = e.path
    fit = d.get("fit") or {}
    settings: dict[str, Any] = {}
    if c.keys(fit, ("fit",), _FIT, "fit"):
        for key, lo, hi, default in (("seed", 0, 2**32 - 1, 0), ("population", 16, 100_000, 1024),
                                     ("predictive_samples", 16, 20_000, 400), ("outer", 1, 100, 8), ("starts", 1, 16, 4),
                                     ("inner", 1, 200, 12)):
            v = fit.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                c.add(("fit", key), f"fit.{key} must be an integer from {lo} to {hi}", f"got {v!r}")
                v = default
            settings[key] = v
        for key, default in (("level", 0.95), ("band", 0.90)):
            v = fit.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.5 <= v < 1:
                c.add(("fit", key), f"fit.{key} must be a number in [0.5, 1)", f"got {v!r}")
                v = default
            settings[key] = float(v)
    if c.problems:
        raise BadInput(_sorted(c.problems))
    cfg = EpisodeConfig(path=p, id=str(d["id"]), title=str(d["title"]), description=str(d.get("description", "")),
                        episodes=eps, held_out=held, params=params, located=loc, registry=reg, root=root, fixed=fixed,
                        **settings)
    return cfg


def _episodes(c: _Checker, d: dict, key: str, path: Path, reg: Registry, root: Path) -> list[EpisodeRef]:
    raw = d.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        c.add((key,), f"'{key}' must be a list of {{id, target}}")
        return []
    out = []
    for i, e in enumerate(raw):
        ep = (key, i)
        if not c.keys(e, ep, _EPISODE, "an episode"):
            continue
        eid = c.text(e, ep, "id", "episode")
        tgt = c.text(e, ep, "target", f"episode {eid}", "a target file relative to this config")
        if not (eid and tgt):
            continue
        tp = (path.parent / tgt)
        if not tp.is_file():
            c.add(ep + ("target",), f"episode {eid}: target file '{tgt}' not found",
                  f"looked for {tp}; targets live in calibration/targets/")
            continue
        try:
            t = load_target(tp, reg)
        except BadInput as exc:   # the target's own problems, located in the target file
            c.problems.extend(exc.problems)
            continue
        if t.kind != "stockflow":
            c.add(ep + ("target",), f"episode {eid}: target '{tgt}' is a {t.kind} target",
                  "a joint fit takes stock-flow targets only")
            continue
        out.append(EpisodeRef(eid, t, ep))
    return out
