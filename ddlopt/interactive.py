r"""Figures a reader can play with: sliders over numbers that ddlopt computed.

Each explorer runs ddlopt's own NumPy optimizers, schedules and layers over every setting of
its controls (its sliders and buttons) when it is built, and hands the results to Plotly. In
the browser, Plotly's JavaScript only picks which of the precomputed curves to draw: no update
rule is written a second time in JavaScript, so the figure cannot drift from the tested code.

=====================================  ========  ================================================
explorer                               chapter   controls
=====================================  ========  ================================================
``gradient_descent()``                 2         η
``momentum()``                         3         η, β
``adam()``                             5         β₁, β₂, bias correction on/off
``schedules()``                        6         warm-up length :math:`T_w`, decay shape
``initialization()``                   7         the initializer's gain :math:`c`
=====================================  ========  ================================================

An explorer holds its numbers (``results``, ``at(...)``), prints a summary of its grid
(``summary()``), shows itself (``show()``), and draws a static panel of a few settings with
matplotlib for the PDF edition (``panel()``). ``show()`` does what each place needs:

- in the book's own runs (``DDLOPT_BOOK=1``, set by ``.ci/notebooks.py execute`` and by the
  tests' nbval plugin) it displays the figure's HTML without plotly.js
  (``include_plotlyjs=False``) and with a fixed div id, so the committed output is the same on
  every run; the book serves plotly.js itself, on the pages that have such a figure
  (``book/_ext``);
- anywhere else (Colab, JupyterLab, VS Code, a script) it calls Plotly's ``fig.show()``, which
  picks the renderer for the place;
- without Plotly installed, it says so and draws the static panel instead.

How several controls drive one Plotly figure with none of our JavaScript: each varying trace
exists once per setting of the controls after the first. The first control's steps restyle the
data (x, y, text) of all those copies; the second control's steps set their ``visible``, the
third's their ``opacity`` (hover off when hidden). Each attribute has one owner, so the
controls compose in any order. The embedded numbers are rounded (coordinates to 3 decimals,
everything else to 4 significant digits): NumPy's last bits differ between CPUs, the rounded
numbers do not, so the HTML output is the same on another machine.
"""

import itertools
import math
import os

import numpy as np

from . import init as initializers
from . import schedules as lr_schedules
from .nn import Dense, Sequential
from .optim import SGD, adam_update, sgd_update
from .params import Parameter
from .study import _one_blas_thread
from .surfaces import Quadratic

__all__ = ["Control", "Explorer", "gradient_descent", "momentum", "adam", "schedules",
           "initialization", "descend", "BOOK_ENV", "PLOTLY_CONFIG"]

BOOK_ENV = "DDLOPT_BOOK"  # "1" in the book's own runs: show() emits the book's HTML
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
TOP = 0.88  # the panels end here; the line of status text sits above them


# ----------------------------------------------------------------------------------------
# Numbers as the page embeds them
# ----------------------------------------------------------------------------------------
def significant(values, digits=4):
    """``values`` (any shape) as a flat list of floats rounded to ``digits`` significant
    digits; None (a gap in the plot) where a value is not finite."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    return [float(f"{v:.{digits}g}") + 0.0 if math.isfinite(v) else None for v in flat]


def fixed(values, decimals=3):
    """``values`` as a flat list of floats rounded to ``decimals`` decimals (coordinates);
    None where not finite. ``+ 0.0`` turns -0.0 into 0.0."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    return [round(float(v), decimals) + 0.0 if math.isfinite(v) else None for v in flat]


# ----------------------------------------------------------------------------------------
# The machinery: a grid of settings, traces per setting, Plotly's sliders and buttons
# ----------------------------------------------------------------------------------------
class Control:
    """One slider (or, with ``buttons=True``, one row of buttons) of an explorer.

    ``key`` names it in ``Explorer.at(key=value)``; ``label`` is what the reader sees
    (``"η"``); ``values`` is its grid; ``labels`` how each value is written (default ``:g``);
    ``active`` the index shown first.
    """

    def __init__(self, key, label, values, labels=None, active=0, buttons=False):
        self.key, self.label, self.values = key, label, tuple(values)
        self.labels = tuple(labels) if labels is not None else tuple(f"{v:g}" for v in values)
        if len(self.labels) != len(self.values) or not self.values:
            raise ValueError(f"control {key!r}: one label per value, and at least one value")
        if not 0 <= active < len(self.values):
            raise ValueError(f"control {key!r}: active must index its values, got {active}")
        self.active, self.buttons = active, buttons

    def __repr__(self):
        return f"Control({self.key!r}, {len(self.values)} values)"


class Explorer:
    """The base of every explorer: computes ``results`` for every setting of ``controls``
    (a tuple of indices, one per control) and assembles the Plotly figure.

    A subclass sets ``name`` (the figure's div id is ``"ddlopt-" + name``), ``title`` and
    ``height``, and writes ``_compute(**values)`` (the numbers for one setting, a dict),
    ``_static()`` (traces drawn whatever the controls say), ``_traces(index, result)`` (the
    traces of one setting: the same number each time), ``_axes()`` (the layout's axes and
    shapes), ``summary()`` and ``panel()``.
    """

    name = "explorer"
    title = ""
    height = 560

    def __init__(self, controls):
        if not 1 <= len(controls) <= 3:
            raise ValueError("an explorer has one, two or three controls")
        self.controls = list(controls)
        self.results = {}
        with np.errstate(over="ignore", invalid="ignore"):  # diverging runs are part of it
            for index in itertools.product(*(range(len(c.values)) for c in self.controls)):
                values = {c.key: c.values[i] for c, i in zip(self.controls, index)}
                self.results[index] = self._compute(**values)

    # -- the numbers -----------------------------------------------------------------------
    def index(self, **values):
        """The grid index of a setting, from values by key (the active value where a key is
        left out)."""
        unknown = set(values) - {c.key for c in self.controls}
        if unknown:
            raise KeyError(f"unknown control {sorted(unknown)}; this explorer has "
                           f"{[c.key for c in self.controls]}")
        index = []
        for c in self.controls:
            value = values.get(c.key, c.values[c.active])
            matches = [i for i, v in enumerate(c.values) if v == value or
                       (isinstance(v, float) and isinstance(value, (int, float))
                        and not isinstance(value, bool) and math.isclose(v, value))]
            if not matches:
                raise ValueError(f"{c.key}={value!r} is not on the grid {list(c.values)}")
            index.append(matches[0])
        return tuple(index)

    def at(self, **values):
        """The numbers of one setting (a dict of arrays), e.g. ``at(lr=0.1)``."""
        return self.results[self.index(**values)]

    # -- what a subclass writes -------------------------------------------------------------
    def _compute(self, **values):
        raise NotImplementedError

    def _static(self):
        return []

    def _traces(self, index, result):
        raise NotImplementedError

    def _axes(self):
        raise NotImplementedError

    def summary(self):
        raise NotImplementedError

    def panel(self):
        raise NotImplementedError

    # -- the figure ----------------------------------------------------------------------
    @property
    def div_id(self):
        return f"ddlopt-{self.name}"

    def describe(self):
        """One line: what the figure is and what it lets the reader move."""
        controls = ", ".join(f"{c.label} ({len(c.values)} values)" for c in self.controls)
        return f"Interactive figure: {self.title}. Move {controls}."

    def figure_dict(self):
        """The whole figure as Plotly's JSON-ready dict: ``{"data": [...], "layout": {...}}``."""
        first, others = self.controls[0], self.controls[1:]
        copies = list(itertools.product(*(range(len(c.values)) for c in others)))

        def layer(i, rest):
            index = (i, *rest)
            return self._traces(index, self.results[index])

        data = list(self._static())
        varying = []  # (indices of the other controls, the trace as _traces made it)
        for rest in copies:
            varying += [(rest, trace) for trace in layer(first.active, rest)]
        indices = list(range(len(data), len(data) + len(varying)))
        for rest, trace in varying:
            trace = dict(trace)
            if others:
                trace["visible"] = rest[0] == others[0].active
            if len(others) > 1:
                trace["opacity"] = self._opacity(trace, rest[1] == others[1].active)
                trace["hoverinfo"] = self._hover(trace, rest[1] == others[1].active)
            data.append(_clean(trace))

        def restyle_data(i):
            traces = [t for rest in copies for t in layer(i, rest)]
            return {"x": [t.get("x") for t in traces], "y": [t["y"] for t in traces],
                    "text": [t.get("text") for t in traces]}

        steps = {0: [restyle_data(i) for i in range(len(first.values))]}
        if others:
            steps[1] = [{"visible": [rest[0] == j for rest, _ in varying]}
                        for j in range(len(others[0].values))]
        if len(others) > 1:
            steps[2] = [{"opacity": [self._opacity(t, rest[1] == j) for rest, t in varying],
                         "hoverinfo": [self._hover(t, rest[1] == j) for rest, t in varying]}
                        for j in range(len(others[1].values))]
        layout = self._layout()
        sliders, menus = [], []
        for position, control in enumerate(self.controls):
            entries = [{"label": label, "method": "restyle", "args": [update, indices]}
                       for label, update in zip(control.labels, steps[position])]
            if control.buttons:
                menus.append(self._buttons(control, entries, len(menus)))
            else:
                sliders.append(self._slider(control, entries, len(sliders)))
        if sliders:
            layout["sliders"] = sliders
        if menus:
            layout["updatemenus"] = menus
        return {"data": data, "layout": layout}

    @staticmethod
    def _opacity(trace, shown):
        return trace.get("_opacity", 1.0) if shown else 0.0

    @staticmethod
    def _hover(trace, shown):
        return trace.get("_hoverinfo", "x+y") if shown else "skip"

    def _layout(self):
        n_sliders = sum(not c.buttons for c in self.controls)
        n_menus = len(self.controls) - n_sliders
        layout = {
            "height": self.height,
            "margin": {"l": 60, "r": 20, "t": 50 + 40 * n_menus, "b": 40 + 75 * n_sliders},
            # a template of our own keeps Plotly's default theme (7 KB) out of the page
            "template": {"layout": {"font": {"family": "Helvetica, Arial, sans-serif",
                                             "size": 12, "color": "#222"}}},
            "paper_bgcolor": "white", "plot_bgcolor": "white",
            "showlegend": False, "hovermode": "closest",
            "title": {"text": self.title, "x": 0.0, "xanchor": "left", "y": 0.99,
                      "yanchor": "top", "yref": "container", "font": {"size": 14}},
        }
        layout.update(self._axes())
        for key, axis in layout.items():
            if key.startswith(("xaxis", "yaxis")):
                axis.setdefault("showgrid", True)
                axis.setdefault("gridcolor", "#e5e5e5")
                axis.setdefault("zeroline", False)
                axis.setdefault("showline", True)
                axis.setdefault("linecolor", "#444")
                axis.setdefault("ticks", "outside")
        return layout

    def _slider(self, control, steps, position):
        """Sliders side by side under the panels."""
        n = sum(not c.buttons for c in self.controls)
        width = 1.0 / n
        return {"active": control.active, "steps": steps, "x": position * width,
                "len": width * 0.92, "y": 0, "yanchor": "top", "pad": {"t": 50, "b": 10},
                "currentvalue": {"prefix": f"{control.label} = ", "font": {"size": 13}}}

    def _buttons(self, control, buttons, position):
        """Rows of buttons above the panels, under the title."""
        return {"type": "buttons", "direction": "right", "active": control.active,
                "buttons": buttons, "x": 0.0, "xanchor": "left", "y": 1.0 + 0.07 * position,
                "yanchor": "bottom", "showactive": True, "pad": {"r": 4, "t": 0, "b": 8},
                "bgcolor": "#f3f3f3", "bordercolor": "#bbb", "font": {"size": 12}}

    def figure(self):
        """The Plotly figure (``plotly.graph_objects.Figure``); needs plotly."""
        import plotly.graph_objects as go

        return go.Figure(self.figure_dict())

    def html(self):
        """The figure as the book embeds it: a div with a fixed id and the script that draws
        it, without plotly.js (the book's pages load it)."""
        import plotly.io as pio

        return pio.to_html(self.figure_dict(), config=PLOTLY_CONFIG, include_plotlyjs=False,
                           full_html=False, div_id=self.div_id)

    def show(self):
        """Show the figure as the place needs it (see the module's docstring)."""
        if os.environ.get(BOOK_ENV) == "1":   # one output, both editions
            from .plot import interactive as interactive_output

            interactive_output(self.html(), self.panel(), self.describe())
            return
        try:
            figure = self.figure()
        except ImportError:
            import matplotlib.pyplot as plt

            print(f"{self.describe()}\nPlotly is not installed (pip install plotly); "
                  "here is the static panel instead.")
            self.panel()
            plt.show()
            return
        figure.show(config=PLOTLY_CONFIG)


def _colors():
    from .plot import COLORS

    return COLORS


def _line(x, y, color, axes=("x", "y"), width=2.0, dash=None, mode="lines", text=None,
          marker=None, hover="x+y", opacity=1.0):
    """A scatter trace with the house defaults (the keys starting with _ are ours: the
    opacity and hover a trace has when its control shows it)."""
    trace = {"type": "scatter", "mode": mode, "x": x, "y": y, "xaxis": axes[0],
             "yaxis": axes[1], "line": {"color": color, "width": width}, "hoverinfo": hover,
             "_opacity": opacity, "_hoverinfo": hover}
    if dash:
        trace["line"]["dash"] = dash
    if text is not None:
        trace["text"] = text
    if marker is not None:
        trace["marker"] = marker
    if opacity != 1.0:
        trace["opacity"] = opacity
    return trace


def _series(y, color, axes=("x", "y"), x0=0, dx=1, **options):
    """A line over equally spaced x (x0, x0 + dx, ...): no x array at all, so the sliders
    that change it carry only y (their x entry is null, which leaves x unset)."""
    trace = _line(None, y, color, axes=axes, **options)
    del trace["x"]
    trace.update(x0=x0, dx=dx)
    return trace


def _status(text, axes):
    """The line of text over the panels that says what the current setting does."""
    return {"type": "scatter", "mode": "text", "x": [0.0], "y": [0.5], "text": [text],
            "textposition": "middle right", "xaxis": axes[0], "yaxis": axes[1],
            "textfont": {"size": 13, "color": "#222"}, "hoverinfo": "skip",
            "_hoverinfo": "skip"}


def _status_axes(x, y, domain_y=(0.93, 1.0)):
    return {x: {"domain": [0, 1], "range": [0, 1], "visible": False, "fixedrange": True},
            y: {"domain": list(domain_y), "range": [0, 1], "visible": False,
                "fixedrange": True}}


def _clean(trace):
    """Drop our private keys before Plotly sees a trace."""
    return {k: v for k, v in trace.items() if not k.startswith("_")}


def _contours(surface, axes, levels):
    """The surface's level sets as a static contour trace (lines only, grey)."""
    X, Y, Z = surface.grid(41)
    return {"type": "contour", "x": fixed(X[0], 4), "y": fixed(Y[:, 0], 4),
            "z": [significant(row, 3) for row in Z], "xaxis": axes[0], "yaxis": axes[1],
            "contours": {"coloring": "lines", "start": levels[0], "end": levels[1],
                         "size": levels[2]},
            "line": {"width": 1, "color": "#bdbdbd"}, "colorscale": [[0, "#bdbdbd"], [1, "#bdbdbd"]],
            "showscale": False, "hoverinfo": "skip"}


def _surface_traces(surface, levels):
    """The path panel's fixed part: the level sets and the minimum (a star)."""
    return [_clean(_contours(surface, ("x", "y"), levels)),
            _clean(_line([0.0], [0.0], "black", mode="markers", hover="skip",
                         marker={"symbol": "star", "size": 12, "color": "black"}))]


def _surface_axes(surface, bottom=0.0, top=TOP, equal=True):
    """The path panel's axes, on the left: θ₁ across, θ₂ up (equal scales if ``equal``)."""
    (x0, x1), (y0, y1) = surface.bounds
    y_axis = {"domain": [bottom, top], "range": [y0, y1], "title": {"text": "θ₂"},
              "anchor": "x"}
    if equal:
        y_axis["scaleanchor"] = "x"
    return {"xaxis": {"domain": [0, 0.46], "range": [x0, x1], "title": {"text": "θ₁"},
                      "anchor": "y"},
            "yaxis": y_axis}


def _surface_panel(ax, surface, start, levels):
    """The static panel's path axes: level sets, start (open circle), minimum (star)."""
    X, Y, Z = surface.grid(120)
    ax.contour(X, Y, Z, levels=np.arange(*levels), colors="0.8", linewidths=0.7)
    ax.plot(*start, "o", mfc="none", color="k", ms=8)
    ax.plot(0, 0, "k*", ms=10)
    ax.set(xlim=surface.bounds[0], ylim=surface.bounds[1], xlabel="θ₁", ylabel="θ₂")


# ----------------------------------------------------------------------------------------
# Runs on a 2-D surface, a whole grid of learning rates at once
# ----------------------------------------------------------------------------------------
def descend(surface, start, steps, lr, momentum=0.0):
    """Gradient descent (heavy-ball momentum ``momentum``) from ``start`` on a 2-D surface,
    for every learning rate in ``lr`` at once: ``lr`` is an array (or a number), and each entry
    is one run. The update is ddlopt's ``sgd_update``, the function ``SGD`` calls, applied to
    all the runs together (its arithmetic is elementwise, so each run gets exactly the bits
    that ``SGD(lr=that entry, momentum=momentum)`` would). Returns the paths, an array of shape
    ``lr.shape + (steps + 1, 2)``."""
    lr = np.asarray(lr, dtype=np.float64)
    theta = np.tile(np.asarray(start, dtype=np.float64), (lr.size, 1))
    rates, state = lr.reshape(-1, 1), {}
    path = [theta.copy()]
    for _ in range(steps):
        sgd_update(theta, surface.gradient(theta), state, lr=rates, momentum=momentum)
        path.append(theta.copy())
    return np.stack(path, axis=1).reshape(*lr.shape, steps + 1, 2)


def _loss_ratio(surface, paths):
    """f(θ_t) / f(θ_0) along each path."""
    values = surface(paths)
    return values / values[..., :1]


# ----------------------------------------------------------------------------------------
# Chapter 2: the learning rate of gradient descent
# ----------------------------------------------------------------------------------------
class GradientDescentExplorer(Explorer):
    """Gradient descent on an ill-conditioned quadratic as η moves: the path, the loss curve,
    and where η sits among the regions crawl / converge / oscillate / diverge, with 2/L."""

    name = "ch02-learning-rate"
    LEVELS = (0.05, 20.0, 1.0)  # the level sets drawn: start, end, spacing
    title = "Gradient descent: the learning rate η"
    height = 600
    REGIONS = ("crawl", "converge", "oscillate", "diverge")

    def __init__(self, surface=None, lrs=None, steps=40, start=None):
        self.surface = surface if surface is not None else Quadratic(10.0)
        self.start = np.array(self.surface.start if start is None else start, dtype=float)
        self.steps = steps
        curvatures = np.linalg.eigvalsh(self.surface.hessian)
        self.mu, self.L = float(curvatures.min()), float(curvatures.max())
        # the band of rates at least half as fast as the best (ρ ≤ √ρ*, ρ* = (κ−1)/(κ+1))
        best = (self.L - self.mu) / (self.L + self.mu)
        self.edges = ((1 - math.sqrt(best)) / self.mu, (1 + math.sqrt(best)) / self.L,
                      2 / self.L)
        if lrs is None:
            lrs = np.round(np.r_[0.005, np.arange(0.01, 0.18, 0.01),
                                 np.arange(0.18, 0.2101, 0.005), 0.22, 0.23], 3)
        self.fine_lrs = np.linspace(0.002, max(lrs) * 1.02, 241)
        self.fine_final = _loss_ratio(self.surface, descend(
            self.surface, self.start, steps, self.fine_lrs))[:, -1]
        active = int(np.argmin(np.abs(np.asarray(lrs) - 0.1)))
        super().__init__([Control("lr", "η", lrs, active=active)])

    def rate(self, lr):
        """The contraction per step, max over curvatures h of |1 − η h|."""
        return max(abs(1 - lr * self.mu), abs(1 - lr * self.L))

    def region(self, lr):
        """Which region η is in: crawl (slower than half the best rate, steps too short),
        converge, oscillate (the steep direction's zig-zag sets the pace), the edge 2/L
        itself, or diverge."""
        low, high, edge = self.edges
        if math.isclose(lr, edge):
            return "edge"
        return ("crawl" if lr < low else "converge" if lr <= high else
                "oscillate" if lr < edge else "diverge")

    def _compute(self, lr):
        path = descend(self.surface, self.start, self.steps, lr)
        return {"path": path, "loss": self.surface(path), "rate": self.rate(lr),
                "region": self.region(lr)}

    def _status_text(self, lr, result):
        edge = self.edges[2]
        side = ("=" if math.isclose(lr, edge) else "<" if lr < edge else ">")
        verdict = {"edge": "on the edge: bounces for ever", "diverge": "diverges"}.get(
            result["region"], result["region"] + "s")
        return (f"η = {lr:g} {side} 2/L = {edge:g}: {verdict}"
                f"  (|1 − η h| ≤ {result['rate']:.3f} per step)")

    def _static(self):
        colors = _colors()
        low, high, edge = self.edges
        final = significant(self.fine_final)
        return [*_surface_traces(self.surface, self.LEVELS),
                _clean(_line(fixed(self.fine_lrs, 5), final, colors[0], axes=("x3", "y3"),
                             width=1.5))]

    def _traces(self, index, result):
        colors = _colors()
        lr = self.controls[0].values[index[0]]
        path, loss = result["path"], result["loss"]
        final = float(loss[-1] / loss[0])
        return [
            _line(fixed(path[:, 0]), fixed(path[:, 1]), colors[1], mode="lines+markers",
                  marker={"size": 4, "color": colors[1]}, width=1.5),
            _line(fixed(path[:1, 0]), fixed(path[:1, 1]), colors[1], mode="markers",
                  marker={"size": 9, "symbol": "circle-open", "color": colors[1]}),
            _series(significant(loss), colors[1], axes=("x2", "y2")),
            _line([lr], significant([final]), colors[1], axes=("x3", "y3"), mode="markers",
                  marker={"size": 11, "color": colors[1]}),
            _status(self._status_text(lr, result), ("x4", "y4")),
        ]

    def _axes(self):
        low, high, edge = self.edges
        lrs = self.controls[0].values
        band = {"crawl": (0, low), "converge": (low, high), "oscillate": (high, edge),
                "diverge": (edge, max(lrs) * 1.05)}
        shades = {"crawl": "#fdf1d6", "converge": "#dff2e9", "oscillate": "#e3eef8",
                  "diverge": "#f9e0e0"}
        shapes = [{"type": "rect", "xref": "x3", "yref": "y3 domain", "x0": a, "x1": b,
                   "y0": 0, "y1": 1, "fillcolor": shades[name], "line": {"width": 0},
                   "layer": "below"} for name, (a, b) in band.items()]
        shapes.append({"type": "line", "xref": "x3", "yref": "y3 domain", "x0": edge,
                       "x1": edge, "y0": 0, "y1": 1, "line": {"color": "#444", "dash": "dash",
                                                              "width": 1.5}})
        # the narrow bands' names sit either side of 2/L, the wide ones' over their middle
        where = {"crawl": ((0 + low) / 2, "center"), "converge": ((low + high) / 2, "center"),
                 "oscillate": (edge, "right"), "diverge": (edge, "left")}
        inside = {"oscillate", "diverge"}  # inside the plot, under the converge label
        annotations = [{"xref": "x3", "yref": "y3 domain", "x": where[name][0],
                        "y": 0.98 if name in inside else 1.0, "xanchor": where[name][1],
                        "yanchor": "top" if name in inside else "bottom", "text": name,
                        "showarrow": False, "font": {"size": 11}} for name in band]
        annotations.append({"xref": "x3", "yref": "y3 domain", "x": edge, "y": 0.05,
                            "text": "2/L", "showarrow": False, "xanchor": "left",
                            "font": {"size": 11}})
        axes = {
            **_surface_axes(self.surface),
            "xaxis2": {"domain": [0.58, 1], "range": [0, self.steps], "anchor": "y2",
                       "title": {"text": "step t"}},
            "yaxis2": {"domain": [0.55, TOP], "type": "log", "range": [-10, 4], "anchor": "x2",
                       "title": {"text": "𝓛(θ<sub>t</sub>)"}, "exponentformat": "power"},
            "xaxis3": {"domain": [0.58, 1], "range": [0, max(lrs) * 1.05], "anchor": "y3",
                       "title": {"text": f"learning rate η ({self.steps} steps)"}},
            "yaxis3": {"domain": [0.0, 0.36], "type": "log", "range": [-10, 4], "anchor": "x3",
                       "title": {"text": "𝓛(θ<sub>T</sub>) / 𝓛(θ<sub>0</sub>)"}, "exponentformat": "power"},
            "shapes": shapes, "annotations": annotations,
        }
        axes.update(_status_axes("xaxis4", "yaxis4"))
        return axes

    def summary(self):
        low, high, edge = self.edges
        lrs = self.controls[0].values
        counts = {name: sum(self.region(lr) == name for lr in lrs)
                  for name in (*self.REGIONS, "edge")}
        lines = [f"{len(lrs)} learning rates from {min(lrs):g} to {max(lrs):g}, "
                 f"{self.steps} steps each; curvatures μ = {self.mu:g}, L = {self.L:g}",
                 f"crawl below η = {low:.4f}, converge up to {high:.4f}, oscillate up to "
                 f"2/L = {edge:g},",
                 "diverge beyond",
                 "settings per region: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
        return "\n".join(lines)

    def panel(self, lrs=None):
        """The static version: paths and loss curves at one η per region."""
        import matplotlib.pyplot as plt

        colors = _colors()
        grid = self.controls[0].values
        if lrs is None:
            lrs = [next(lr for lr in grid if self.region(lr) == name) if name != "diverge"
                   else min(lr for lr in grid if self.region(lr) == name)
                   for name in self.REGIONS]
            lrs[2] = max(lr for lr in grid if self.region(lr) == "oscillate")
        fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
        _surface_panel(ax_path, self.surface, self.start, self.LEVELS)
        for lr, color in zip(lrs, colors):
            result = self.at(lr=lr)
            label = f"η = {lr:g} ({result['region']})"
            ax_path.plot(*result["path"].T, "o-", ms=2.5, lw=1, color=color, label=label)
            ax_loss.semilogy(result["loss"], color=color, label=label)
        ax_loss.set(xlabel="step t", ylabel=r"$\mathcal{L}(\theta_t)$", ylim=(1e-10, 1e4))
        ax_loss.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return fig


def gradient_descent(surface=None, lrs=None, steps=40, start=None):
    """Chapter 2's explorer: gradient descent on ``Quadratic(10)`` (curvatures μ = 1 and
    L = 10) from its usual start, one run per learning rate of the grid ``lrs``."""
    return GradientDescentExplorer(surface, lrs, steps, start)


# ----------------------------------------------------------------------------------------
# Chapter 3: step size and momentum together
# ----------------------------------------------------------------------------------------
def measured_rate(surface, paths, window=10):
    """The contraction per step that a run shows: the loss's ratio to its start over its
    last ``window`` steps' largest value, to the power 1/(2t) (the loss is quadratic in the
    distance, hence the 2; the largest of the window, since momentum's loss oscillates)."""
    ratio = _loss_ratio(surface, paths)
    steps = paths.shape[-2] - 1
    return np.max(ratio[..., -window:], axis=-1) ** (1 / (2 * steps))


class MomentumExplorer(Explorer):
    """Heavy-ball momentum on a ravine, η and β together: the path, the loss curve, and the
    map of the convergence rate over (η, β) with the current setting on it."""

    name = "ch03-momentum"
    LEVELS = (0.1, 200.0, 8.0)
    title = "Momentum: step size η and momentum β together"
    height = 640

    def __init__(self, surface=None, lrs=None, momenta=None, steps=40, rate_steps=150,
                 start=(-1.8, 1.0)):
        if surface is None:
            surface = Quadratic(100.0)
            surface.bounds = ((-2.0, 2.0), (-1.2, 1.2))
        self.surface, self.start = surface, np.array(start, dtype=float)
        self.steps, self.rate_steps = steps, rate_steps
        curvatures = np.linalg.eigvalsh(surface.hessian)
        self.mu, self.L = float(curvatures.min()), float(curvatures.max())
        root = math.sqrt(self.L / self.mu)
        self.best_lr = 4 / (math.sqrt(self.L) + math.sqrt(self.mu)) ** 2
        self.best_momentum = ((root - 1) / (root + 1)) ** 2
        lrs = lrs if lrs is not None else (0.001, 0.002, 0.005, 0.01, 0.015, 0.019, 0.025,
                                           0.033, 0.037)
        momenta = momenta if momenta is not None else (0.0, 0.3, 0.5, 0.67, 0.8, 0.9, 0.95)
        self.map_lrs = np.linspace(0.0005, 0.04, 40)
        self.map_momenta = np.linspace(0.0, 0.98, 36)
        with np.errstate(over="ignore", invalid="ignore"):
            self.rate_map = np.stack([measured_rate(surface, descend(
                surface, self.start, rate_steps, self.map_lrs, momentum=beta))
                for beta in self.map_momenta])  # rows: β, columns: η
        super().__init__([Control("lr", "η", lrs, active=lrs.index(0.019)),
                          Control("momentum", "β", momenta, active=0)])

    def rate(self, lr, momentum):
        """The theory's rate: the largest |root| of z² − (1 + β − η h) z + β over h ∈ {μ, L}."""
        return max(max(abs(np.roots([1.0, -(1 + momentum - lr * h), momentum])))
                   for h in (self.mu, self.L))

    def _compute(self, lr, momentum):
        path = descend(self.surface, self.start, self.rate_steps, lr, momentum=momentum)
        return {"path": path[:self.steps + 1], "loss": self.surface(path[:self.steps + 1]),
                "rate": float(measured_rate(self.surface, path))}

    def _static(self):
        colors = _colors()
        clipped = np.clip(self.rate_map, 0.8, 1.05)
        return [
            *_surface_traces(self.surface, self.LEVELS),
            {"type": "heatmap", "x": fixed(self.map_lrs, 5), "y": fixed(self.map_momenta, 4),
             "z": [significant(row, 3) for row in clipped], "xaxis": "x3", "yaxis": "y3",
             "zmin": 0.8, "zmax": 1.05, "hovertemplate": "η %{x}, β %{y}: rate %{z}<extra></extra>",
             "colorscale": [[0.0, "#08306b"], [0.4, "#4292c6"], [0.8, "#f7fbff"],
                            [0.8001, "#f4c7c3"], [1.0, "#d6604d"]],
             "colorbar": {"title": {"text": "rate"}, "len": 0.38, "y": 0.0, "yanchor": "bottom",
                          "x": 0.9, "xanchor": "left", "thickness": 12,
                          "tickvals": [0.8, 0.9, 1.0], "ticktext": ["0.8", "0.9", "≥ 1"]}},
            _clean(_line([self.best_lr], [self.best_momentum], "black", axes=("x3", "y3"),
                         mode="markers", marker={"symbol": "star", "size": 11,
                                                 "color": colors[4], "line": {"width": 1}})),
        ]

    def _traces(self, index, result):
        colors = _colors()
        lr, beta = self.controls[0].values[index[0]], self.controls[1].values[index[1]]
        path, loss = result["path"], result["loss"]
        rate = result["rate"]
        verdict = "diverges" if rate > 1 else f"rate {rate:.3f} per step"
        gd = self.at(lr=lr, momentum=0.0)["rate"] if 0.0 in self.controls[1].values else None
        text = f"η = {lr:g}, β = {beta:g}: {verdict}"
        if gd is not None and beta != 0:
            text += f"  (β = 0: {'diverges' if gd > 1 else f'{gd:.3f}'})"
        return [
            _line(fixed(path[:, 0]), fixed(path[:, 1]), colors[0], mode="lines+markers",
                  marker={"size": 3, "color": colors[0]}, width=1.5),
            _series(significant(loss, 3), colors[0], axes=("x2", "y2")),
            _line([lr], [beta], "white", axes=("x3", "y3"), mode="markers",
                  marker={"size": 12, "color": colors[1], "line": {"color": "white",
                                                                   "width": 2}}),
            _status(text, ("x4", "y4")),
        ]

    def _axes(self):
        axes = {
            **_surface_axes(self.surface, bottom=0.3, equal=False),
            "xaxis2": {"domain": [0.58, 1], "range": [0, self.steps], "anchor": "y2",
                       "title": {"text": "step t"}},
            "yaxis2": {"domain": [0.55, TOP], "type": "log", "range": [-12, 3], "anchor": "x2",
                       "title": {"text": "𝓛(θ<sub>t</sub>)"}, "exponentformat": "power"},
            "xaxis3": {"domain": [0.58, 0.86], "range": [0, 0.04], "anchor": "y3",
                       "title": {"text": "learning rate η"}},
            "yaxis3": {"domain": [0.0, 0.38], "range": [0, 0.98], "anchor": "x3",
                       "title": {"text": "momentum β"}},
            "annotations": [{"xref": "x3", "yref": "y3 domain", "x": self.best_lr, "y": 1.0,
                             "text": "★ best (η*, β*)", "showarrow": False,
                             "yanchor": "bottom", "font": {"size": 11}}],
        }
        axes.update(_status_axes("xaxis4", "yaxis4"))
        return axes

    def summary(self):
        lrs, momenta = self.controls[0].values, self.controls[1].values
        best = min(self.results, key=lambda i: self.results[i]["rate"])
        gd = min((i for i in self.results if momenta[i[1]] == 0),
                 key=lambda i: self.results[i]["rate"])
        diverged = sum(r["rate"] > 1 for r in self.results.values())
        return "\n".join([
            f"{len(lrs)} × {len(momenta)} settings: η from {min(lrs):g} to {max(lrs):g}, "
            f"β from {min(momenta):g} to {max(momenta):g}",
            f"{self.steps} steps drawn; rates measured over {self.rate_steps} steps",
            f"best on the grid: η = {lrs[best[0]]:g}, β = {momenta[best[1]]:g}, rate "
            f"{self.results[best]['rate']:.3f}",
            f"(the theory's best, (√κ − 1)/(√κ + 1): "
            f"{self.rate(self.best_lr, self.best_momentum):.3f})",
            f"best without momentum: η = {lrs[gd[0]]:g}, rate {self.results[gd]['rate']:.3f}",
            f"{diverged} of {len(self.results)} settings diverge"])

    def panel(self, settings=None):
        """The static version: three settings' paths, their loss curves, and the map."""
        import matplotlib.pyplot as plt

        colors = _colors()
        settings = settings or [(0.019, 0.0), (0.019, 0.9), (0.033, 0.67)]
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
        _surface_panel(axes[0], self.surface, self.start, self.LEVELS)
        image = axes[2].pcolormesh(self.map_lrs, self.map_momenta,
                                   np.clip(self.rate_map, 0.8, 1.05), cmap="Blues_r",
                                   vmin=0.8, vmax=1.0, shading="nearest")
        fig.colorbar(image, ax=axes[2], label="rate per step (white: ≥ 1)")
        for (lr, beta), color in zip(settings, colors):
            result = self.at(lr=lr, momentum=beta)
            label = f"η = {lr:g}, β = {beta:g}"
            axes[0].plot(*result["path"].T, "-", lw=1, color=color, label=label)
            axes[1].semilogy(result["loss"], color=color, label=label)
            axes[2].plot(lr, beta, "o", color=color, mec="white", ms=9)
        axes[1].set(xlabel="step t", ylabel=r"$\mathcal{L}(\theta_t)$", ylim=(1e-12, 1e3))
        axes[1].legend(loc="lower left", fontsize=8)
        axes[2].set(xlabel="learning rate η", ylabel="momentum β")
        return fig


def momentum(surface=None, lrs=None, momenta=None, steps=40):
    """Chapter 3's explorer: heavy-ball momentum (``SGD(lr, momentum)``) on the ravine
    ``Quadratic(100)``, over a grid of η and β, with the measured rate map."""
    return MomentumExplorer(surface, lrs, momenta, steps)


# ----------------------------------------------------------------------------------------
# Chapter 5: Adam's β₁, β₂ and bias correction
# ----------------------------------------------------------------------------------------
def adam_path(surface, start, steps, lr, betas, eps=1e-8, bias_correction=True):
    """Adam from ``start`` on a 2-D surface, by ddlopt's ``adam_update``. Without bias
    correction the step is η m_t / (√v_t + ε): the same function, given at each step the
    learning rate η (1 − β₁ᵗ)/√(1 − β₂ᵗ) and the ε/√(1 − β₂ᵗ) that undo its step 3
    exactly. Returns the path, shape (steps + 1, 2)."""
    beta1, beta2 = betas
    theta, state = np.array(start, dtype=np.float64), {}
    path = [theta.copy()]
    for t in range(1, steps + 1):
        if bias_correction:
            rate, epsilon = lr, eps
        else:
            root = math.sqrt(1 - beta2**t)
            rate, epsilon = lr * (1 - beta1**t) / root, eps / root
        adam_update(theta, surface.gradient(theta), state, lr=rate, betas=betas, eps=epsilon)
        path.append(theta.copy())
    return np.array(path)


class AdamExplorer(Explorer):
    """Adam's first steps and its path as β₁, β₂ and the bias correction change."""

    name = "ch05-adam"
    LEVELS = (0.05, 20.0, 1.0)
    title = "Adam: β₁, β₂ and the bias correction"
    height = 620

    def __init__(self, surface=None, lr=0.05, steps=50, start=None, beta1s=None, beta2s=None):
        self.surface = surface if surface is not None else Quadratic(10.0)
        self.start = np.array(self.surface.start if start is None else start, dtype=float)
        self.lr, self.steps = lr, steps
        beta1s = beta1s or (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
        beta2s = beta2s or (0.9, 0.99, 0.999, 0.9999)
        super().__init__([Control("beta1", "β₁", beta1s, active=beta1s.index(0.9)),
                          Control("beta2", "β₂", beta2s, active=beta2s.index(0.999)),
                          Control("bias_correction", "bias correction", (True, False),
                                  labels=("bias correction on", "off"), buttons=True)])

    def _compute(self, beta1, beta2, bias_correction):
        path = adam_path(self.surface, self.start, self.steps, self.lr, (beta1, beta2),
                         bias_correction=bias_correction)
        step = np.max(np.abs(np.diff(path, axis=0)), axis=1) / self.lr
        return {"path": path, "loss": self.surface(path), "step": step}

    def _static(self):
        return [
            *_surface_traces(self.surface, self.LEVELS),
            _clean(_line([1, self.steps], [1, 1], "#444", axes=("x2", "y2"), width=1,
                         dash="dash", hover="skip")),
        ]

    def _traces(self, index, result):
        colors = _colors()
        beta1, beta2, corrected = (c.values[i] for c, i in zip(self.controls, index))
        color = colors[0] if corrected else colors[1]
        first = result["step"][0]
        text = (f"β₁ = {beta1:g}, β₂ = {beta2:g}, bias correction {'on' if corrected else 'off'}:"
                f" first step {first:.2f} η, largest {result['step'].max():.2f} η")
        return [
            _line(fixed(result["path"][:, 0]), fixed(result["path"][:, 1]), color,
                  mode="lines+markers", marker={"size": 4, "color": color}, width=1.5),
            _series(significant(result["step"], 3), color, axes=("x2", "y2"), x0=1,
                    mode="lines+markers", marker={"size": 4, "color": color}),
            _status(text, ("x4", "y4")),
        ]

    def _axes(self):
        axes = {
            **_surface_axes(self.surface, top=TOP - 0.04),
            "xaxis2": {"domain": [0.58, 1], "type": "log", "range": [0, math.log10(self.steps)],
                       "anchor": "y2", "title": {"text": "step t"}},
            "yaxis2": {"domain": [0.0, TOP - 0.04], "range": [0, 7], "anchor": "x2",
                       "title": {"text": "the step's largest coordinate |Δθ| / η"}},
        }
        axes.update(_status_axes("xaxis4", "yaxis4", domain_y=(0.88, 0.95)))
        return axes

    def summary(self):
        beta1s, beta2s = self.controls[0].values, self.controls[1].values
        lines = [f"{len(beta1s)} × {len(beta2s)} × 2 settings, η = {self.lr:g}, "
                 f"{self.steps} steps; the first step in units of η:",
                 f"{'β₁':>6}{'β₂':>8}{'with':>7}{'without':>9}"]
        for beta1 in beta1s:
            for beta2 in beta2s:
                on = self.at(beta1=beta1, beta2=beta2, bias_correction=True)["step"][0]
                off = self.at(beta1=beta1, beta2=beta2, bias_correction=False)["step"][0]
                if beta1 in (0.9, 0.99) or beta2 == 0.999:
                    lines.append(f"{beta1:>6g}{beta2:>8g}{on:>7.3f}{off:>9.3f}")
        return "\n".join(lines)

    def panel(self, settings=None):
        """The static version: β₁ = 0.9 with β₂ = 0.999 and 0.99, with and without the
        correction."""
        import matplotlib.pyplot as plt

        colors = _colors()
        settings = settings or [(0.9, 0.999, True), (0.9, 0.999, False), (0.9, 0.99, False)]
        fig, (ax_path, ax_step) = plt.subplots(1, 2, figsize=(9, 3.6))
        _surface_panel(ax_path, self.surface, self.start, self.LEVELS)
        for (beta1, beta2, corrected), color in zip(settings, colors):
            result = self.at(beta1=beta1, beta2=beta2, bias_correction=corrected)
            label = f"β₁ = {beta1:g}, β₂ = {beta2:g}, correction {'on' if corrected else 'off'}"
            ax_path.plot(*result["path"].T, "o-", ms=2, lw=1, color=color, label=label)
            ax_step.semilogx(np.arange(1, self.steps + 1), result["step"], "o-", ms=2.5,
                             color=color, label=label)
        ax_step.axhline(1.0, color="k", lw=1, ls="--")
        ax_step.set(xlabel="step t", ylabel="largest |Δθ| / η", ylim=(0, 7))
        ax_step.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        return fig


def adam(surface=None, lr=0.05, steps=50):
    """Chapter 5's explorer: Adam on ``Quadratic(10)`` over a grid of β₁ and β₂, with and
    without bias correction."""
    return AdamExplorer(surface, lr, steps)


# ----------------------------------------------------------------------------------------
# Chapter 6: a schedule builder
# ----------------------------------------------------------------------------------------
class NoisyQuadraticModel:
    r"""The noisy quadratic model (Zhang et al., 2019): :math:`\mathcal{L}(\theta) = \tfrac12
    \sum_i h_i \theta_i^2` with curvatures :math:`h_i` from ``low`` to ``high``, and
    mini-batch-like gradients :math:`h_i \theta_i + \sigma \sqrt{h_i}\,\xi_i`. Rows of
    ``theta`` are independent runs (seeds)."""

    def __init__(self, dims=50, low=0.01, high=1.0, noise=0.3):
        self.curvatures = np.geomspace(low, high, dims)
        self.noise = noise

    def loss(self, theta):
        """The mean over the runs (rows) of the loss."""
        return float(np.mean(0.5 * np.sum(self.curvatures * theta**2, axis=-1)))

    def gradient(self, theta, rng):
        noise = rng.standard_normal(theta.shape)
        return self.curvatures * theta + self.noise * np.sqrt(self.curvatures) * noise


SHAPES = ("constant", "step", "exponential", "cosine", "one-cycle", "cosine restarts")


def build_schedule(optimizer, shape, steps, warmup):
    """One of chapter 6's schedules, from ddlopt.schedules, after a linear warm-up of
    ``warmup`` steps (from η₀/10 up to η₀; one-cycle has its own warm-up of that length)."""
    decay = steps - warmup
    if shape == "one-cycle":
        return lr_schedules.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"],
                                       total_steps=steps, pct_start=warmup / steps,
                                       cycle_momentum=False)
    if shape == "constant":
        main = lr_schedules.LambdaLR(optimizer, lambda t: 1.0)
    elif shape == "step":
        main = lr_schedules.StepLR(optimizer, step_size=max(decay // 3, 1), gamma=0.3)
    elif shape == "exponential":
        main = lr_schedules.ExponentialLR(optimizer, gamma=0.01 ** (1 / decay))
    elif shape == "cosine":
        main = lr_schedules.CosineAnnealingLR(optimizer, T_max=decay)
    elif shape == "cosine restarts":
        main = lr_schedules.CosineAnnealingWarmRestarts(optimizer, T_0=math.ceil(decay / 3))
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    if warmup == 0:
        return main
    ramp = lr_schedules.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    return lr_schedules.SequentialLR(optimizer, [ramp, main], milestones=[warmup])


class ScheduleExplorer(Explorer):
    """Build a schedule (warm-up length, decay shape) and see the learning rate it gives at
    each step and the loss it reaches on the noisy quadratic model."""

    name = "ch06-schedules"
    title = "A schedule builder: warm-up, then a decay"
    height = 620

    def __init__(self, lr=1.0, steps=200, warmups=(0, 10, 25, 50), runs=16, seed=0,
                 problem=None, stride=2):
        self.lr, self.steps, self.runs, self.seed = lr, steps, runs, seed
        self.stride = stride  # the figure draws every stride-th step
        self.problem = problem or NoisyQuadraticModel()
        super().__init__([Control("warmup", "warm-up steps", warmups, active=0),
                          Control("shape", "shape", SHAPES, labels=SHAPES, active=3,
                                  buttons=True)])

    def _compute(self, warmup, shape):
        rng = np.random.default_rng(self.seed)  # the same noise for every schedule
        theta = Parameter(np.ones((self.runs, len(self.problem.curvatures))))
        optimizer = SGD([theta], lr=self.lr)
        scheduler = build_schedule(optimizer, shape, self.steps, warmup)
        lrs, losses = [], [self.problem.loss(theta.data)]
        for _ in range(self.steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            theta.grad = self.problem.gradient(theta.data, rng)
            optimizer.step()
            scheduler.step()
            losses.append(self.problem.loss(theta.data))
        losses = np.array(losses)
        return {"lr": np.array(lrs), "loss": losses, "final": float(losses[-20:].mean())}

    def _static(self):
        reference = self.at(warmup=0, shape="constant")
        every = self.stride
        return [_clean(_series(significant(reference["lr"][::every]), "#9a9a9a", dx=every,
                               width=1.5, dash="dot")),
                _clean(_series(significant(reference["loss"][::every]), "#9a9a9a",
                               axes=("x2", "y2"), dx=every, width=1.5))]

    def _traces(self, index, result):
        colors = _colors()
        warmup, shape = (c.values[i] for c, i in zip(self.controls, index))
        color = colors[index[1] % len(colors)]
        constant = self.at(warmup=0, shape="constant")["final"]
        text = (f"{shape}, warm-up {warmup} steps: final loss {result['final']:.2e} "
                f"(constant η: {constant:.2e})")
        return [
            _series(significant(result["lr"][::self.stride]), color, dx=self.stride),
            _series(significant(result["loss"][::self.stride], 3), color, axes=("x2", "y2"),
                    dx=self.stride),
            _status(text, ("x3", "y3")),
        ]

    def _axes(self):
        axes = {
            "xaxis": {"domain": [0, 1], "range": [0, self.steps], "anchor": "y",
                      "title": {"text": "step t"}},
            "yaxis": {"domain": [0.5, 0.8], "range": [0, self.lr * 1.05], "anchor": "x",
                      "title": {"text": "η<sub>t</sub>"}},
            "xaxis2": {"domain": [0, 1], "range": [0, self.steps], "anchor": "y2",
                       "title": {"text": "step t"}},
            "yaxis2": {"domain": [0.0, 0.36], "type": "log", "anchor": "x2",
                       "range": [-3, 1], "title": {"text": "𝓛(θ<sub>t</sub>)"},
                       "exponentformat": "power"},
        }
        axes.update(_status_axes("xaxis3", "yaxis3", domain_y=(0.82, 0.88)))
        return axes

    def summary(self):
        warmups = self.controls[0].values
        curvatures = self.problem.curvatures
        lines = [f"SGD, η₀ = {self.lr:g}, {self.steps} steps on the noisy quadratic "
                 f"({len(curvatures)} curvatures",
                 f"from {curvatures.min():g} to {curvatures.max():g}, {self.runs} runs); "
                 "the final loss (mean of the last 20 steps)",
                 f"{'':<16}" + "".join(f"{f'warm-up {w}':>13}" for w in warmups)]
        for shape in SHAPES:
            finals = [self.at(warmup=w, shape=shape)["final"] for w in warmups]
            lines.append(f"{shape:<16}" + "".join(f"{v:>13.2e}" for v in finals))
        return "\n".join(lines)

    def panel(self, shapes=("constant", "step", "cosine", "cosine restarts"), warmup=25):
        """The static version: four shapes after one warm-up, the rate and the loss."""
        import matplotlib.pyplot as plt

        colors = _colors()
        fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.4))
        for shape, color in zip(shapes, colors):
            result = self.at(warmup=warmup, shape=shape)
            label = f"{shape} (warm-up {warmup})"
            ax_lr.plot(result["lr"], color=color, label=label)
            ax_loss.semilogy(result["loss"], color=color, label=label)
        ax_lr.set(xlabel="step t", ylabel=r"$\eta_t$")
        ax_loss.set(xlabel="step t", ylabel=r"$\mathcal{L}(\theta_t)$")
        ax_loss.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        return fig


def schedules(lr=1.0, steps=200):
    """Chapter 6's explorer: SGD with a warm-up and one of six decay shapes (ddlopt's
    schedulers) on the noisy quadratic model."""
    return ScheduleExplorer(lr, steps)


# ----------------------------------------------------------------------------------------
# Chapter 7: the initialization's scale through depth
# ----------------------------------------------------------------------------------------
class InitializationExplorer(Explorer):
    """Through a deep stack of dense layers initialized with Glorot's normal initializer
    times a gain c: the spread of the activations and of the gradients at each layer."""

    name = "ch07-initialization"
    title = "Initialization: the gain c through 20 layers"
    height = 600
    ACTIVATIONS = ("tanh", "relu")

    def __init__(self, gains=None, depth=20, width=128, batch=256, seed=0):
        self.depth, self.width, self.batch, self.seed = depth, width, batch, seed
        gains = gains or (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, math.sqrt(2), 1.5, 1.7, 2.0,
                          2.5)
        labels = ["√2" if math.isclose(g, math.sqrt(2)) else f"{g:g}" for g in gains]
        super().__init__([Control("gain", "c", gains, labels=labels,
                                  active=gains.index(1.0))])

    def statistics(self, activation, gain):
        """The std of each layer's output and of the gradient reaching it (ddlopt.nn)."""
        rng = np.random.default_rng(self.seed)
        def start(n_in, n_out, layer_rng):
            return initializers.xavier_normal((n_in, n_out), gain=gain, rng=layer_rng)
        model = Sequential([Dense(self.width, self.width, activation, init=start,
                                  rng=np.random.default_rng([self.seed, layer]))
                            for layer in range(self.depth)])
        model.forward(rng.normal(size=(self.batch, self.width)))
        outputs = np.array([layer._a.std() for layer in model.layers])
        grad = rng.normal(size=(self.batch, self.width))
        gradients = []
        for layer in reversed(model.layers):
            gradients.append(grad.std())
            grad = layer.backward(grad)
        return outputs, np.array(gradients[::-1])

    def _compute(self, gain):
        result = {}
        with _one_blas_thread():  # small matrices: threads only wait for each other
            for activation in self.ACTIVATIONS:
                result[activation], result[f"{activation} gradient"] = \
                    self.statistics(activation, gain)
        return result

    def _traces(self, index, result):
        colors = _colors()
        gain = self.controls[0].values[index[0]]
        layers = list(range(1, self.depth + 1))
        last = {a: result[a][-1] for a in self.ACTIVATIONS}
        text = (f"c = {self.controls[0].labels[index[0]]}: std after {self.depth} layers "
                f"tanh {last['tanh']:.2g}, ReLU {last['relu']:.2g}")
        traces = []
        for activation, color in zip(self.ACTIVATIONS, colors):
            traces.append(_line(layers, significant(result[activation], 3), color,
                                mode="lines+markers", marker={"size": 5, "color": color}))
            traces.append(_line(layers, significant(result[f"{activation} gradient"], 3),
                                color, axes=("x2", "y2"), mode="lines+markers",
                                marker={"size": 5, "color": color}))
        return traces + [_status(text, ("x3", "y3"))]

    def _static(self):
        colors = _colors()
        layers = [1, self.depth]
        return [_clean(_line(layers, [1.0, 1.0], "#444", width=1, dash="dash", hover="skip")),
                _clean(_line(layers, [1.0, 1.0], "#444", axes=("x2", "y2"), width=1,
                             dash="dash", hover="skip"))]

    def _axes(self):
        colors = _colors()
        axes = {
            "xaxis": {"domain": [0, 0.45], "range": [0.5, self.depth + 0.5], "anchor": "y",
                      "title": {"text": "layer"}},
            "yaxis": {"domain": [0, TOP - 0.02], "type": "log", "range": [-8, 6], "anchor": "x",
                      "title": {"text": "std of the layer's output"}, "exponentformat": "power"},
            "xaxis2": {"domain": [0.55, 1], "range": [0.5, self.depth + 0.5], "anchor": "y2",
                       "title": {"text": "layer"}},
            "yaxis2": {"domain": [0, TOP - 0.02], "type": "log", "range": [-8, 6],
                       "anchor": "x2", "title": {"text": "std of the gradient reaching it"},
                       "exponentformat": "power"},
            "annotations": [{"xref": "x domain", "yref": "y domain", "x": 0.02, "y": 0.98 - 0.07 * i,
                             "text": name, "showarrow": False, "xanchor": "left",
                             "font": {"color": color, "size": 12}}
                            for i, (name, color) in enumerate(zip(("tanh", "ReLU"), colors))],
        }
        axes.update(_status_axes("xaxis3", "yaxis3"))
        return axes

    def summary(self):
        lines = [f"{self.depth} dense layers of width {self.width}, Glorot normal × c, a batch "
                 f"of {self.batch};", "the std of the last layer's output:",
                 f"{'c':>6}{'tanh':>10}{'ReLU':>10}"]
        for gain, label in zip(self.controls[0].values, self.controls[0].labels):
            result = self.at(gain=gain)
            lines.append(f"{label:>6}{result['tanh'][-1]:>10.2g}{result['relu'][-1]:>10.2g}")
        return "\n".join(lines)

    def panel(self, gains=(0.7, 1.0, math.sqrt(2), 2.0)):
        """The static version: the output's std per layer at four gains, tanh and ReLU."""
        import matplotlib.pyplot as plt

        colors = _colors()
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        layers = np.arange(1, self.depth + 1)
        for ax, activation in zip(axes, self.ACTIVATIONS):
            for gain, color in zip(gains, colors):
                label = "c = √2" if math.isclose(gain, math.sqrt(2)) else f"c = {gain:g}"
                ax.semilogy(layers, self.at(gain=gain)[activation], "o-", ms=3, color=color,
                            label=label)
            ax.set(title=activation, xlabel="layer", xticks=[1, 5, 10, 15, 20])
        axes[0].set(ylabel="std of the layer's output")
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        return fig


def initialization(gains=None, depth=20, width=128):
    """Chapter 7's explorer: ``ddlopt.nn.Dense`` layers initialized by
    ``init.xavier_normal(gain=c)``, for tanh and ReLU, over a grid of gains c."""
    return InitializationExplorer(gains, depth, width)
