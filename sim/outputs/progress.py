"""Progress bars (tqdm, on stderr) that appear only on a terminal and only after a couple of seconds."""
from __future__ import annotations

import sys
from typing import Any, Iterable

DELAY_S = 2.0


def enabled() -> bool:
    """True when stderr is a terminal (no bars in logs, pipes or CI)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def bar(iterable: Iterable[Any] | None = None, total: int | None = None, desc: str = "", unit: str = "it",
        force: bool | None = None) -> Any:
    """A tqdm bar on stderr shown after :data:`DELAY_S` seconds; silent unless on a TTY (or ``force``)."""
    from tqdm.auto import tqdm

    show = enabled() if force is None else force
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, delay=DELAY_S, disable=not show,
                leave=False, dynamic_ncols=True)
