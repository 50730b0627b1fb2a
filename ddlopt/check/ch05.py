"""Chapter 5 (Adam): Adam's rule for ``check.optimizer_step(f, "adam", ...)``, with the
usual mistakes in it named."""

import numpy as np

from .. import optim as _optim
from .ch02 import add_update_rule

__all__ = []


def _adam_variant(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8, correct_bias=True,
                  eps_inside=False, average_m=True, **_):
    """Adam with one of the usual mistakes, to recognise it in a student's steps."""
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    m = state["m"] = beta1 * state.get("m", 0.0) + ((1 - beta1) if average_m else 1.0) * grad
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
    if correct_bias:
        m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    param -= lr * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)


_MISTAKES = [
    ("the bias correction is missing: divide m by 1 - beta1^t and v by 1 - beta2^t "
     "(both start at zero, so uncorrected the early steps have the wrong size)",
     lambda *a, **k: _adam_variant(*a, correct_bias=False, **k)),
    ("epsilon is inside the square root: Adam divides by sqrt(v_hat) + eps",
     lambda *a, **k: _adam_variant(*a, eps_inside=True, **k)),
    ("the first moment is not an average: m = beta1 * m + (1 - beta1) * g, not beta1 * m + g",
     lambda *a, **k: _adam_variant(*a, average_m=False, **k)),
]


add_update_rule("adam", _optim.adam_update, _MISTAKES)
