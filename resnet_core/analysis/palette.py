"""The colours every chart uses: told apart with any common colour-vision deficiency, and
each at least 3:1 against the white page (WCAG 2.1's 1.4.11 for the lines and marks a chart
needs to be understood).

Okabe and Ito's colour-blind-safe set without its orange, sky blue and yellow (2.0-2.3:1 on
white, and yellow 1.1:1), with a brown and a wine in their place. ``tests/core/analysis/test_palette.py``
checks both properties: the contrast below, and the distance (CIELAB delta E) between every
two colours as people with protanopia, deuteranopia and tritanopia see them, simulated with
Machado, Oliveira and Fernandes' matrices (IEEE TVCG 2009, severity 1.0).
"""

from __future__ import annotations

import numpy as np

PALETTE = ("#0072B2",  # blue
           "#D55E00",  # vermillion
           "#009E73",  # bluish green
           "#CC79A7",  # reddish purple
           "#000000",  # black
           "#8C564B",  # brown
           "#AA3377")  # wine
GREY = "rgba(120,120,120,0.55)"  # what is set aside (pruned trials): line width tells it too

# Machado et al. 2009, severity 1.0, on linear RGB.
DEFICIENCIES = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def style(fig):
    """Give a Plotly figure the palette (explicit, so Streamlit's theme keeps it)."""
    fig.update_layout(colorway=list(PALETTE))
    return fig


def linear_rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' -> linear RGB in [0, 1] (sRGB's transfer function undone)."""
    c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def contrast_ratio(a: str, b: str = "#FFFFFF") -> float:
    """WCAG 2.1's contrast ratio of two colours (1 to 21)."""
    la, lb = (float(linear_rgb(c) @ [0.2126, 0.7152, 0.0722]) for c in (a, b))
    high, low = max(la, lb), min(la, lb)
    return (high + 0.05) / (low + 0.05)


def delta_e(a: str, b: str, deficiency: str | None = None) -> float:
    """CIE76 distance in CIELAB between two colours, as seen with ``deficiency`` (or none)."""
    pa, pb = linear_rgb(a), linear_rgb(b)
    if deficiency is not None:
        m = DEFICIENCIES[deficiency]
        pa, pb = np.clip(m @ pa, 0, 1), np.clip(m @ pb, 0, 1)
    return float(np.linalg.norm(_lab(pa) - _lab(pb)))


def _lab(rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])
