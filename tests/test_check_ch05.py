"""check.optimizer_step(..., "adam"), chapter 5's rule: the usual mistakes in Adam are named."""

import numpy as np
import pytest

from ddlopt import check


def student_adam(correct_bias=True, eps_inside=False, average_m=True, square=True):
    def update(p, g, s, lr, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        s["t"] = t = s.get("t", 0) + 1
        s["m"] = m = b1 * s.get("m", 0.0) + ((1 - b1) if average_m else 1.0) * g
        s["v"] = v = b2 * s.get("v", 0.0) + (1 - b2) * (g * g if square else g)
        if correct_bias:
            m, v = m / (1 - b1**t), v / (1 - b2**t)
        with np.errstate(invalid="ignore"):
            p -= lr * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
    return update


@pytest.mark.parametrize("kwargs, message", [
    ({}, "✓ 5 steps match adam"),
    ({"correct_bias": False}, "✗ the bias correction is missing"),
    ({"eps_inside": True}, "✗ epsilon is inside the square root"),
    ({"average_m": False}, "✗ the first moment is not an average"),
    ({"square": False}, "✗ the parameters became NaN or inf"),
])
def test_adam_mistakes_are_pinpointed(capsys, kwargs, message):
    ok, out = run_step(capsys, student_adam(**kwargs), "adam", lr=0.01, eps=1e-3)
    assert ok == (not kwargs) and out.startswith(message)


def run_step(capsys, *args, **kwargs):
    ok = check.optimizer_step(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


def student_amsgrad(maximum="v", correct_bias=True):
    def update(p, g, s, lr, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        s["t"] = t = s.get("t", 0) + 1
        s["m"] = m = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        if maximum == "none":
            v_max = v
        else:
            seen = {"v": v, "v_hat": v / (1 - b2**t), "g2": g * g}[maximum]
            s["v_max"] = v_max = np.maximum(s.get("v_max", 0.0), seen)
        m_hat = m / (1 - b1**t) if correct_bias else m
        v_hat = v_max / (1 - b2**t) if correct_bias and maximum != "v_hat" else v_max
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


@pytest.mark.parametrize("kwargs, message", [
    ({}, "✓ 20 steps match amsgrad"),
    ({"maximum": "none"}, "✗ the running maximum is missing"),
    ({"maximum": "v_hat"}, "✗ the maximum is taken of the bias-corrected v_hat"),
    ({"maximum": "g2"}, "✗ the maximum is taken of the squared gradient"),
    ({"correct_bias": False}, "✗ the bias correction is missing"),
])
def test_amsgrad_mistakes_are_pinpointed(capsys, kwargs, message):
    ok, out = run_step(capsys, student_amsgrad(**kwargs), "amsgrad", lr=0.01, betas=(0.9, 0.9))
    assert ok == (not kwargs) and out.startswith(message)


@pytest.mark.parametrize("rule", ["adam", "amsgrad"])
def test_a_skeleton_is_not_written_yet(capsys, rule):
    def my_update(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
        raise NotImplementedError("your code here")

    ok, out = run_step(capsys, my_update, rule, lr=0.01)
    assert not ok and out.startswith("✗ not written yet: fill in the body of my_update")
