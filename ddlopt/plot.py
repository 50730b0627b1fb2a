"""The book's figures in one house style. This is where matplotlib comes in."""

import matplotlib as mpl

__all__ = ["style", "COLORS"]

# Colour-blind-safe (Okabe and Ito), in the order the book uses them.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def style():
    """Apply the house style to every figure that follows (sizes, colours, grid, fonts)."""
    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6),
        "figure.dpi": 90,
        "figure.constrained_layout.use": True,
        "axes.prop_cycle": mpl.cycler(color=COLORS),
        "axes.grid": True,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        "legend.fontsize": 9,
        "lines.linewidth": 2.0,
        "savefig.dpi": 90,
        "savefig.bbox": "tight",
    })
