"""The clearing rule of one step: orders of all importers against shared and per-route capacity.

Per link l and sample (docs/market.md): each importer's order is cut to its own route limit and
what is over it, or diverted from a binding control, goes to the importer's spare route capacity
(the one-importer engine's redirect); that is its ask ``d_i``. Where the link has a shared export
capacity K and ``sum d_i > K``, importer i gets ``K d_i a_i / A`` with ``a_i = (w_i / (1 + tau_i))^eps``
and ``A = sum d_i a_i``, capped at ``d_i`` (the cap's excess goes to the others by the same weights,
in I passes), and the link's price index is ``clip((A/K)^(1/eps), 1, cap)``; else everyone gets
``d_i`` and the index is 1. Rationed orders go to links with shared room left, split in proportion
to the importers' asks; diverted orders no one could take go back to the controlled origin. With
one importer and no shared capacity this is ``min(desired, capacity)`` and the redirect of the
engine before the market existed, operation for operation.
"""
from __future__ import annotations

import numpy as np

from .stepper import Ask


def share_out(K: np.ndarray, d: list[np.ndarray], aw: list[np.ndarray], scarce: np.ndarray) -> list[np.ndarray]:
    """Split K among asks ``d`` by weights ``d*aw`` where ``scarce``, none above its ask (I passes)."""
    Ks = np.where(scarce, K, 0.0)
    A = sum(di * ai for di, ai in zip(d, aw))
    g = [np.where(scarce, Ks * di * ai / np.maximum(A, 1e-300), di) for di, ai in zip(d, aw)]
    for _ in range(len(d)):
        g = [np.minimum(gi, di) for gi, di in zip(g, d)]
        excess = np.where(scarce, np.maximum(Ks - sum(g), 0.0), 0.0)
        w = [di * ai * (gi < di) for di, ai, gi in zip(d, aw, g)]
        W = sum(w)
        g = [gi + np.where(W > 0, excess * wi / np.maximum(W, 1e-300), 0.0) for gi, wi in zip(g, w)]
    return [np.minimum(gi, di) for gi, di in zip(g, d)]


def link_price(K: np.ndarray, d: list[np.ndarray], aw: list[np.ndarray], scarce: np.ndarray, eps: np.ndarray,
               cap: np.ndarray) -> np.ndarray:
    """(S,L) price index of each link: (A/K)^(1/eps) where scarce, within [1, cap]; 1 elsewhere."""
    A = sum(di * ai for di, ai in zip(d, aw))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = np.where(scarce & (K > 0), A / np.where(K > 0, K, 1.0), np.inf)
        p = np.exp(np.log(np.maximum(ratio, 1e-300)) / eps[:, None])
    return np.where(scarce, np.clip(np.nan_to_num(p, nan=1.0, posinf=np.inf), 1.0, cap[:, None]), 1.0)


def _redirect(a: Ask, p: np.ndarray, redirect: np.ndarray, link_mat: np.ndarray, lm: np.ndarray,
              limit: np.ndarray | None = None) -> np.ndarray:
    """Place ``redirect`` (S,M) where importer ``a`` has spare capacity (within ``limit``); adds to
    ``p`` in place and returns what is left unfilled (S,M)."""
    spare = a.cap_step - p
    if a.barred is not None:
        spare[a.barred] = 0.0
    # orders that could not be placed go where there is spare capacity, in proportion
    # to it: exact in one pass (no origin is offered more than it can ship)
    spare = np.maximum(spare, 0.0)
    if limit is not None:
        spare = np.minimum(spare, limit)
    room = spare @ link_mat                                             # (S,M)
    take = np.clip(redirect / np.maximum(room, 1e-300), 0.0, 1.0)   # rounding can leave a redirect of -1e-14
    extra = spare * take[:, lm]
    p += extra
    return redirect - extra @ link_mat


def clear(asks: list[Ask], link_mat: np.ndarray, lm: np.ndarray, shared: np.ndarray | None = None,
          eps: np.ndarray | None = None, will: list[np.ndarray] | None = None, cap: np.ndarray | None = None,
          c_li: list[list[int]] | None = None, ctl_mat: list[list[int]] | None = None):
    """Placed orders and blocked orders per importer, the links' price index and each importer's share.

    ``shared`` (S,L) is the links' shared capacity in the step (inf: no shared limit) or None;
    ``c_li``/``ctl_mat`` give each importer's controlled links and their materials. Returns
    ``(placed, blocked, price, avail)``: lists over importers of (S,L) and (S,M) arrays, the (S,L)
    price index (None without shared capacity) and what of each link each importer could have had
    (S,L), None without shared capacity.
    """
    I = len(asks)
    c_li = c_li or [[] for _ in asks]
    ctl_mat = ctl_mat or [[] for _ in asks]
    placed = [np.minimum(a.desired, a.cap_step) for a in asks]
    for a, p in zip(asks, placed):
        a.redirect += (a.desired - p) @ link_mat
    # orders over a route's limit, and diverted orders, go to the importer's spare route capacity
    blocked = [_redirect(a, p, a.redirect, link_mat, lm) if a.redirect.any() else np.zeros_like(a.redirect)
               for a, p in zip(asks, placed)]
    price = None
    if shared is not None:
        d = [p.copy() for p in placed]
        scarce = sum(d) > shared
        price = np.ones_like(shared)
        if scarce.any():
            aw = []
            for i, a in enumerate(asks):
                base = will[i][:, None] if a.tariff is None else will[i][:, None] / a.tariff
                aw.append(np.broadcast_to(base ** eps[:, None], shared.shape))
            price = link_price(shared, d, aw, scarce, eps, cap)
            placed = share_out(shared, d, aw, scarce)
            for i, (a, p) in enumerate(zip(asks, placed)):
                blocked[i] = blocked[i] + (d[i] - p) @ link_mat     # rationed: try the links with room left
        left = np.maximum(shared - sum(placed), 0.0)
        if any(b.any() for b in blocked):
            asked = [b[:, lm] * (True if a.barred is None else ~a.barred) for a, b in zip(asks, blocked)]
            tot = sum(asked)
            finite = np.isfinite(left)
            left_f = np.where(finite, left, 0.0)
            for i, (a, p) in enumerate(zip(asks, placed)):
                if blocked[i].any():
                    part = np.where(finite, left_f * np.where(tot > 0, asked[i] / np.maximum(tot, 1e-300), 0.0), np.inf)
                    blocked[i] = _redirect(a, p, blocked[i], link_mat, lm, part)
            left = np.maximum(shared - sum(placed), 0.0)
    else:
        left = None
    for i, (a, p) in enumerate(zip(asks, placed)):
        if not a.redirect.any() or not a.moved:
            continue
        unfilled = blocked[i]
        # diverted orders no one else could take go back to the controlled origin
        frac = np.where(a.redirect > 0, np.clip(unfilled / np.maximum(a.redirect, 1e-300), 0.0, 1.0), 0.0)
        for k, li in enumerate(c_li[i]):
            m = ctl_mat[i][k]
            room = np.maximum(a.cap_step[:, li] - p[:, li], 0.0)
            if left is not None:
                room = np.minimum(room, left[:, li])
            back = np.minimum(a.moved[k] * frac[:, m], room)
            p[:, li] += back
            unfilled[:, m] -= back
            if left is not None:
                left[:, li] -= back
    avail = None
    if shared is not None:
        total = sum(placed)
        avail = [np.minimum(a.cap_step, np.maximum(shared - (total - p), 0.0)) for a, p in zip(asks, placed)]
    return placed, blocked, price, avail
