"""ddlopt.check.optimizer_step (chapter 2; chapter 3 checks momentum with it): passes a right
update rule, names each usual mistake."""

import numpy as np
import pytest

from ddlopt import check


def sgd_wd(p, g, state, lr, weight_decay=0.0):
    p -= lr * (g + weight_decay * p)


@pytest.mark.parametrize("student", [
    sgd_wd,
    lambda p, g, state, lr, weight_decay=0.0: p - lr * (g + weight_decay * p),  # returns instead
])
def test_a_correct_update_passes(capsys, student):
    ok, out = run_step(capsys, student, lr=0.1, weight_decay=0.01)
    assert ok and out.startswith("✓ 5 steps match sgd")


def momentum_without_state(p, g, state, lr, momentum=0.0):
    p -= lr * g


def momentum_with_state(p, g, state, lr, momentum=0.0):
    buf = state.get("momentum_buffer")
    state["momentum_buffer"] = buf = g.copy() if buf is None else momentum * buf + g
    p -= lr * buf


@pytest.mark.parametrize("student, hyper, message", [
    (lambda p, g, s, lr, weight_decay=0.0: p.__iadd__(lr * g), {}, "the first step goes uphill"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(g), {}, "1/lr times too large"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(lr * lr * g), {}, "lr times too small"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(lr * g), {"weight_decay": 0.1}, "weight decay is missing"),
    (lambda p, g, s, lr, weight_decay=0.0: None, {}, "the parameter did not change"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(0.5 * lr * g), {}, "the first step differs"),
    (lambda p, g, s, lr: 1 / 0, {}, "it raised ZeroDivisionError"),
    (momentum_without_state, {"momentum": 0.9}, "step 2 differs: is what must carry over"),
])
def test_each_mistake_in_an_update_is_named(capsys, student, hyper, message):
    ok, out = run_step(capsys, student, lr=0.1, **hyper)
    assert not ok and message in out


def test_momentum_with_state_passes(capsys):
    assert run_step(capsys, momentum_with_state, lr=0.1, momentum=0.9)[0]


def test_optimizer_step_bad_arguments():
    with pytest.raises(TypeError, match="student_update must be a function"):
        check.optimizer_step(None, lr=0.1)
    with pytest.raises(ValueError, match="unknown update rule 'shampoo'; known: sgd, .*rmsprop"):
        check.optimizer_step(sgd_wd, "shampoo", lr=0.1)
    with pytest.raises(ValueError, match="pass the learning rate"):
        check.optimizer_step(sgd_wd, "sgd")


def run_step(capsys, *args, **kwargs):
    ok = check.optimizer_step(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


# ---- check.largest_curvature ----------------------------------------------------------------
def power_iteration(hvp, dim, iterations=100, seed=0, *, mistake=None):
    v = np.random.default_rng(seed).standard_normal(dim)
    if mistake == "one product":
        return float(v @ hvp(v) / (v @ v))
    for _ in range(iterations if mistake != "too few" else 2):
        v = hvp(v / np.linalg.norm(v)) if mistake != "no normalization" else hvp(v)
    if mistake == "not a unit vector":
        return float(v @ hvp(v))
    if mistake == "returns the vector":
        return v / np.linalg.norm(v)
    v = v / np.linalg.norm(v)
    return float(v @ hvp(v))


def test_a_correct_power_iteration_passes(capsys):
    assert check.largest_curvature(power_iteration)
    out = capsys.readouterr().out
    assert out.count("✓") == 3 and "✗" not in out


@pytest.mark.parametrize("mistake, says", [
    ("one product", "hvp was called 1 time(s)"),
    ("too few", "not yet the largest eigenvalue"),
    ("not a unit vector", "larger than every eigenvalue of H"),
    ("returns the vector", "it returned an array"),
    ("no normalization", "normalize v"),
])
def test_each_power_iteration_mistake_is_named(capsys, mistake, says):
    student = lambda hvp, dim, iterations, seed: power_iteration(  # noqa: E731
        hvp, dim, iterations, seed, mistake=mistake)
    assert not check.largest_curvature(student, iterations=2000 if mistake ==
                                       "no normalization" else 200)
    assert says in " ".join(capsys.readouterr().out.split())


def test_largest_curvature_bad_arguments():
    with pytest.raises(TypeError, match="student_fn must be a function"):
        check.largest_curvature(3.0)


# ---- check.newton ---------------------------------------------------------------------------
def newton(gradient, hessian, theta, steps, *, mistake=None):
    for k in range(steps):
        g, H = gradient(theta), hessian(theta)
        if mistake == "uphill":
            theta = theta + np.linalg.solve(H, g)
        elif mistake == "times H":
            theta = theta - H @ g
        elif mistake == "diagonal":
            theta = theta - g / np.diag(H)
        elif mistake == "gradient step":
            theta = theta - g
        else:
            theta = theta - np.linalg.solve(H, g)
        if mistake == "one step":
            break
    return theta


def test_a_correct_newton_passes(capsys):
    assert check.newton(newton)
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "✗" not in out


@pytest.mark.parametrize("mistake, says", [
    ("uphill", "the step goes uphill"),
    ("times H", "it multiplies the gradient by H"),
    ("diagonal", "it divides by the diagonal of H only"),
    ("gradient step", "it takes a gradient step"),
    ("one step", "only the first of the 4 steps was taken"),
])
def test_each_newton_mistake_is_named(capsys, mistake, says):
    student = lambda g, h, theta, steps: newton(g, h, theta, steps,  # noqa: E731
                                                mistake=mistake)
    assert not check.newton(student)
    assert says in " ".join(capsys.readouterr().out.split())


def test_newton_reports_a_crash_and_a_wrong_shape(capsys):
    assert not check.newton(lambda g, h, theta, steps: 1 / 0)
    assert "it raised ZeroDivisionError" in " ".join(capsys.readouterr().out.split())
    assert not check.newton(lambda g, h, theta, steps: theta[:2])
    assert "it returned shape (2,)" in " ".join(capsys.readouterr().out.split())
