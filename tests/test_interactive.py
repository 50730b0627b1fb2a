"""ddlopt.interactive: the numbers behind each interactive figure are the chapter's optimizer's,
the Plotly controls show exactly one setting's curves whatever order they are moved in, and
the HTML the book commits is the same on another machine."""

import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import interactive, schedules
from ddlopt.interactive import fixed, significant
from ddlopt.optim import SGD, Adam

NAMES = ["gradient_descent", "momentum", "adam", "schedules", "initialization"]


@pytest.fixture(scope="module")
def explorers():
    return {name: getattr(interactive, name)() for name in NAMES}


def sgd_path(surface, start, lr, steps, momentum=0.0):
    """The chapter's loop: ddlopt.optim.SGD on a Parameter, one step at a time."""
    theta = ddlopt.Parameter(np.array(start, dtype=float))
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    path = [theta.data.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        theta.grad = surface.gradient(theta.data)
        optimizer.step()
        path.append(theta.data.copy())
    return np.array(path)


# ---------------------------------------------------------------------------------------
# The numbers are the chapters' optimizers', schedules' and layers'
# ---------------------------------------------------------------------------------------
def test_gradient_descent_paths_are_sgds(explorers):
    ex = explorers["gradient_descent"]
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in [0.005, 0.1, 0.18, 0.195, 0.2, 0.23]:
            expected = sgd_path(ex.surface, ex.start, lr, ex.steps)
            np.testing.assert_array_equal(ex.at(lr=lr)["path"], expected)
            np.testing.assert_array_equal(ex.at(lr=lr)["loss"], ex.surface(expected))
        i = 100
        fine = sgd_path(ex.surface, ex.start, ex.fine_lrs[i], ex.steps)
        assert ex.fine_final[i] == ex.surface(fine[-1]) / ex.surface(fine[0])


def test_gradient_descent_regions_say_what_the_runs_do(explorers):
    ex = explorers["gradient_descent"]
    assert ex.edges == pytest.approx((0.0955, 0.1905, 0.2), abs=1e-4)
    final = {lr: ex.at(lr=lr)["loss"][-1] / ex.at(lr=lr)["loss"][0] for lr in ex.controls[0].values}
    by_region = {}
    for lr, value in final.items():
        by_region.setdefault(ex.region(lr), []).append(value)
    assert set(by_region) == {"crawl", "converge", "oscillate", "edge", "diverge"}
    best = min(final, key=final.get)
    assert ex.region(best) == "converge"
    assert max(by_region["diverge"]) > 1 and min(by_region["diverge"]) > 1
    # each run contracts as fast as the theory's rate max |1 − η h| says, which the regions cut
    for lr, value in final.items():
        if lr < ex.edges[2]:
            assert value ** (1 / (2 * ex.steps)) == pytest.approx(ex.rate(lr), abs=0.02), lr
    for lr in ex.controls[0].values:
        y = ex.at(lr=lr)["path"][:10, 1]
        flips = np.all(np.sign(y[1:]) != np.sign(y[:-1]))
        assert flips == (lr > 1 / ex.L), lr  # zig-zag once a step overshoots the steep side
    assert "2/L = 0.2" in ex.summary() and "crawl below η = 0.0955" in ex.summary()


def test_momentum_paths_are_sgds_and_rates_are_the_theorys(explorers):
    ex = explorers["momentum"]
    for lr, beta in [(0.019, 0.0), (0.033, 0.67), (0.01, 0.9), (0.037, 0.3)]:
        expected = sgd_path(ex.surface, ex.start, lr, ex.steps, momentum=beta)
        np.testing.assert_array_equal(ex.at(lr=lr, momentum=beta)["path"], expected)
    for (i, j), result in ex.results.items():
        lr, beta = ex.controls[0].values[i], ex.controls[1].values[j]
        theory = ex.rate(lr, beta)
        if theory < 0.99:
            assert result["rate"] == pytest.approx(theory, abs=0.03), (lr, beta)
        elif theory > 1.01:
            assert result["rate"] > 1, (lr, beta)
    # the map: one cell against a run of the class
    row, col = 20, 30
    path = sgd_path(ex.surface, ex.start, ex.map_lrs[col], ex.rate_steps,
                    momentum=ex.map_momenta[row])
    assert ex.rate_map[row, col] == interactive.measured_rate(ex.surface, path)
    assert ex.rate(ex.best_lr, ex.best_momentum) == pytest.approx(9 / 11)


def test_adam_with_correction_is_adam_and_without_is_the_uncorrected_formula(explorers):
    ex = explorers["adam"]
    for beta1, beta2 in [(0.9, 0.999), (0.0, 0.9), (0.99, 0.9999)]:
        theta = ddlopt.Parameter(ex.start.copy())
        optimizer = Adam([theta], lr=ex.lr, betas=(beta1, beta2))
        path = [theta.data.copy()]
        for _ in range(ex.steps):
            theta.grad = ex.surface.gradient(theta.data)
            optimizer.step()
            path.append(theta.data.copy())
        corrected = ex.at(beta1=beta1, beta2=beta2, bias_correction=True)
        np.testing.assert_array_equal(corrected["path"], np.array(path))
        # without step 3, written out: θ -= η m / (√v + ε)
        theta, m, v = ex.start.copy(), np.zeros(2), np.zeros(2)
        reference = [theta.copy()]
        for _ in range(ex.steps):
            g = ex.surface.gradient(theta)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            theta = theta - ex.lr * m / (np.sqrt(v) + 1e-8)
            reference.append(theta.copy())
        uncorrected = ex.at(beta1=beta1, beta2=beta2, bias_correction=False)
        np.testing.assert_allclose(uncorrected["path"], reference, rtol=1e-12, atol=1e-14)
        assert corrected["step"][0] == pytest.approx(1.0, abs=1e-6)
        assert uncorrected["step"][0] == pytest.approx((1 - beta1) / math.sqrt(1 - beta2))


@pytest.mark.parametrize("shape", interactive.SHAPES)
@pytest.mark.parametrize("warmup", [0, 25])
def test_schedule_builder_rates_are_torchs_and_losses_are_sgds(explorers, shape, warmup):
    ex = explorers["schedules"]
    result = ex.at(warmup=warmup, shape=shape)
    # the same schedule built from torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=ex.lr)
    lr, decay, T = torch.optim.lr_scheduler, ex.steps - warmup, ex.steps
    if shape == "one-cycle":
        sched = lr.OneCycleLR(opt, max_lr=ex.lr, total_steps=T, pct_start=warmup / T,
                              cycle_momentum=False)
    else:
        main = {"constant": lambda: lr.LambdaLR(opt, lambda t: 1.0),
                "step": lambda: lr.StepLR(opt, step_size=decay // 3, gamma=0.3),
                "exponential": lambda: lr.ExponentialLR(opt, gamma=0.01 ** (1 / decay)),
                "cosine": lambda: lr.CosineAnnealingLR(opt, T_max=decay),
                "cosine restarts": lambda: lr.CosineAnnealingWarmRestarts(
                    opt, T_0=math.ceil(decay / 3))}[shape]()
        sched = main if warmup == 0 else lr.SequentialLR(
            opt, [lr.LinearLR(opt, start_factor=0.1, total_iters=warmup), main], [warmup])
    rates = []
    for _ in range(T):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_array_equal(result["lr"], rates)
    # and the loss: plain SGD, θ -= η_t g_t, on the same noise
    problem, rng = ex.problem, np.random.default_rng(ex.seed)
    theta = np.ones((ex.runs, len(problem.curvatures)))
    losses = [problem.loss(theta)]
    for rate in rates:
        theta = theta - rate * problem.gradient(theta, rng)
        losses.append(problem.loss(theta))
    np.testing.assert_array_equal(result["loss"], losses)


def test_schedule_builder_decays_beat_the_constant_rate(explorers):
    ex = explorers["schedules"]
    constant = ex.at(warmup=0, shape="constant")["final"]
    for shape in ["step", "exponential", "cosine", "one-cycle"]:
        assert ex.at(warmup=0, shape=shape)["final"] < constant / 5, shape


def test_initialization_statistics_are_a_plain_forward_and_backward_pass(explorers):
    ex = explorers["initialization"]
    for gain in [0.5, 1.0, math.sqrt(2), 2.5]:
        for activation in ex.ACTIVATIONS:
            rng = np.random.default_rng(ex.seed)
            std = gain * math.sqrt(2 / (2 * ex.width))  # Glorot normal times the gain
            weights = [np.random.default_rng([ex.seed, layer]).normal(0, std, (ex.width,) * 2)
                       for layer in range(ex.depth)]
            h, pre = rng.normal(size=(ex.batch, ex.width)), []
            outputs = []
            for W in weights:
                z = h @ W
                h = np.tanh(z) if activation == "tanh" else np.maximum(z, 0)
                pre.append((z, h))
                outputs.append(h.std())
            grad, grads = rng.normal(size=(ex.batch, ex.width)), []
            for W, (z, h) in zip(weights[::-1], pre[::-1]):
                grads.append(grad.std())
                grad = (grad * ((1 - h**2) if activation == "tanh" else (z > 0))) @ W.T
            result = ex.at(gain=gain)
            np.testing.assert_allclose(result[activation], outputs, rtol=1e-10)
            np.testing.assert_allclose(result[f"{activation} gradient"], grads[::-1], rtol=1e-10)
    relu = {g: ex.at(gain=g)["relu"][-1] for g in ex.controls[0].values}
    assert 0.5 < relu[math.sqrt(2)] < 2 and relu[1.0] < 0.01 and relu[2.0] > 100


# ---------------------------------------------------------------------------------------
# The controls: whatever the order, the figure draws exactly the chosen setting
# ---------------------------------------------------------------------------------------
def restyle(data, update, indices):
    """What Plotly.restyle does with one slider or button step's arguments."""
    for key, values in update.items():
        for index, value in zip(indices, values):
            if value is None:
                data[index].pop(key, None)
            else:
                data[index][key] = value


def drawn(data, first):
    return [t for t in data[first:] if t.get("visible", True) and t.get("opacity", 1) > 0]


def controls_of(layout):
    """The figure's controls in the explorer's order: its sliders, then its buttons."""
    return [*layout.get("sliders", []), *layout.get("updatemenus", [])]


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_is_drawn_alone_whatever_order_the_controls_move_in(explorers, name):
    ex = explorers[name]
    figure = ex.figure_dict()
    order = [c for c in ex.controls if not c.buttons] + [c for c in ex.controls if c.buttons]
    widgets = dict(zip([c.key for c in order], controls_of(figure["layout"])))
    first = len(ex._static())
    rng = np.random.default_rng(0)
    settings = list(ex.results)
    for k in rng.choice(len(settings), size=min(12, len(settings)), replace=False):
        index = settings[k]
        for moves in (list(range(len(ex.controls))), list(range(len(ex.controls)))[::-1]):
            data = json.loads(json.dumps(figure["data"]))
            for m in moves:
                control = ex.controls[m]
                widget = widgets[control.key]
                step = (widget["steps"] if "steps" in widget else widget["buttons"])[index[m]]
                restyle(data, *step["args"])
            shown = drawn(data, first)
            expected = [interactive._clean(t) for t in ex._traces(index, ex.results[index])]
            assert [t.get("y") for t in shown] == [t.get("y") for t in expected], (name, index)
            assert [t.get("x") for t in shown] == [t.get("x") for t in expected], (name, index)
            assert [t.get("text") for t in shown] == [t.get("text") for t in expected]


def test_sliders_and_buttons_carry_the_grid_and_start_where_the_traces_do(explorers):
    ex = explorers["adam"]
    layout = ex.figure_dict()["layout"]
    assert [s["currentvalue"]["prefix"] for s in layout["sliders"]] == ["β₁ = ", "β₂ = "]
    assert [s["active"] for s in layout["sliders"]] == [3, 2]
    assert [b["label"] for b in layout["updatemenus"][0]["buttons"]] == [
        "bias correction on", "off"]
    ex = explorers["gradient_descent"]
    steps = ex.figure_dict()["layout"]["sliders"][0]["steps"]
    assert [s["label"] for s in steps] == [f"{lr:g}" for lr in ex.controls[0].values]


# ---------------------------------------------------------------------------------------
# The book's HTML: fixed, small, rounded, and the same on another machine
# ---------------------------------------------------------------------------------------
BUDGET = {"gradient_descent": 60_000, "momentum": 110_000, "adam": 95_000,
          "schedules": 60_000, "initialization": 25_000}


@pytest.mark.parametrize("name", NAMES)
def test_the_html_is_fixed_small_and_needs_no_network(explorers, name):
    html = explorers[name].html()
    assert html == getattr(interactive, name)().html(), "two builds differ"
    div = explorers[name].div_id
    assert f'id="{div}"' in html and f'Plotly.newPlot(                        "{div}"' in html
    assert "http" not in html and "cdn" not in html.lower() and "<script src" not in html
    assert len(html) < BUDGET[name], f"{name}: {len(html)} bytes"


def test_rounding_keeps_few_digits_and_turns_non_finite_into_gaps():
    assert significant([1.23456789e-7, 0.1 + 0.2, np.inf, -0.0]) == [1.235e-07, 0.3, None, 0.0]
    assert fixed([1.23456, -0.0001, np.nan]) == [1.235, 0.0, None]
    assert str(fixed([-0.0001])[0]) == "0.0"  # never "-0.0"


HASHES = """
import hashlib, json
from ddlopt import interactive
print(json.dumps({n: hashlib.sha256(getattr(interactive, n)().html().encode()).hexdigest()
                  for n in %r}))
""" % (NAMES,)


def test_the_html_is_the_same_with_another_machines_arithmetic(explorers):
    """nbval's second run: OpenBLAS's Haswell kernels, NumPy without AVX-512, one thread."""
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", NPY_DISABLE_CPU_FEATURES=(
                   "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"))
    env["PYTHONPATH"] = os.pathsep.join([str(interactive.__file__).rsplit("/ddlopt/", 1)[0],
                                         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", HASHES], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    other = json.loads(out.stdout)
    here = {n: hashlib.sha256(explorers[n].html().encode()).hexdigest() for n in NAMES}
    assert other == here


# ---------------------------------------------------------------------------------------
# show(), panel(), summary(), import cost
# ---------------------------------------------------------------------------------------
def test_show_outputs_the_books_html_in_the_books_runs(explorers, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setenv(interactive.BOOK_ENV, "1")
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    ex = explorers["initialization"]
    ex.show()
    (bundle,), options = shown[0]
    assert options["raw"] is True
    assert bundle["text/html"] == ex.html()     # what the HTML book shows
    assert bundle["image/png"]                   # the static panel: what the PDF prints
    assert set(options["metadata"]["image/png"]) == {"width", "height"}
    assert bundle["text/plain"].startswith("Interactive figure: Initialization")
    assert "0x" not in bundle["text/plain"]  # no object repr in the committed output


def test_show_lets_plotly_render_anywhere_else(explorers, monkeypatch):
    import plotly.graph_objects as go

    calls = []
    monkeypatch.delenv(interactive.BOOK_ENV, raising=False)
    monkeypatch.setattr(go.Figure, "show", lambda self, **k: calls.append((self, k)))
    explorers["gradient_descent"].show()
    figure, options = calls[0]
    assert options == {"config": interactive.PLOTLY_CONFIG}
    assert len(figure.layout.sliders[0].steps) == len(explorers["gradient_descent"].controls[0].values)


def test_without_plotly_show_says_so_and_draws_the_static_panel(explorers, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    monkeypatch.delenv(interactive.BOOK_ENV, raising=False)
    for module in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "plotly", None)
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    explorers["adam"].show()
    assert "Plotly is not installed (pip install plotly)" in capsys.readouterr().out
    assert shown and len(shown[0].axes) == 2
    plt.close("all")


@pytest.mark.parametrize("name", NAMES)
def test_each_static_panel_has_labelled_axes_and_few_lines(explorers, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = explorers[name].panel()
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_xlabel() and (ax.get_ylabel() or ax.get_shared_y_axes().get_siblings(ax))
        assert len(ax.get_lines()) <= 8  # ≤ 6 curves, plus start and end markers
    plt.close(fig)


@pytest.mark.parametrize("name", NAMES)
def test_summary_fits_the_page(explorers, name):
    summary = explorers[name].summary()
    assert summary and max(len(line) for line in summary.splitlines()) <= 80


def test_unknown_controls_and_off_grid_values_are_named():
    ex = interactive.GradientDescentExplorer(lrs=[0.1, 0.2], steps=3)
    with pytest.raises(KeyError, match="unknown control"):
        ex.at(momentum=0.9)
    with pytest.raises(ValueError, match="lr=0.15 is not on the grid"):
        ex.at(lr=0.15)
    with pytest.raises(ValueError, match="unknown shape 'linear'"):
        interactive.build_schedule(SGD([ddlopt.Parameter(np.zeros(1))], lr=0.1), "linear", 10, 0)
    assert schedules.CosineAnnealingWarmRestarts  # the builder's restarts come from ddlopt


@pytest.mark.parametrize("name", NAMES)
def test_static_panels_draw_without_a_warning(explorers, name):
    """A warning (a glyph the font lacks, say) would be stderr in the committed notebook."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = explorers[name].panel()
        fig.canvas.draw()
    plt.close(fig)
