r"""Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of
an interpolated momentum, found by a program search.

Every coordinate moves by exactly :math:`\gamma` per step (the sign is :math:`\pm 1`), so
the update's norm is larger than Adam's: Lion wants a learning rate 3 to 10 times smaller,
and, since decoupled weight decay is scaled by :math:`\gamma`, a weight decay 3 to 10 times
larger for the same effective decay. It keeps one state tensor (Adam keeps two). The
algorithm of the ``lion-pytorch`` package, which the tests use as the reference:

.. math::

    \theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1}\\
    \theta_t &= \theta_{t-1} - \gamma\,\operatorname{sign}(\beta_1 m_{t-1} + (1 - \beta_1) g_t)\\
    m_t &= \beta_2 m_{t-1} + (1 - \beta_2)\, g_t
"""

import numpy as np

from .adam import check_betas
from .keras import KerasOptimizer
from .optimizer import Optimizer, check_hyperparameter

__all__ = ["Lion", "lion_update", "check_lion_hyperparameters",
           "KerasLion", "keras_lion_update"]


def check_lion_hyperparameters(group):
    """lion-pytorch asserts lr > 0 and 0 <= beta <= 1; here they are ValueErrors."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_betas(group["betas"], inclusive_high=True)
    check_hyperparameter(group["weight_decay"], "weight_decay")


def lion_update(param, grad, state, *, lr=1e-4, betas=(0.9, 0.99),
                weight_decay=0.0):
    """One Lion step on ``param`` (in place); ``state`` holds ``exp_avg`` (m)."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["exp_avg"] = np.zeros_like(param)
    exp_avg = state["exp_avg"]
    param *= 1 - lr * weight_decay
    # +-lr on every coordinate
    param -= lr * np.sign(beta1 * exp_avg + (1 - beta1) * grad)
    exp_avg *= beta2
    exp_avg += (1 - beta2) * grad       # the momentum moves slower


class Lion(Optimizer):
    """Lion with the ``lion-pytorch`` package's signature, defaults and semantics:
    ``Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, check_finite=False)``;
    the update is :func:`lion_update`."""

    check = staticmethod(check_lion_hyperparameters)
    update = staticmethod(lion_update)

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      weight_decay=weight_decay), check_finite=check_finite)


def keras_lion_update(param, grad, state, *, learning_rate, beta_1=0.9, beta_2=0.99):
    """One step of Keras's Lion: :func:`lion_update` with Keras's names (Keras's weight
    decay is the common decoupled one, applied before)."""
    lion_update(param, grad, state, lr=learning_rate, betas=(beta_1, beta_2))


class KerasLion(KerasOptimizer):
    """Lion with Keras's names and defaults: ``KerasLion(params=None, learning_rate=0.001,
    beta_1=0.9, beta_2=0.99, **keras_options)`` (lion-pytorch's default lr is 1e-4).
    What ``ddlopt.optim.get("lion")`` returns."""

    keras_name = "Lion"
    update = staticmethod(keras_lion_update)

    def __init__(self, params=None, learning_rate=0.001, beta_1=0.9, beta_2=0.99,
                 **keras_options):
        super().__init__(params, dict(lr=learning_rate, beta_1=beta_1, beta_2=beta_2),
                         **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["beta_2"], "beta_2", high=1.0)
        check_hyperparameter(group["beta_1"], "beta_1", high=1.0)
        if group["beta_1"] == 0:   # Keras's rule: beta_1 = 0 is signSGD, not Lion
            raise ValueError("Invalid beta_1 value: 0 (Lion needs 0 < beta_1 <= 1; "
                             "beta_1 = 0 is signSGD)")
