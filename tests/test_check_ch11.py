"""check.optimizer_step(..., "lion"), chapter 11's checker: passes Lion, names each mistake."""

import numpy as np
import pytest

from ddlopt import check


def lion(param, grad, state, lr, betas=(0.9, 0.99), weight_decay=0.0, *, mistake=None):
    beta1, beta2 = betas[::-1] if mistake == "swapped" else betas
    m = state.setdefault("m", np.zeros_like(param))
    if mistake == "momentum first":
        m[:] = beta2 * m + (1 - beta2) * grad
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    param *= 1 - (weight_decay if mistake == "decay unscaled" else lr * weight_decay)
    param -= lr * (direction if mistake != "uphill" else -direction)
    if mistake != "momentum first" and mistake != "no momentum":
        m[:] = beta2 * m + (1 - beta2) * grad


HYPER = dict(lr=0.01, betas=(0.9, 0.99), weight_decay=0.1)


def test_a_correct_lion_passes(capsys):
    assert check.optimizer_step(lion, "lion", **HYPER)
    assert "✓ 200 steps match lion" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, says", [
    ("momentum first", "the momentum is updated before the sign is taken"),
    ("swapped", "beta1 and beta2 are swapped"),
    ("decay unscaled", "the weight decay is not scaled by the learning rate"),
    ("uphill", "the first step goes uphill"),
    ("no momentum", "is what must carry over between steps"),
])
def test_each_mistake_is_named(mistake, says, capsys):
    student = lambda *a, **k: lion(*a, mistake=mistake, **k)  # noqa: E731
    # the uphill hint compares first steps, which weight decay would blur
    hyper = {**HYPER, "weight_decay": 0.0} if mistake == "uphill" else HYPER
    assert not check.optimizer_step(student, "lion", **hyper)
    out = " ".join(capsys.readouterr().out.split())
    assert "✗" in out and says in out


# ---- check.newton_schulz ------------------------------------------------------------------
def newton_schulz(matrix, steps=5, *, mistake=None):
    a, b, c = (2.0315, -4.7750, 3.4445) if mistake == "order" else (3.4445, -4.7750, 2.0315)
    x = np.asarray(matrix, dtype=float)
    if mistake == "spectral":
        x = x / np.linalg.norm(x, 2)
    elif mistake != "unnormalized":
        x = x / np.linalg.norm(x)
    for _ in range(steps + (1 if mistake == "one more" else 0)):
        gram = x.T @ x if mistake == "gram right" else x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if mistake == "transposed" else x


def test_a_correct_newton_schulz_passes(capsys):
    assert check.newton_schulz(newton_schulz)
    assert "✓ 5 iterations match ddlopt.optim.newton_schulz" in capsys.readouterr().out
    assert check.newton_schulz(newton_schulz, steps=3)


@pytest.mark.parametrize("mistake, says", [
    ("unnormalized", "the matrix is not normalized first"),
    ("spectral", "normalized by its largest singular value"),
    ("order", "the coefficients are in the wrong order"),
    ("gram right", "the Gram matrix is X^T X"),
    ("one more", "it runs 6 iterations where it was asked for 5"),
    ("transposed", "the iteration keeps the shape"),
])
def test_each_newton_schulz_mistake_is_named(mistake, says, capsys):
    student = lambda m, steps: newton_schulz(m, steps, mistake=mistake)  # noqa: E731
    assert not check.newton_schulz(student)
    out = " ".join(capsys.readouterr().out.split())
    assert "✗" in out and says in out


def test_a_newton_schulz_skeleton_is_not_written_yet(capsys):
    def my_newton_schulz(matrix, steps=5):
        raise NotImplementedError("your code here")
    assert not check.newton_schulz(my_newton_schulz)
    assert "not written yet: fill in the body of my_newton_schulz" in capsys.readouterr().out
