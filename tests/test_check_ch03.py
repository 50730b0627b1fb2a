"""Chapter 3's checkers: Nesterov's rule for check.optimizer_step, and check.momentum_rate
(the heavy ball's and Nesterov's rate on a quadratic), each given a right answer, the
typical wrong ones and a skeleton."""

import cmath
import math

import numpy as np
import pytest

from ddlopt import check


def verdict(capsys, ok):
    return ok, " ".join(capsys.readouterr().out.split())


# ----------------------------------------------------------------------------- Nesterov's step
def nesterov(param, grad, state, lr, momentum):
    buffer = state.get("momentum_buffer")
    buffer = grad.copy() if buffer is None else momentum * buffer + grad
    state["momentum_buffer"] = buffer
    param -= lr * (grad + momentum * buffer)


def heavy_ball(param, grad, state, lr, momentum):
    buffer = state.get("momentum_buffer")
    buffer = grad.copy() if buffer is None else momentum * buffer + grad
    state["momentum_buffer"] = buffer
    param -= lr * buffer


def old_buffer(param, grad, state, lr, momentum):  # the same steps as the heavy ball's
    previous = state.get("momentum_buffer", 0.0)
    state["momentum_buffer"] = momentum * previous + grad
    param -= lr * (grad + momentum * previous)


def scaled_buffer(param, grad, state, lr, momentum):
    buffer = state.get("momentum_buffer")
    buffer = grad.copy() if buffer is None else momentum * buffer + grad
    state["momentum_buffer"] = buffer
    param -= lr * (1 + momentum) * buffer


def forgetful(param, grad, state, lr, momentum):  # the buffer never kept
    param -= lr * (grad + momentum * grad)


@pytest.mark.parametrize("update, expected", [
    (nesterov, "✓ 5 steps match nesterov"),
    (heavy_ball, "✗ this is the heavy ball's step"),
    (old_buffer, "✗ this is the heavy ball's step"),
    (scaled_buffer, "✗ the step is (1 + momentum) * b"),
    (forgetful, "✗ the first 1 step(s) are right but step 2 differs"),
])
def test_nesterov_mistakes_are_named(capsys, update, expected):
    ok, out = verdict(capsys, check.optimizer_step(update, "nesterov", lr=0.1, momentum=0.9))
    assert ok == expected.startswith("✓") and out.startswith(expected), out


def test_the_nesterov_rule_is_torchs(capsys):
    """The reference is SGD(nesterov=True) itself: the right answer passes over many steps."""
    ok, out = verdict(capsys, check.optimizer_step(nesterov, "nesterov", steps=40, lr=0.05,
                                                   momentum=0.99))
    assert ok, out


# ----------------------------------------------------------------------------- the rate
def heavy_ball_rate(lr, beta, h):
    b = 1 + beta - lr * h
    root = cmath.sqrt(b * b - 4 * beta)
    return max(abs((b + root) / 2), abs((b - root) / 2))


def nesterov_rate(lr, beta, h):
    b, c = (1 + beta) * (1 - lr * h), beta * (1 - lr * h)
    root = np.emath.sqrt(b * b - 4 * c)
    return np.max(np.abs([(b + root) / 2, (b - root) / 2]))  # a NumPy scalar is fine


def real_sqrt(lr, beta, h):
    b = 1 + beta - lr * h
    root = math.sqrt(b * b - 4 * beta) if b * b >= 4 * beta else float("nan")
    return max(abs((b + root) / 2), abs((b - root) / 2))


def no_abs(lr, beta, h):
    b = 1 + beta - lr * h
    root = cmath.sqrt(b * b - 4 * beta)
    return max(((b + root) / 2).real, ((b - root) / 2).real)


def smaller(lr, beta, h):
    b = 1 + beta - lr * h
    root = cmath.sqrt(b * b - 4 * beta)
    return min(abs((b + root) / 2), abs((b - root) / 2))


def always_sqrt_beta(lr, beta, h):
    return math.sqrt(beta)


def complex_root(lr, beta, h):
    b = 1 + beta - lr * h
    return (b + cmath.sqrt(b * b - 4 * beta)) / 2


def sign_slip(lr, beta, h):
    return heavy_ball_rate(lr, beta, -h)


@pytest.mark.parametrize("rate, nesterov_, expected", [
    (heavy_ball_rate, False, "✓ the rate of the heavy ball matches max |z|"),
    (nesterov_rate, True, "✓ the rate of Nesterov's method matches max |z|"),
    (real_sqrt, False, "✗ nan at lr, beta, h"),
    (no_abs, False, "✗ the rate is the largest modulus |z|"),
    (smaller, False, "✗ that is the smaller of the two |z|"),
    (always_sqrt_beta, False, "✗ sqrt of the roots' product is the rate only where"),
    (heavy_ball_rate, True, "✗ that is the rate of the heavy ball: Nesterov's polynomial"),
    (nesterov_rate, False, "✗ that is the rate of Nesterov's method"),
    (complex_root, False, "✗ at lr, beta, h = (0.01, 0.5, 1.0) it returned"),
    (sign_slip, False, "✗ at lr, beta, h = (0.01, 0.5, 1.0) yours gives"),
])
def test_rate_mistakes_are_named(capsys, rate, nesterov_, expected):
    ok, out = verdict(capsys, check.momentum_rate(rate, nesterov=nesterov_))
    assert ok == expected.startswith("✓") and out.startswith(expected), out


def test_rate_reports_a_students_error_and_checks_its_own_arguments(capsys):
    ok, out = verdict(capsys, check.momentum_rate(lambda lr, beta, h: 1 / 0))
    assert not ok and out.startswith("✗ it raised ZeroDivisionError")
    with pytest.raises(TypeError, match="student_rate must be a function"):
        check.momentum_rate(0.9)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        check.momentum_rate(heavy_ball_rate, nesterov="yes")


def test_the_reference_is_the_matrix_and_the_points_cover_every_regime():
    from ddlopt.check import ch03

    kinds = set()
    for lr, beta, h in ch03._POINTS:
        b, c = ch03._coefficients(lr, beta, h, False)
        disc = b * b - 4 * c
        kinds.add("complex" if disc < -1e-12 else "double" if abs(disc) <= 1e-12 else
                  "diverging" if ch03._rate(lr, beta, h) > 1 else
                  "alternating" if b < 0 else "overdamped")
        # the 2 x 2 matrix's eigenvalues are the polynomial's roots
        assert math.isclose(ch03._rate(lr, beta, h), heavy_ball_rate(lr, beta, h), rel_tol=1e-7)
    assert kinds == {"complex", "double", "diverging", "alternating", "overdamped"}
