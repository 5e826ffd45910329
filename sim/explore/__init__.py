"""Policy levers, robustness and scenario discovery (``batsim explore``; docs/explore.md).

One idea per module:

- :mod:`.policy`    policy files: levers, options (scenario patches) and their costs, checked
- :mod:`.combine`   the design of combinations and each one's patched, compiled scenario
- :mod:`.evaluate`  common futures and the (policy, future) evaluator on the sweep machinery
- :mod:`.robust`    regret, satisficing probability, percentiles, the Pareto front, ranking
- :mod:`.discover`  PRIM boxes on the futures where the preferred policy fails
- :mod:`.cart`      CART leaves (scikit-learn's tree) on the same futures: the second view
- :mod:`.plots`     Pareto front, regret per policy, PRIM peeling trajectory
- :mod:`.run`       the driver :func:`explore` and :class:`ExploreResult`; :func:`~.run.check` for validate
- :mod:`.report`    the explore section of ``batsim report``
"""
from __future__ import annotations

from typing import Any

__all__ = ["explore", "ExploreResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'sim.explore' has no attribute '{name}'")
