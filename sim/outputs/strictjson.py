"""JSON that any parser reads: no NaN or Infinity (Python writes them by default), dates as ISO text."""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def finite(obj: Any) -> Any:
    """A copy of ``obj`` with every non-finite float replaced by None (numpy scalars made plain,
    dates as ISO text, paths as text)."""
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (dt.date, Path)):
        return str(obj)
    return obj


def _default(obj: Any) -> Any:
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    return str(obj)


def dumps(obj: Any) -> str:
    """Strict JSON text (``allow_nan=False`` after :func:`finite`), indented, UTF-8 kept, newline-terminated."""
    return json.dumps(finite(obj), indent=2, ensure_ascii=False, default=_default, allow_nan=False) + "\n"
