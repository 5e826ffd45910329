"""Scenario discovery, second view: CART leaves (a classification tree) where the preferred policy fails.

Uses scikit-learn's ``DecisionTreeClassifier`` (an optional extra, ``pip install 'batsim[cart]'``,
imported only here and only when called). The tree is grown on the futures with the failures as
the class (Gini impurity, depth at most ``MAX_DEPTH``, every leaf holding at least ``MASS_MIN`` of
the futures, ``random_state=0`` so it is reproducible); each leaf in which failures are the
majority is a box: the bounds of its path from the root, with its coverage (share of all failures
inside it) and density (share of its futures that fail). Unlike PRIM's boxes these leaves are
disjoint, and a split is exact where PRIM peels in steps of ``alpha``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_DEPTH = 3        # at most 8 leaves: a reader can follow every path
MASS_MIN = 0.05      # the same minimum mass as the PRIM boxes

MISSING = ("the CART view needs scikit-learn, which is not installed: cart_boxes.csv holds no boxes "
           "(pip install 'batsim[cart]', or pip install scikit-learn)")


def available() -> bool:
    """True when scikit-learn's tree module can be imported."""
    try:
        import sklearn.tree  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Leaf:
    """One failing leaf of the tree: bounds on the parameters its path splits on, coverage, density."""

    index: int                                # 1 = the leaf with the highest coverage
    node: int                                 # the leaf's node id in the fitted tree
    limits: dict[str, tuple[float, float]]    # low < x <= high (low inclusive where it is the sampled minimum)
    coverage: float
    density: float
    mass: float


def find_leaves(X: np.ndarray, ids: list[str], fails: np.ndarray, max_depth: int = MAX_DEPTH,
                mass_min: float = MASS_MIN) -> list[Leaf]:
    """CART on ``X`` (futures × parameters) with ``fails`` as the class; the leaves where most fail."""
    from sklearn.tree import DecisionTreeClassifier

    fails = np.asarray(fails, dtype=bool)
    n = len(fails)
    if fails.all() or not fails.any() or X.shape[1] == 0:
        return []
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(1, math.ceil(mass_min * n)),
                                  random_state=0).fit(X, fails)
    t = tree.tree_
    lo0, hi0 = X.min(axis=0), X.max(axis=0)
    out: list[Leaf] = []

    def walk(node: int, bounds: dict[int, tuple[float, float]]) -> None:
        if t.children_left[node] == -1:                      # a leaf: its statistics on the data, in float64
            inside = np.ones(n, dtype=bool)                  # (the tree splits float32 copies of X)
            for j, (lo, hi) in bounds.items():
                inside &= ((X[:, j] > lo) | ((lo == lo0[j]) & (X[:, j] == lo))) & (X[:, j] <= hi)
            hit = int((inside & fails).sum())
            if inside.any() and hit / inside.sum() > 0.5:
                out.append(Leaf(0, node, {ids[j]: b for j, b in sorted(bounds.items())}, hit / int(fails.sum()),
                                hit / int(inside.sum()), float(inside.mean())))
            return
        j, thr = int(t.feature[node]), float(t.threshold[node])
        lo, hi = bounds.get(j, (float(lo0[j]), float(hi0[j])))
        walk(int(t.children_left[node]), {**bounds, j: (lo, min(hi, thr))})       # x <= threshold
        walk(int(t.children_right[node]), {**bounds, j: (max(lo, thr), hi)})      # x > threshold

    walk(0, {})
    out.sort(key=lambda leaf: (-leaf.coverage, -leaf.density, leaf.node))
    for i, leaf in enumerate(out):
        leaf.index = i + 1
    return out
