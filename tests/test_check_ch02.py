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
    with pytest.raises(ValueError, match="unknown update rule 'shampoo'; known: sgd, adagrad, rmsprop"):
        check.optimizer_step(sgd_wd, "shampoo", lr=0.1)
    with pytest.raises(ValueError, match="pass the learning rate"):
        check.optimizer_step(sgd_wd, "sgd")


def run_step(capsys, *args, **kwargs):
    ok = check.optimizer_step(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())
