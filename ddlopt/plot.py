"""The book's figures in one house style. This is where matplotlib comes in."""

import matplotlib as mpl
import numpy as np

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


# ----------------------------------------------------------------------------------------
# The learning-rate finder (chapter 6)
# ----------------------------------------------------------------------------------------
__all__ += ["lr_finder"]


def lr_finder(result, ax=None):
    """The range test's smoothed loss (and, faint, each batch's loss) against the learning
    rate on a log axis, with the suggested rate marked. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    ax.semilogx(result.lrs, result.raw_losses, color=COLORS[0], alpha=0.25, linewidth=1,
                label="loss of each batch")
    ax.semilogx(result.lrs, result.losses, color=COLORS[0], label="smoothed loss")
    at = result.losses[np.argmin(np.abs(np.log(result.lrs / result.suggestion)))]
    ax.plot([result.suggestion], [at], "o", color=COLORS[1], markersize=8,
            label=f"suggestion ({result.rule}): {result.suggestion:.2g}")
    ax.axvline(result.min_loss_lr, color="grey", linestyle=":", linewidth=1,
               label=f"minimum of the smoothed loss: {result.min_loss_lr:.2g}")
    top = min(result.raw_losses.max(), 2.0 * result.losses[0])
    ax.set(xlabel="learning rate", ylabel="training loss",
           ylim=(0.9 * min(result.raw_losses.min(), result.losses.min()), top))
    ax.legend()
    return ax
