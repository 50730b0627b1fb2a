"""Chapter 4's checkers: Adagrad's and RMSprop's rules in optimizer_step, Keras's RMSprop
(epsilon inside the root told from outside) and full-matrix Adagrad; each fed a right
answer, the typical wrong ones and a skeleton."""

import numpy as np
import pytest

from ddlopt import check


def rmsprop(param, grad, state, lr, alpha=0.99, eps=1e-8, eps_inside=False):
    square_avg = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * grad**2
    param -= lr * grad / (np.sqrt(square_avg + eps) if eps_inside else np.sqrt(square_avg) + eps)


def adagrad(param, grad, state, lr, eps=1e-10):
    total = state["sum"] = state.get("sum", 0.0) + grad**2
    param -= lr * grad / (np.sqrt(total) + eps)


def skeleton(param, grad, state, lr, **hyperparameters):
    raise NotImplementedError("your code here")


NOT_WRITTEN = "✗ not written yet: fill in the body of skeleton and run this cell again\n"


def test_right_rules_pass(capsys):
    assert check.optimizer_step(rmsprop, "rmsprop", lr=0.01, alpha=0.9)
    assert check.optimizer_step(adagrad, "adagrad", lr=0.1)
    out = capsys.readouterr().out
    assert "✓ 5 steps match rmsprop" in out and "✓ 5 steps match adagrad" in out


def test_epsilon_inside_the_root_is_named_in_torchs_rmsprop(capsys):
    inside = lambda *a, **k: rmsprop(*a, eps_inside=True, **k)  # noqa: E731
    assert not check.optimizer_step(inside, "rmsprop", lr=0.01, alpha=0.9)
    assert capsys.readouterr().out.startswith("✗ epsilon is inside the square root: that is "
                                              "Keras's RMSprop")


def test_an_unaveraged_square_is_named_in_torchs_rmsprop(capsys):
    def summed(param, grad, state, lr, alpha=0.99, eps=1e-8):
        v = state["v"] = alpha * state.get("v", 0.0) + grad**2
        param -= lr * grad / (np.sqrt(v) + eps)

    assert not check.optimizer_step(summed, "rmsprop", lr=0.01, alpha=0.9)
    assert "v is not an average" in capsys.readouterr().out


# ------------------------------------------------------------------------ Keras's RMSprop
def keras_rmsprop(param, grad, state, lr, rho=0.9, eps=1e-7):
    v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * grad**2
    param -= lr * grad / np.sqrt(v + eps)


def test_keras_rmsprop_right_passes_returning_or_in_place(capsys):
    def returning(param, grad, state, lr, rho=0.9, eps=1e-7):
        v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * grad**2
        return param - lr * grad / np.sqrt(v + eps)

    assert check.keras_rmsprop_step(keras_rmsprop) is True
    assert check.keras_rmsprop_step(returning) is True
    out = capsys.readouterr().out
    assert out.count("✓ 5 steps match Keras's RMSprop (rho=0.9, eps=1e-07 inside the root)") == 2


def test_keras_rmsprop_tells_epsilon_outside_the_root(capsys):
    """PyTorch's placement: the verdict says so, with how much larger the steps are where
    g is about 1e-6: on the first step sqrt(0.1 g^2 + eps) / (sqrt(0.1) |g| + eps), 760 at
    |g| = 1e-6, more below (the row's two draws here: about 1900)."""
    def outside(param, grad, state, lr, rho=0.9, eps=1e-7):
        v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * grad**2
        param -= lr * grad / (np.sqrt(v) + eps)

    assert check.keras_rmsprop_step(outside) is False
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("✗ epsilon is outside the square root: that is PyTorch's RMSprop.")
    ratio = float(out.split("your steps are ")[1].split(" times")[0])
    assert 300 < ratio < 5000


@pytest.mark.parametrize("mistake, verdict", [
    (lambda v, g, rho: rho * v + g**2, "v is not an average"),
    (lambda v, g, rho: (1 - rho) * v + rho * g**2, "rho and 1 - rho are swapped"),
])
def test_keras_rmsprop_names_a_wrong_average(capsys, mistake, verdict):
    def wrong(param, grad, state, lr, rho=0.9, eps=1e-7):
        v = state["v"] = mistake(state.get("v", 0.0), grad, rho)
        param -= lr * grad / np.sqrt(v + eps)

    assert check.keras_rmsprop_step(wrong) is False
    assert verdict in capsys.readouterr().out


def test_keras_rmsprop_names_adams_bias_correction_and_a_missing_root(capsys):
    def corrected(param, grad, state, lr, rho=0.9, eps=1e-7):
        state["t"] = t = state.get("t", 0) + 1
        v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * grad**2
        param -= lr * grad / np.sqrt(v / (1 - rho**t) + eps)

    def no_root(param, grad, state, lr, rho=0.9, eps=1e-7):
        v = state["v"] = rho * state.get("v", 0.0) + (1 - rho) * grad**2
        param -= lr * grad / (v + eps)

    assert not check.keras_rmsprop_step(corrected)
    assert "bias-corrected" in capsys.readouterr().out
    assert not check.keras_rmsprop_step(no_root)
    assert "the square root is missing" in capsys.readouterr().out


def test_keras_rmsprop_other_errors_say_where(capsys):
    def forgetful(param, grad, state, lr, rho=0.9, eps=1e-7):  # v never kept: right once
        v = (1 - rho) * grad**2
        param -= lr * grad / np.sqrt(v + eps)

    def crashing(param, grad, state, lr, rho=0.9, eps=1e-7):
        return param / 0 * np.sqrt(-1.0)

    assert not check.keras_rmsprop_step(forgetful)
    assert capsys.readouterr().out.startswith("✗ step 2 differs from Keras's")
    assert not check.keras_rmsprop_step(crashing)
    assert "NaN or inf" in capsys.readouterr().out


def test_keras_rmsprop_skeleton(capsys):
    assert check.keras_rmsprop_step(skeleton) is False
    assert capsys.readouterr().out == NOT_WRITTEN


# ------------------------------------------------------------------- full-matrix Adagrad
def full_adagrad(param, grad, state, lr, eps=1e-8):
    G = state["G"] = state.get("G", np.zeros((len(grad), len(grad)))) + np.outer(grad, grad)
    values, vectors = np.linalg.eigh(G)
    root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    param -= lr * np.linalg.solve(root + eps * np.eye(len(grad)), grad)


def test_full_adagrad_right_passes(capsys):
    assert check.full_adagrad_step(full_adagrad) is True
    assert capsys.readouterr().out.startswith("✓ 5 steps match full-matrix Adagrad")


def test_full_adagrad_is_rotation_equivariant_and_not_adagrad():
    """What the exercise builds on: on gradients turned by a rotation R the steps are the
    steps turned by R (to rounding), which diagonal Adagrad's are not."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    grads = [rng.normal(size=3) for _ in range(6)]

    def path(update, turn):
        param, state = np.zeros(3), {}
        for g in grads:
            update(param, turn @ g, state, lr=0.1, eps=1e-8)
        return param

    assert np.allclose(path(full_adagrad, q), q @ path(full_adagrad, np.eye(3)), atol=1e-10)
    assert not np.allclose(path(adagrad, q), q @ path(adagrad, np.eye(3)), atol=1e-3)


def _full(form):
    def wrong(param, grad, state, lr, eps=1e-8):
        G = state["G"] = state.get("G", 0.0) + np.outer(grad, grad)
        if form == "diagonal":
            param -= lr * grad / (np.sqrt(np.diag(G)) + eps)
        elif form == "inverse":
            param -= lr * np.linalg.solve(G + eps * np.eye(3), grad)
        elif form == "current":
            values, vectors = np.linalg.eigh(np.outer(grad, grad))
            root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
            param -= lr * np.linalg.solve(root + eps * np.eye(3), grad)
        else:  # eps inside the root
            values, vectors = np.linalg.eigh(G + eps * np.eye(3))
            param -= lr * (vectors / np.sqrt(values)) @ vectors.T @ grad
    return wrong


@pytest.mark.parametrize("form, verdict", [
    ("diagonal", "only the diagonal of G is used: that is Adagrad"),
    ("inverse", "the step divides by G, not by its square root"),
    ("current", "G does not accumulate"),
    ("inside", "epsilon is inside the square root"),
])
def test_full_adagrad_names_the_usual_mistakes(capsys, form, verdict):
    assert check.full_adagrad_step(_full(form)) is False
    assert verdict in " ".join(capsys.readouterr().out.split())


def test_full_adagrad_unnamed_error_and_skeleton(capsys):
    def half(param, grad, state, lr, eps=1e-8):
        full_adagrad(param, grad, state, lr / 2, eps)

    assert not check.full_adagrad_step(half)
    assert capsys.readouterr().out.startswith("✗ step 1 differs: G = G + outer(g, g)")
    assert check.full_adagrad_step(skeleton) is False
    assert capsys.readouterr().out == NOT_WRITTEN


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="student_update must be a function"):
        check.keras_rmsprop_step("not a function")
    with pytest.raises(TypeError, match="student_update must be a function"):
        check.full_adagrad_step(None)
