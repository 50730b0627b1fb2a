"""Chapter 11 (after Adam): Lion's rule for ``check.optimizer_step(f, "lion", ...)``,
with the usual mistakes in it named."""

import numpy as np

from .. import optim as _optim
from .ch02 import add_update_rule

__all__ = []


def _lion_variant(param, grad, state, *, lr, betas=(0.9, 0.99), weight_decay=0.0,
                  momentum_first=False, swapped=False, decay_unscaled=False, **_):
    """Lion with one of the usual mistakes, to recognise it in a student's steps."""
    beta1, beta2 = betas[::-1] if swapped else betas
    m = state.setdefault("m", np.zeros_like(param))
    if momentum_first:
        m *= beta2
        m += (1 - beta2) * grad
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    param *= 1 - (weight_decay if decay_unscaled else lr * weight_decay)
    param -= lr * direction
    if not momentum_first:
        m *= beta2
        m += (1 - beta2) * grad


_MISTAKES = [
    ("the momentum is updated before the sign is taken: Lion steps along "
     "sign(beta1 * m + (1 - beta1) * g) with the previous m, and only then sets "
     "m = beta2 * m + (1 - beta2) * g",
     lambda *a, **k: _lion_variant(*a, momentum_first=True, **k)),
    ("beta1 and beta2 are swapped: beta1 (0.9) mixes the gradient into the sign, beta2 (0.99) "
     "is the momentum's decay",
     lambda *a, **k: _lion_variant(*a, swapped=True, **k)),
    ("the weight decay is not scaled by the learning rate: Lion's decay is decoupled, "
     "param *= 1 - lr * weight_decay",
     lambda *a, **k: _lion_variant(*a, decay_unscaled=True, **k)),
]

# Lion's sign hides its momentum for the first dozens of steps: compare 200
add_update_rule("lion", _optim.lion_update, _MISTAKES, steps=200)
