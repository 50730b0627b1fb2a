"""The book's figures in one house style. This is where matplotlib comes in.

    from ddlopt.plot import style, COLORS, path, band, legend_outside, bars
    style()                       # cell 2 of every chapter

``style()`` sets sizes, fonts, grid, colours, legends and an opaque white background (the
dark theme of the HTML shows every figure on a light panel, so a figure is drawn for a
white page). With ``DDLOPT_AUDIT_FIGURES=1`` in the environment it also makes
``plt.show()`` audit each figure before showing it (:func:`audit`): an Axes with data and
no axis label, a legend over the data, or more than six labelled lines raise an
AssertionError that names the figure, the Axes and the problem.
"""

import os

import matplotlib as mpl
import numpy as np

__all__ = ["style", "COLORS", "path", "band", "legend_outside", "bars", "audit",
           "check_figure", "MAX_LINES", "interactive"]

# Six hues told apart at a glance, by normal vision and under deuteranopia, protanopia
# and tritanopia (simulated after Machado et al. 2009, full severity): Okabe and Ito's
# blue and orange, Paul Tol's muted wine, bright cyan and vibrant red, Okabe and Ito's
# bluish green. Their smallest pairwise CIEDE2000 difference is 29 for normal vision and
# 20 / 18 / 12 for the three dichromacies, where Okabe-Ito's first six reached only
# 22 / 12.5 / 12 / 11 (vermillion against orange: chapter 6's two oranges). The order
# keeps the most distinct hues first (the first three: 43 / 23 / 22 / 38) and the cyan,
# the lightest on white, late. tests/test_plot.py measures all of it.
COLORS = ["#0072B2", "#E69F00", "#882255", "#66CCEE", "#CC3311", "#009E73"]

MAX_LINES = 6  # labelled lines a panel may carry
AUDIT_VARIABLE = "DDLOPT_AUDIT_FIGURES"


def style(audit=None):
    """Apply the house style to every figure that follows.

    ``audit``: check each figure when ``plt.show()`` shows it (see :func:`audit`); by
    default on when the environment variable ``DDLOPT_AUDIT_FIGURES`` is ``1``, as it is
    while the book's notebooks are tested.
    """
    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6),
        "figure.dpi": 90,
        "figure.constrained_layout.use": True,
        # Opaque white: the dark theme dims images and sets them on a light panel, and a
        # transparent figure's black text would vanish on a dark notebook (Colab, Jupyter)
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "axes.prop_cycle": mpl.cycler(color=COLORS),
        "image.cmap": "viridis",
        "font.family": "DejaVu Sans",  # ships with matplotlib: same text extents everywhere
        "font.size": 10,
        "axes.grid": True,
        "axes.axisbelow": True,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        "legend.fontsize": 9,
        "lines.linewidth": 2.0,
        "errorbar.capsize": 3,
        "savefig.dpi": 90,
        "savefig.bbox": "tight",
    })
    if audit is None:
        audit = os.environ.get(AUDIT_VARIABLE) == "1"
    _install_audit(audit)
    _print_resolution()


# ----------------------------------------------------------------------------------------
# Helpers the chapters draw with
# ----------------------------------------------------------------------------------------
def path(ax, points, label=None, color=None, **kwargs):
    """Draw a 2-D optimizer trajectory, its start as a hollow circle and its end as a
    filled one. ``points``: an array of shape (steps + 1, 2), one row an iterate.
    Further keyword arguments go to ``ax.plot``. Returns the line."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 1:
        raise ValueError(f"points must have shape (n, 2) with n >= 1, got {points.shape}")
    kwargs.setdefault("marker", ".")
    kwargs.setdefault("markersize", 4)
    (line,) = ax.plot(points[:, 0], points[:, 1], label=label, color=color, **kwargs)
    color = line.get_color()
    ax.plot(*points[0], "o", markersize=8, markerfacecolor="white", markeredgecolor=color,
            markeredgewidth=2, zorder=line.get_zorder() + 1, label="_start")
    ax.plot(*points[-1], "o", markersize=8, color=color, zorder=line.get_zorder() + 1,
            label="_end")
    return line


def band(ax, x, runs, label=None, color=None, alpha=0.25, **kwargs):
    """Draw the mean over seeds of ``runs`` (shape seeds x points) against ``x``, with a
    band of plus or minus one sample standard deviation. Further keyword arguments go to
    ``ax.plot``. Returns the mean's line and the band."""
    runs = np.asarray(runs, dtype=float)
    x = np.asarray(x)
    if runs.ndim != 2 or runs.shape[0] < 2:
        raise ValueError(f"runs must have shape (seeds, points) with at least 2 seeds, "
                         f"got {runs.shape}")
    if runs.shape[1] != len(x):
        raise ValueError(f"runs has {runs.shape[1]} points a seed, x has {len(x)}")
    mean, std = runs.mean(axis=0), runs.std(axis=0, ddof=1)
    (line,) = ax.plot(x, mean, label=label, color=color, **kwargs)
    fill = ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=alpha,
                           linewidth=0, label="_band")
    return line, fill


def legend_outside(ax, **kwargs):
    """Put the Axes' legend to the right of it, off the data (constrained layout makes
    room). Keyword arguments go to ``ax.legend`` (``title=``, ``ncols=``...)."""
    kwargs.setdefault("loc", "upper left")
    kwargs.setdefault("bbox_to_anchor", (1.02, 1.0))
    kwargs.setdefault("borderaxespad", 0.0)
    return ax.legend(**kwargs)


def bars(ax, labels, means, stds, color=None, **kwargs):
    """Bars of ``means`` with error bars of ``stds`` (one standard deviation over seeds),
    one bar a label. Further keyword arguments go to ``ax.bar``. Returns the bars."""
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if not len(labels) == len(means) == len(stds):
        raise ValueError(f"{len(labels)} labels, {len(means)} means and {len(stds)} stds: "
                         "one of each a bar")
    positions = np.arange(len(labels))
    container = ax.bar(positions, means, yerr=stds, color=color or COLORS[0],
                       error_kw={"ecolor": "black", "elinewidth": 1.2}, **kwargs)
    ax.set_xticks(positions, labels)
    ax.grid(False, axis="x")
    return container


# ----------------------------------------------------------------------------------------
# The audit: what every figure of the book meets
# ----------------------------------------------------------------------------------------
def audit(fig):
    """The house rules that ``fig`` breaks, as a list of sentences (empty when it passes).

    - Every visible Axes with data labels its x and y axes. Exempt: Axes with the axis
      turned off, colorbars, images (``imshow``), and an axis that is hidden (the shared x
      of ``twinx``). A label counts for a neighbour that shares the axis with it
      (``sharex``/``sharey``) in the same column (x) or row (y), and ``fig.supxlabel`` /
      ``fig.supylabel`` count for all.
    - No legend over the data: what the legend shows (its handles and text, in display
      coordinates: its box less the border padding) meets no line segment, marker, scatter
      point, error bar, band, bar or patch of any Axes where the two overlap (reference lines such as ``axhline`` included;
      images, heatmaps, contour fields and spans (``axvspan``) are backgrounds and not
      checked).
    - At most ``MAX_LINES`` labelled lines (error bars and scatters counted) per Axes.

    The overlap is measured on the figure as it will be shown: drawn first (constrained
    layout done, a ``loc="best"`` legend placed), every line taken segment by segment as
    drawn (log axes, steps, gaps at NaN), markers and points by their radius. Text extents
    come from DejaVu Sans, which ships with matplotlib, so the same figure gives the same
    verdict on every machine; a line through the legend's padding alone reads clear.
    """
    renderer = _renderer(fig)
    problems = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        where = _axes_name(ax)
        for axis in _missing_labels(ax):
            problems.append(f"{where}: no {axis} label")
        n = _labelled_lines(ax)
        if n > MAX_LINES:
            problems.append(f"{where}: {n} labelled lines (at most {MAX_LINES} a panel)")
    legends = [(ax.get_legend(), f"{_axes_name(ax)}: the legend") for ax in fig.axes
               if ax.get_legend()]
    legends += [(legend, "the figure's legend") for legend in fig.legends]
    for legend, owner in legends:
        if not legend.get_visible():
            continue
        for ax, artist in _covered_data(fig, legend, renderer):
            place = "its data" if owner.startswith(_axes_name(ax) + ":") else \
                f"data of {_axes_name(ax)}"
            problems.append(f"{owner} covers {place} ({artist}); put it outside "
                            "(ddlopt.plot.legend_outside) or in an empty corner")
    return problems


def check_figure(fig):
    """Raise an AssertionError naming the figure, the Axes and each problem that
    :func:`audit` finds; do nothing when there is none."""
    problems = audit(fig)
    if problems:
        raise AssertionError(f"{_figure_name(fig)} breaks the house style:\n  - "
                             + "\n  - ".join(problems))


def _install_audit(on):
    """Wrap ``matplotlib.pyplot.show`` so that it audits every open figure first (or
    unwrap it)."""
    import matplotlib.pyplot as plt

    original = getattr(plt.show, "_unaudited", plt.show)
    if not on:
        plt.show = original
        return

    def show(*args, **kwargs):
        from matplotlib._pylab_helpers import Gcf

        for manager in Gcf.get_all_fig_managers():
            check_figure(manager.canvas.figure)
        return original(*args, **kwargs)

    show._unaudited = original
    show.__doc__ = original.__doc__
    plt.show = show


def _renderer(fig):
    """Lay the figure out (constrained layout, legend placement) and return a renderer
    to measure it with."""
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        canvas.draw()
        return canvas.get_renderer()
    fig.draw_without_rendering()
    return fig._get_renderer()


def _figure_name(fig):
    number = getattr(fig, "number", None)
    name = f"figure {number}" if number is not None else "the figure"
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if title:
        name += f" ({title!r})"
    try:  # in a notebook: the cell that drew it
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:  # IPython counts the running cell already: its In [n] is one less
            name += f" in cell [{shell.execution_count - 1}]"
    except ImportError:
        pass
    return name


def _axes_name(ax):
    index = ax.figure.axes.index(ax) + 1 if ax in ax.figure.axes else "?"
    name = f"axes {index} of {len(ax.figure.axes)}"
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
    return f"{name} ({title!r})" if title else name


def _missing_labels(ax):
    """'x' and/or 'y' where the Axes needs a label it does not have."""
    if not ax.axison or not ax.has_data() or ax.images or hasattr(ax, "_colorbar"):
        return []
    missing = []
    for axis in ("x", "y"):
        if not getattr(ax, f"{axis}axis").get_visible():
            continue
        if getattr(ax, f"get_{axis}label")().strip() or _label_shared(ax, axis):
            continue
        missing.append(axis)
    return missing


def _label_shared(ax, axis):
    """Whether a figure-wide label or a neighbour sharing this axis labels it."""
    root = getattr(ax.figure, "figure", ax.figure)  # a subfigure's figure
    if _sup_label(ax.figure, axis) or _sup_label(root, axis):
        return True
    shared = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    spec = ax.get_subplotspec()
    for other in ax.figure.axes:
        if other is ax or not getattr(other, f"get_{axis}label")().strip():
            continue
        if not shared.joined(ax, other):
            continue
        other_spec = other.get_subplotspec()
        if spec is None or other_spec is None:
            return True
        span, other_span = ((spec.colspan, other_spec.colspan) if axis == "x"
                            else (spec.rowspan, other_spec.rowspan))
        if set(span) & set(other_span):
            return True
    return False


def _sup_label(figure, axis):
    text = getattr(figure, f"_sup{axis}label", None)  # what fig.supxlabel set, if anything
    return text.get_text().strip() if text is not None else ""


def _labelled_lines(ax):
    from matplotlib.collections import PathCollection
    from matplotlib.container import ErrorbarContainer
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    return sum(isinstance(h, (Line2D, ErrorbarContainer, PathCollection)) for h in handles)


def _covered_data(fig, legend, renderer):
    """(Axes, description) for each Axes whose data the legend's box meets."""
    from matplotlib.transforms import Bbox

    box = legend.get_window_extent(renderer)
    margin = legend.borderpad * legend.prop.get_size_in_points() * fig.dpi / 72.0
    box = Bbox.from_extents(box.x0 + margin, box.y0 + margin, box.x1 - margin, box.y1 - margin)
    if box.width <= 0 or box.height <= 0:
        return []
    covered = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        clip = Bbox.intersection(box, ax.bbox)
        if clip is None or clip.width <= 0 or clip.height <= 0:
            continue
        hit = _first_hit(ax, clip, fig.dpi)
        if hit is not None:
            covered.append((ax, hit))
    return covered


def _first_hit(ax, box, dpi):
    """A description of the first data artist of ``ax`` that meets ``box`` (display
    coordinates), or None."""
    from matplotlib.cbook import STEP_LOOKUP_MAP
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.contour import ContourSet

    px = dpi / 72.0
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if len(xy) == 0:
            continue
        drawn = np.column_stack(STEP_LOOKUP_MAP[line.get_drawstyle()](xy[:, 0], xy[:, 1]))
        if line.get_linestyle() not in ("None", "", " ") and len(drawn) > 1:
            if _segments_meet(line.get_transform().transform(drawn), box):
                return _describe(line, "line")
        if line.get_marker() not in ("None", "", " ", None):
            radius = line.get_markersize() * px / 2
            if _points_meet(line.get_transform().transform(xy), box, radius):
                return _describe(line, "markers")
    for coll in ax.collections:
        if not coll.get_visible() or isinstance(coll, (QuadMesh, ContourSet)):
            continue
        if isinstance(coll, PathCollection):
            offsets = coll.get_offset_transform().transform(np.asarray(coll.get_offsets()))
            sizes = coll.get_sizes()
            radius = np.sqrt(sizes.max() if len(sizes) else 36.0) * px / 2
            if _points_meet(offsets, box, radius):
                return _describe(coll, "points")
            continue
        filled = len(coll.get_facecolor()) > 0 and np.any(coll.get_facecolor()[:, 3] > 0)
        transform = coll.get_transform()
        for p in coll.get_paths():
            if transform.transform_path(p).intersects_bbox(box, filled=filled):
                return _describe(coll, "band" if filled else "lines")
    for patch in ax.patches:
        # a span (axvspan, axhspan) is placed in axes coordinates one way: a background
        if patch.get_visible() and patch.get_data_transform() is ax.transData:
            shape = patch.get_transform().transform_path(patch.get_path())
            if shape.intersects_bbox(box, filled=patch.get_fill()):
                return _describe(patch, "bar" if type(patch).__name__ == "Rectangle"
                                 else "patch")
    return None


def _describe(artist, kind):
    label = artist.get_label()
    return f"{kind} {label!r}" if label and not label.startswith("_") else kind


def _points_meet(points, box, radius):
    points = points[np.all(np.isfinite(points), axis=1)]
    return bool(np.any((points[:, 0] >= box.x0 - radius) & (points[:, 0] <= box.x1 + radius)
                       & (points[:, 1] >= box.y0 - radius) & (points[:, 1] <= box.y1 + radius)))


def _segments_meet(points, box):
    """Whether the polyline through ``points`` crosses the box (Liang and Barsky's
    clipping, all segments at once; segments with a non-finite end are not drawn)."""
    start, end = points[:-1], points[1:]
    finite = np.all(np.isfinite(start), axis=1) & np.all(np.isfinite(end), axis=1)
    start, end = start[finite], end[finite]
    step = end - start
    enter, leave = np.zeros(len(start)), np.ones(len(start))
    inside = np.ones(len(start), dtype=bool)
    for p, q in ((-step[:, 0], start[:, 0] - box.x0), (step[:, 0], box.x1 - start[:, 0]),
                 (-step[:, 1], start[:, 1] - box.y0), (step[:, 1], box.y1 - start[:, 1])):
        inside &= ~((p == 0) & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = q / p
        enter = np.where(p < 0, np.maximum(enter, t), enter)
        leave = np.where(p > 0, np.minimum(leave, t), leave)
    return bool(np.any(inside & (enter <= leave)))


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
