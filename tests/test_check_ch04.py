"""Chapter 4 registers Adagrad's and RMSprop's rules with check.optimizer_step."""

import numpy as np

from ddlopt import check


def rmsprop(param, grad, state, lr, alpha=0.99, eps=1e-8, eps_inside=False):
    square_avg = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * grad**2
    param -= lr * grad / (np.sqrt(square_avg + eps) if eps_inside else np.sqrt(square_avg) + eps)


def adagrad(param, grad, state, lr, eps=1e-10):
    total = state["sum"] = state.get("sum", 0.0) + grad**2
    param -= lr * grad / (np.sqrt(total) + eps)


def test_right_rules_pass(capsys):
    assert check.optimizer_step(rmsprop, "rmsprop", lr=0.01, alpha=0.9)
    assert check.optimizer_step(adagrad, "adagrad", lr=0.1)
    out = capsys.readouterr().out
    assert "✓ 5 steps match rmsprop" in out and "✓ 5 steps match adagrad" in out


def test_epsilon_inside_the_root_is_caught(capsys):
    inside = lambda *a, **k: rmsprop(*a, eps_inside=True, **k)  # noqa: E731
    assert not check.optimizer_step(inside, "rmsprop", lr=0.01, alpha=0.9, eps=1e-4)
    assert capsys.readouterr().out.startswith("✗ the first step differs")
