"""One look for every figure: Okabe–Ito colours, RL vs SL always the same, attractor labels that
survive greyscale (hatching + distinct lightness), and PNG/SVG output.

Matplotlib runs on the Agg backend (no display needed); figures are closed after saving.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from cogdyn.dynamics.classify import LABELS
from cogdyn.io import atomic_write_bytes

# Okabe & Ito (2008), "Color universal design": safe for the common colour-vision deficiencies.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

ALGO_NAME = {"ppo": "RL (PPO)", "sl": "SL"}
ALGO_COLOR = {"ppo": OKABE_ITO["vermillion"], "sl": OKABE_ITO["blue"]}
# Marker and line style differ too, so RL and SL stay apart in greyscale.
ALGO_MARKER = {"ppo": "o", "sl": "s"}
ALGO_LINE = {"ppo": "-", "sl": "--"}

LABEL_ORDER: tuple[str, ...] = LABELS
"""Attractor labels of :mod:`cogdyn.dynamics.classify`, in legend order."""
LABEL_NAME = {
    "fixed_point": "fixed point",
    "periodic": "periodic",
    "quasi_periodic": "quasi-periodic",
    "chaotic": "chaotic",
    "divergent": "divergent",
    "unresolved": "unresolved",
}
# Lightness steps apart (yellow .90, sky blue .70, green .55, purple .62, dark grey .25, white 1)
# and each label but two has its own hatch, so a greyscale print still tells them apart.
LABEL_COLOR = {
    "fixed_point": OKABE_ITO["yellow"],
    "periodic": OKABE_ITO["sky_blue"],
    "quasi_periodic": OKABE_ITO["bluish_green"],
    "chaotic": OKABE_ITO["reddish_purple"],
    "divergent": "#3A3A3A",
    "unresolved": "#FFFFFF",
}
LABEL_HATCH = {
    "fixed_point": "",
    "periodic": "//",
    "quasi_periodic": "xx",
    "chaotic": "\\\\",
    "divergent": "",
    "unresolved": "..",
}
STABILITY_MARKER = {"stable": "o", "saddle": "^", "unstable": "x"}


def new_figure(width: float = 7.0, height: float = 3.2, ncols: int = 1, nrows: int = 1, **kw: Any):
    """A figure and its axes with the house style (constrained layout, readable fonts)."""
    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.titlesize": 9,
            "axes.labelsize": 9,
            "legend.fontsize": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "hatch.linewidth": 0.6,
            "svg.fonttype": "none",
        }
    )
    return plt.subplots(
        nrows, ncols, figsize=(width, height), constrained_layout=True, squeeze=False, **kw
    )


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 110) -> bytes:
    """The figure rendered as ``fmt`` (png or svg) bytes; the figure is closed."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    finally:
        plt.close(fig)
    return buf.getvalue()


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date: the same data gives byte-identical files.
    return {"Software": "cogdyn"} if fmt == "png" else {"Date": None}


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI: the figure travels inside the HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def save_figure(fig: Figure, stem: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write ``fig`` as ``stem.<fmt>`` for each format (atomically); the figure is closed."""
    paths = []
    try:
        for fmt in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=150, metadata=_metadata(fmt))
            path = stem.with_suffix(f".{fmt}")
            atomic_write_bytes(path, buf.getvalue())
            paths.append(path)
    finally:
        plt.close(fig)
    return paths
