"""The book's figures in one house style. This is where matplotlib comes in."""

import matplotlib as mpl
import numpy as np

__all__ = ["style", "COLORS", "interactive"]

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
    _print_resolution()


def _print_resolution():
    """In a notebook, embed every figure with twice the pixels of its display size (IPython's
    "retina" PNG, shown at the same size): sharp on dense screens, and printed by the PDF
    edition at its own size at 180 pixels per inch instead of 90."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


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


# ----------------------------------------------------------------------------------------
# Interactive figures, with a static panel for the PDF edition
# ----------------------------------------------------------------------------------------
def interactive_bundle(html, static, text="interactive figure"):
    """The display data of `interactive`: (data, metadata) with text/html, image/png at twice
    the static figure's dpi (its display size in the metadata) and text/plain. Closes
    `static`."""
    import base64
    import io
    import struct

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    static.savefig(buffer, format="png", dpi=2 * static.dpi, bbox_inches="tight")
    plt.close(static)
    png = buffer.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    data = {"text/html": html, "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": text}
    return data, {"image/png": {"width": width // 2, "height": height // 2}}


def interactive(html, static, text="interactive figure"):
    """Show an interactive figure and a static panel of it as one output.

    `html` is the interactive figure (a Plotly or Bokeh div with its data); `static` a
    matplotlib figure of the same thing (at a few slider settings, say); `text` a short plain
    summary, what nbval compares. The HTML book and notebook front ends show `html`; the PDF
    edition, which runs no JavaScript, prints `static` (myst-nb renders image/png, never
    text/html, in LaTeX).
    """
    from IPython.display import display

    data, metadata = interactive_bundle(html, static, text)
    display(data, raw=True, metadata=metadata)
