"""What every batsim figure shares: the caption line (scenario, version, seed, engine) and saving
in PNG, SVG or PDF, so a figure pasted into a brief says what made it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

FORMATS = ("png", "svg", "pdf")


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported only when a figure is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def caption(scenario: str, seed: int | None, engine: str, samples: int = 1, extra: str = "") -> str:
    """The caption line: 'scenario X · batsim V · seed S · engine E · N samples'."""
    from .. import __version__

    parts = [f"scenario {scenario}", f"batsim {__version__}"]
    if seed is not None:
        parts.append(f"seed {seed}")
    parts.append(f"engine {engine}")
    if samples > 1:
        parts.append(f"{samples} {'replications' if engine != 'stockflow' else 'samples'}")
    if extra:
        parts.append(extra)
    return " · ".join(parts)


def add_caption(fig: Any, text: str) -> None:
    """Write ``text`` in small grey type at the figure's bottom left."""
    fig.text(0.005, 0.004, text, fontsize=6.5, color="0.35", ha="left", va="bottom")


def check_format(fmt: str) -> str:
    """The format, lower-cased; ValueError for one matplotlib is not asked to write."""
    f = fmt.lower()
    if f not in FORMATS:
        raise ValueError(f"unknown plot format '{fmt}'; available: {', '.join(FORMATS)}")
    return f


def save(fig: Any, path: Path, fmt: str = "png") -> Path:
    """Save ``fig`` as ``path`` with the format's suffix (atomically) and close it."""
    from ..sweep.storage import atomic_write

    f = check_format(fmt)
    path = Path(path).with_suffix("." + f)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=f, dpi=110, bbox_inches="tight", metadata=_metadata(f)))
    pyplot().close(fig)
    return path


def _metadata(fmt: str) -> dict[str, Any]:
    # fixed metadata so the same run writes byte-identical SVG/PDF files (no creation date)
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}
