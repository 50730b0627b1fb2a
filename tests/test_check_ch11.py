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
