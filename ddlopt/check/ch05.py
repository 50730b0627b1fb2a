"""Chapter 5 (Adam): Adam's and AMSGrad's rules for ``check.optimizer_step(f, "adam", ...)``
and ``check.optimizer_step(f, "amsgrad", ...)``, with the usual mistakes in them named."""

import functools

import numpy as np

from .. import optim as _optim
from .ch02 import add_update_rule

__all__ = []


def _adam_variant(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8, correct_bias=True,
                  eps_inside=False, average_m=True, maximum=None, **_):
    """Adam with one of the usual mistakes, to recognise it in a student's steps.
    ``maximum``: AMSGrad's running maximum, of ``"v"`` (right), of the bias-corrected
    ``"v_hat"`` or of the squared gradient ``"g2"``; None for plain Adam."""
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    m = state["m"] = beta1 * state.get("m", 0.0) + ((1 - beta1) if average_m else 1.0) * grad
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
    if maximum is not None:
        seen = {"v": v, "v_hat": v / (1 - beta2**t), "g2": grad * grad}[maximum]
        v = state["v_max"] = np.maximum(state.get("v_max", 0.0), seen)
        if maximum == "v_hat":            # already corrected: divide by nothing more
            param -= lr * m / (1 - beta1**t) / (np.sqrt(v) + eps)
            return
    if correct_bias:
        m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    param -= lr * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)


_NO_CORRECTION = ("the bias correction is missing: divide m by 1 - beta1^t and v by "
                  "1 - beta2^t (both start at zero, so uncorrected the early steps have the "
                  "wrong size)")
_MISTAKES = [
    (_NO_CORRECTION, functools.partial(_adam_variant, correct_bias=False)),
    ("epsilon is inside the square root: Adam divides by sqrt(v_hat) + eps",
     functools.partial(_adam_variant, eps_inside=True)),
    ("the first moment is not an average: m = beta1 * m + (1 - beta1) * g, not beta1 * m + g",
     functools.partial(_adam_variant, average_m=False)),
]

add_update_rule("adam", _optim.adam_update, _MISTAKES)


def _amsgrad(param, grad, state, **hyperparameters):
    _optim.adam_update(param, grad, state, amsgrad=True, **hyperparameters)


_AMSGRAD_MISTAKES = [
    ("the running maximum is missing: this is Adam's step; keep v_max = max(v_max, v_t) "
     "in state and divide by its root", _adam_variant),
    ("the maximum is taken of the bias-corrected v_hat: PyTorch keeps the maximum of the "
     "uncorrected v_t and divides it by 1 - beta2^t afterwards",
     functools.partial(_adam_variant, maximum="v_hat")),
    ("the maximum is taken of the squared gradient: take it of the average v_t, which "
     "still moves by (1 - beta2) g^2 each step",
     functools.partial(_adam_variant, maximum="g2")),
    (_NO_CORRECTION, functools.partial(_adam_variant, maximum="v", correct_bias=False)),
]

# 20 steps: with a long memory (beta2 near 1) v_t only grows at first, and the maximum
# changes nothing; the exercise checks with betas=(0.9, 0.9), where it soon does
add_update_rule("amsgrad", _amsgrad, _AMSGRAD_MISTAKES, steps=20)
