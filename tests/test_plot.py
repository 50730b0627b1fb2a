"""The house style (ddlopt.plot): a palette whose hues stay apart for every reader, the
helpers the chapters draw with, and the audit that every figure of the book passes."""

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ddlopt import plot  # noqa: E402


@pytest.fixture(autouse=True)
def clean_style():
    """Each test starts from matplotlib's defaults and leaves no figure, rc or audit."""
    with matplotlib.rc_context():
        yield
        plot._install_audit(False)
    plt.close("all")


# ----------------------------------------------------------------------------------------
# Colour science, in NumPy: sRGB -> CIELAB (D65), CIEDE2000, and dichromat vision
# simulated with the full-severity matrices of Machado, Oliveira and Fernandes (2009).
# ----------------------------------------------------------------------------------------
RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
DICHROMACY = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def srgb(hexes):
    return np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes])


def linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def gamma(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def lab(rgb):
    xyz = linear(rgb) @ RGB_TO_XYZ.T / RGB_TO_XYZ.sum(axis=1)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def seen(rgb, vision):
    """What a reader with that vision sees (sRGB), simulated in linear RGB."""
    return rgb if vision == "normal" else gamma(linear(rgb) @ DICHROMACY[vision].T)


def ciede2000(lab1, lab2):
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005), elementwise."""
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dh = h2 - h1
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1 * c2 == 0, 0, dh)
    dL, dC = L2 - L1, c2 - c1
    dH = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    L_mean, c_mean = (L1 + L2) / 2, (c1 + c2) / 2
    h_sum = h1 + h2
    h_mean = np.where(np.abs(h1 - h2) > 180,
                      np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2), h_sum / 2)
    h_mean = np.where(c1 * c2 == 0, h_sum, h_mean)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    s_L = 1 + 0.015 * (L_mean - 50) ** 2 / np.sqrt(20 + (L_mean - 50) ** 2)
    s_C, s_H = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    r_C = 2 * np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7))
    r_T = -np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))) * r_C
    return np.sqrt((dL / s_L) ** 2 + (dC / s_C) ** 2 + (dH / s_H) ** 2
                   + r_T * (dC / s_C) * (dH / s_H))


def closest_pair(hexes, vision):
    """The smallest CIEDE2000 difference between two of the colours, as that reader sees."""
    colours = lab(seen(srgb(hexes), vision))
    i, j = np.triu_indices(len(hexes), 1)
    return ciede2000(colours[i], colours[j]).min()


def contrast_on_white(hexes):
    luminance = linear(srgb(hexes)) @ RGB_TO_XYZ[1]
    return 1.05 / (luminance + 0.05)


OKABE_ITO_AS_BEFORE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def test_the_colour_science_matches_its_references():
    # sRGB red in CIELAB, and three of Sharma, Wu and Dalal's CIEDE2000 test pairs
    assert np.allclose(lab(srgb(["#FF0000"]))[0], [53.2408, 80.0925, 67.2032], atol=1e-3)
    pairs = [([50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425),
             ([50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0000),
             ([60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644),
             ([22.7233, 20.0904, -46.6940], [23.0331, 14.9730, -42.5619], 2.0373)]
    for first, second, expected in pairs:
        assert ciede2000(np.array(first), np.array(second)) == pytest.approx(expected, abs=1e-4)
    # the simulations keep greys grey and take away the axis each dichromacy lacks
    for vision, matrix in DICHROMACY.items():
        assert np.allclose(matrix.sum(axis=1), 1, atol=1e-3), vision
    red_green = srgb(["#DD2222", "#22AA22"])
    assert closest_pair(["#DD2222", "#22AA22"], "normal") > 60
    assert closest_pair(["#DD2222", "#22AA22"], "deuteranopia") < 25
    assert np.allclose(seen(red_green, "normal"), red_green)


# The smallest pairwise CIEDE2000 difference among the first six, for each reader; the old
# palette (Okabe-Ito as the book used it) falls below every one of them.
BOUNDS = {"normal": 28, "deuteranopia": 19, "protanopia": 17, "tritanopia": 12}


@pytest.mark.parametrize("vision", BOUNDS)
def test_the_first_six_colours_stay_apart_for_every_reader(vision):
    assert len(plot.COLORS) >= 6
    assert closest_pair(plot.COLORS[:6], vision) >= BOUNDS[vision]
    # the first three, drawn most often, further apart still
    assert closest_pair(plot.COLORS[:3], vision) >= 21


def test_the_bounds_reject_the_palette_the_book_had():
    failed = [v for v in BOUNDS if closest_pair(OKABE_ITO_AS_BEFORE, v) < BOUNDS[v]]
    assert failed == list(BOUNDS)
    # its closest pair for normal vision: vermillion and orange (chapter 6's step and cosine)
    assert closest_pair(["#D55E00", "#E69F00"], "normal") == pytest.approx(
        closest_pair(OKABE_ITO_AS_BEFORE, "normal"))


def test_every_colour_shows_on_white_and_none_is_grey():
    assert contrast_on_white(plot.COLORS).min() >= 1.8  # Okabe-Ito's yellow: 1.3
    chroma = np.hypot(*lab(srgb(plot.COLORS))[:, 1:].T)
    assert chroma.min() > 25  # grey and black stay free for reference lines
    assert len(set(c.lower() for c in plot.COLORS)) == len(plot.COLORS)


# ----------------------------------------------------------------------------------------
# style()
# ----------------------------------------------------------------------------------------
def test_style_sets_the_palette_and_an_opaque_white_figure():
    plot.style(audit=False)
    rc = matplotlib.rcParams
    assert rc["axes.prop_cycle"].by_key()["color"] == plot.COLORS
    assert rc["figure.constrained_layout.use"]
    fig, ax = plt.subplots()
    line, = ax.plot([0, 1], [0, 1])
    assert line.get_color() == plot.COLORS[0]
    ax.set(xlabel="x", ylabel="y")
    png = io.BytesIO()
    fig.savefig(png, format="png")
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png.getvalue())).convert("RGBA"))
    assert pixels[..., 3].min() == 255, "a transparent pixel: the dark theme would show through"
    assert (pixels[0, 0, :3] == 255).all()


# ----------------------------------------------------------------------------------------
# The helpers
# ----------------------------------------------------------------------------------------
def test_path_marks_start_and_end_in_the_line_colour():
    fig, ax = plt.subplots()
    points = np.array([[1.0, 2.0], [0.5, 1.0], [0.1, 0.2]])
    line = plot.path(ax, points, label="SGD", color=plot.COLORS[2])
    assert np.array_equal(line.get_xydata(), points)
    start, end = ax.lines[1], ax.lines[2]
    assert tuple(start.get_xydata()[0]) == (1.0, 2.0) and tuple(end.get_xydata()[0]) == (0.1, 0.2)
    assert start.get_markerfacecolor() == "white"  # hollow: the start
    assert matplotlib.colors.same_color(start.get_markeredgecolor(), plot.COLORS[2])
    assert matplotlib.colors.same_color(end.get_markerfacecolor(), plot.COLORS[2])
    assert ax.get_legend_handles_labels()[1] == ["SGD"]  # the markers stay out of the legend
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\)"):
        plot.path(ax, np.zeros((4, 3)))


def test_band_is_the_mean_with_one_sample_standard_deviation():
    fig, ax = plt.subplots()
    runs = np.array([[1.0, 2.0, 4.0], [3.0, 2.0, 0.0]])
    line, fill = plot.band(ax, [0, 1, 2], runs, label="Adam")
    assert np.allclose(line.get_ydata(), [2.0, 2.0, 2.0])
    heights = fill.get_paths()[0].vertices[:, 1]
    spread = np.sqrt(2.0) * np.array([1.0, 0.0, 2.0])  # std with ddof=1
    assert np.isclose(heights.max(), 2 + spread.max())
    assert np.isclose(heights.min(), 2 - spread.max())
    assert matplotlib.colors.same_color(fill.get_facecolor()[0][:3], line.get_color())
    assert ax.get_legend_handles_labels()[1] == ["Adam"]
    with pytest.raises(ValueError, match="at least 2 seeds"):
        plot.band(ax, [0, 1, 2], runs[:1])
    with pytest.raises(ValueError, match="runs has 3 points a seed, x has 2"):
        plot.band(ax, [0, 1], runs)


def test_bars_show_means_with_their_spread():
    fig, ax = plt.subplots()
    bars = plot.bars(ax, ["SGD", "Adam"], [0.9, 0.95], [0.01, 0.02])
    assert [b.get_height() for b in bars] == [0.9, 0.95]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SGD", "Adam"]
    caps = bars.errorbar.lines[2][0].get_segments()
    assert np.allclose([s[1, 1] - s[0, 1] for s in caps], [0.02, 0.04])
    with pytest.raises(ValueError, match="one of each a bar"):
        plot.bars(ax, ["SGD"], [0.9, 0.95], [0.01, 0.02])


def test_legend_outside_sits_right_of_the_axes():
    plot.style(audit=False)
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 50)
    for k in range(3):
        ax.plot(x, x ** (k + 1), label=f"x^{k + 1}")
    ax.set(xlabel="x", ylabel="y")
    legend = plot.legend_outside(ax)
    fig.canvas.draw()
    assert legend.get_window_extent().x0 > ax.get_window_extent().x1
    assert fig.get_window_extent().x1 >= legend.get_window_extent().x1  # room was made
    assert plot.audit(fig) == []


# ----------------------------------------------------------------------------------------
# The audit
# ----------------------------------------------------------------------------------------
def labelled(ax, x="x", y="y"):
    ax.set(xlabel=x, ylabel=y)
    return ax


def test_figures_that_follow_the_rules_pass():
    plot.style(audit=False)
    # a trajectory, a band and a legend in an empty corner
    fig, (left, right) = plt.subplots(1, 2)
    plot.path(labelled(left), [[1, 1], [0.5, 0.4], [0, 0]], label="GD")
    left.legend(loc="upper left")
    x = np.arange(20)
    plot.band(labelled(right, "step", "loss"), x, np.exp(-x / 5) + np.zeros((3, 1)), label="a")
    right.legend(loc="upper right")
    assert plot.audit(fig) == []
    # shared axes: one label a column or a row; figure-wide labels; exempt panels
    fig, axes = plt.subplots(2, 2, sharex=True, sharey="row")
    for ax in axes.flat:
        ax.plot([0, 1], [1, 0])
    axes[1, 0].set(xlabel="x", ylabel="lower")
    axes[1, 1].set(xlabel="x")
    axes[0, 0].set(ylabel="upper")
    assert plot.audit(fig) == []
    fig, axes = plt.subplots(1, 3)
    for ax in axes[:2]:
        ax.plot([0, 1], [0, 1])
    fig.supxlabel("x")
    fig.supylabel("y")
    image = axes[2].imshow(np.eye(3))
    fig.colorbar(image, ax=axes[2])
    assert plot.audit(fig) == []
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.axis("off")
    twin = labelled(plt.subplots()[1])
    twin.plot([0, 1], [0, 1])
    other = twin.twinx()
    other.plot([0, 1], [1, 0])
    other.set_ylabel("second quantity")  # its hidden x axis needs no label
    assert plot.audit(fig) == [] and plot.audit(twin.figure) == []


def test_missing_labels_are_named():
    fig, axes = plt.subplots(1, 2, num=7)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    axes[0].set(ylabel="loss", title="SGD")
    axes[1].set(xlabel="step")  # the left's y label is not shared: no sharey
    assert plot.audit(fig) == ["axes 1 of 2 ('SGD'): no x label", "axes 2 of 2: no y label"]
    with pytest.raises(AssertionError, match=r"figure 7 breaks the house style:\n"
                       r"  - axes 1 of 2 \('SGD'\): no x label"):
        plot.check_figure(fig)


def test_more_than_six_labelled_lines_fail():
    fig, ax = plt.subplots()
    labelled(ax)
    for k in range(7):
        ax.plot([0, 1], [k, k + 1], label=f"run {k}")
    for k in range(20):  # unlabelled lines (seeds drawn faint) do not count
        ax.plot([0, 1], [k, k], color="0.8")
    assert plot.audit(fig) == ["axes 1 of 1: 7 labelled lines (at most 6 a panel)"]
    ax.lines[0].set_label("_hidden")
    assert plot.audit(fig) == []


def legend_problems(fig):
    return [p for p in plot.audit(fig) if "legend covers" in p]


def test_a_legend_over_a_line_fails_even_between_its_points():
    plot.style(audit=False)
    fig, ax = plt.subplots()
    labelled(ax)
    ax.plot([0, 1], [0, 1], label="diagonal")  # two points, far from the legend's corner
    ax.legend(loc="center")
    assert legend_problems(fig) == [
        "axes 1 of 1: the legend covers its data (line 'diagonal'); put it outside "
        "(ddlopt.plot.legend_outside) or in an empty corner"]
    ax.get_legend().set_loc("lower right")  # the empty corner under the diagonal
    assert legend_problems(fig) == []


@pytest.mark.parametrize("draw, expected", [
    (lambda ax: ax.plot([0.9], [0.9], "o", label="optimum"), "markers 'optimum'"),
    (lambda ax: ax.scatter([0.1, 0.9], [0.1, 0.92]), "points"),
    (lambda ax: ax.fill_between([0, 1], [0.8, 0.8], [1, 1], alpha=0.2), "band"),
    (lambda ax: ax.bar([0.9], [1.0], width=0.1), "bar"),
    (lambda ax: ax.errorbar([0.9], [0.5], yerr=[0.45], fmt="none"), "lines"),
    (lambda ax: ax.axhline(0.93, color="k"), "line"),
])
def test_a_legend_over_markers_points_bands_bars_or_reference_lines_fails(draw, expected):
    fig, ax = plt.subplots()
    labelled(ax)
    ax.plot([0, 0.3], [0, 0.3], label="data")
    draw(ax)
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper right")
    problems = legend_problems(fig)
    assert len(problems) == 1 and f"covers its data ({expected})" in problems[0]


def test_backgrounds_may_lie_under_a_legend():
    fig, ax = plt.subplots()
    labelled(ax)
    ax.plot([0, 0.3], [0, 0.3], label="path")
    ax.axvspan(0.6, 1.0, alpha=0.2, label="where the rule landed")  # a shaded span
    grid = np.linspace(0, 1, 30)
    ax.contour(grid, grid, np.add.outer(grid ** 2, grid ** 2), levels=10)  # a loss surface
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper right")
    assert legend_problems(fig) == []


def test_gaps_and_log_axes_are_measured_as_drawn():
    fig, ax = plt.subplots()
    labelled(ax)
    x = np.logspace(-3, 0, 200)
    y = np.where((x > 0.003) & (x < 0.3), np.nan, 0.5)  # a gap where the legend sits
    ax.semilogx(x, y, label="gap")
    ax.semilogx(x, np.full_like(x, 0.1), label="low")
    ax.set(ylim=(0, 1))
    ax.legend(loc="center", bbox_to_anchor=(0.5, 0.5))
    assert legend_problems(fig) == []
    ax.lines[0].set_ydata(np.full_like(x, 0.5))  # the same line, drawn through
    assert len(legend_problems(fig)) == 1


def test_a_line_may_graze_the_legend_padding_and_no_more():
    fig, ax = plt.subplots(layout="none")
    labelled(ax)
    ax.plot([0, 0.2], [0, 0.2], label="data")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    legend = ax.legend(loc="upper right")
    fig.canvas.draw()
    box = legend.get_window_extent()
    to_data = ax.transData.inverted()
    pt = fig.dpi / 72

    def horizontal_line_at(y_pixels):
        (_, y0), (_, _) = to_data.transform([(box.x0, y_pixels), (box.x1, y_pixels)])
        return ax.plot([0, 1], [y0, y0], color="k")[0]

    padding = legend.borderpad * legend.prop.get_size_in_points() * pt  # 0.4 x 10 points
    graze = horizontal_line_at(box.y0 + padding - 0.5 * pt)  # through the padding alone
    assert legend_problems(fig) == []
    graze.remove()
    horizontal_line_at(box.y0 + padding + 0.5 * pt)  # half a point into the lowest entry
    assert len(legend_problems(fig)) == 1


def test_a_legend_outside_one_panel_over_the_next_fails():
    fig, (left, right) = plt.subplots(1, 2)
    for ax in (left, right):
        labelled(ax).plot(np.linspace(0, 1, 30), np.linspace(1, 0, 30), label="descent")
        ax.set(xlim=(0, 1), ylim=(0, 1))
    left.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # over the right panel's line
    problems = legend_problems(fig)
    assert problems == ["axes 1 of 2: the legend covers data of axes 2 of 2 (line 'descent'); "
                        "put it outside (ddlopt.plot.legend_outside) or in an empty corner"]
    left.get_legend().remove()
    fig.legend(loc="center", bbox_to_anchor=(0.3, 0.55))  # a figure legend over the left one
    assert legend_problems(fig) == [
        "the figure's legend covers data of axes 1 of 2 (line 'descent'); put it outside "
        "(ddlopt.plot.legend_outside) or in an empty corner"]


def test_lr_finder_draws_in_the_house_palette():
    from test_finder import fake_curve

    plot.style(audit=False)
    result = fake_curve(lambda lr: 1.0 + (np.log10(lr) + 2) ** 2, diverge_th=1e9)
    ax = result.plot()
    assert matplotlib.colors.same_color(ax.lines[0].get_color(), plot.COLORS[0])
    assert matplotlib.colors.same_color(ax.lines[2].get_color(), plot.COLORS[1])


# ----------------------------------------------------------------------------------------
# The audit switched on: plt.show() checks before it shows
# ----------------------------------------------------------------------------------------
def test_show_audits_when_the_environment_asks(monkeypatch):
    monkeypatch.setenv("DDLOPT_AUDIT_FIGURES", "1")
    plot.style()
    plot.style()  # twice: wrapped once
    assert not hasattr(plt.show._unaudited, "_unaudited")
    fig, ax = plt.subplots(num=3)
    ax.plot([0, 1], [0, 1])
    with pytest.raises(AssertionError, match=r"figure 3 breaks the house style:\n"
                       r"  - axes 1 of 1: no x label\n  - axes 1 of 1: no y label"):
        plt.show()
    labelled(ax)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Agg cannot show; the audit passed
        plt.show()
    monkeypatch.delenv("DDLOPT_AUDIT_FIGURES")
    plot.style()
    assert not hasattr(plt.show, "_unaudited")


def test_a_notebook_cell_with_a_bad_figure_fails_under_the_audit(tmp_path, monkeypatch):
    """The real path: a Jupyter kernel, the inline backend, plt.show() at the cell's end."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    cells = ["import matplotlib.pyplot as plt\nfrom ddlopt.plot import style\nstyle()",
             "fig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\n"
             "ax.set(xlabel='step', ylabel='loss')\nplt.show()",
             "fig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\nax.set(xlabel='step')\n"
             "plt.show()"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.setenv("DDLOPT_AUDIT_FIGURES", "1")
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert "AssertionError" in str(failure.value)
    assert "in cell [3] breaks the house style" in str(failure.value)
    assert "axes 1 of 1: no y label" in str(failure.value)
    assert any("image/png" in out.get("data", {}) for out in nb.cells[1].outputs)
