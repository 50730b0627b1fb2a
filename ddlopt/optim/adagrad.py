r"""Adagrad: a learning rate per coordinate, shrinking with the squares of its gradients.

torch.optim.Adagrad's algorithm (Duchi, Hazan and Singer, 2011), with learning rate
:math:`\gamma`, decay :math:`\eta_d` (``lr_decay``), weight decay :math:`\lambda`:

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1}\\
    \tilde\gamma_t &= \gamma / (1 + (t - 1)\,\eta_d)\\
    s_t &= s_{t-1} + g_t^2, \quad s_0 = \text{initial\_accumulator\_value}\\
    \theta_t &= \theta_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Adagrad", "adagrad_update", "check_adagrad_hyperparameters",
           "KerasAdagrad", "keras_adagrad_update"]


def check_adagrad_hyperparameters(group):
    """torch.optim.Adagrad's checks and messages (shared with the PyTorch twin)."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_hyperparameter(group["lr_decay"], "lr_decay")
    check_hyperparameter(group["weight_decay"], "weight_decay")
    check_hyperparameter(group["initial_accumulator_value"], "initial_accumulator_value")
    check_hyperparameter(group["eps"], "eps", message="Invalid epsilon value")
    check_flags(group, "maximize")


def adagrad_update(param, grad, state, *, lr, lr_decay=0.0, weight_decay=0.0,
                   initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    """One Adagrad step on ``param`` (in place); ``state`` holds ``step`` and ``sum``."""
    if "sum" not in state:
        state["step"] = 0
        state["sum"] = np.full_like(param, initial_accumulator_value)
    state["step"] += 1
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    clr = lr / (1 + (state["step"] - 1) * lr_decay)
    state["sum"] += grad * grad
    std = np.sqrt(state["sum"]) + eps
    param -= clr * grad / std


class Adagrad(Optimizer):
    """Adagrad with torch.optim.Adagrad's signature, defaults and semantics.

    ``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False)``; the update is :func:`adagrad_update`. As in torch, the
    accumulators start at the constructor's ``initial_accumulator_value`` in every param
    group (a group's own value for it is ignored).
    """

    check = staticmethod(check_adagrad_hyperparameters)
    update = staticmethod(adagrad_update)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        hyperparameters = self._hyperparameters(group)
        # torch fills every accumulator in __init__ from the constructor's value, so a param
        # group's own initial_accumulator_value has no effect there; the same here
        hyperparameters["initial_accumulator_value"] = self.defaults["initial_accumulator_value"]
        self.update(p.data, grad, state, **hyperparameters)


def keras_adagrad_update(param, grad, state, *, learning_rate, initial_accumulator_value=0.1,
                         epsilon=1e-7):
    """One step of Keras's Adagrad (keras.optimizers.Adagrad): the accumulator starts at
    ``initial_accumulator_value`` (0.1; torch's at 0) and epsilon sits *inside* the root,
    ``g / sqrt(s + epsilon)`` (torch's outside, ``g / (sqrt(s) + eps)``)."""
    if "accumulator" not in state:
        state["accumulator"] = np.full_like(param, initial_accumulator_value)
    accumulator = state["accumulator"]
    accumulator += grad * grad
    param -= learning_rate * grad / np.sqrt(accumulator + epsilon)


class KerasAdagrad(KerasOptimizer):
    """Adagrad with Keras's names, defaults and formula: ``KerasAdagrad(params=None,
    learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **keras_options)``,
    the update :func:`keras_adagrad_update`. What ``ddlopt.optim.get("adagrad")`` returns."""

    keras_name = "Adagrad"
    update = staticmethod(keras_adagrad_update)

    def __init__(self, params=None, learning_rate=0.001, initial_accumulator_value=0.1,
                 epsilon=1e-7, **keras_options):
        super().__init__(params, dict(lr=learning_rate,
                                      initial_accumulator_value=initial_accumulator_value,
                                      epsilon=epsilon), **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["initial_accumulator_value"], "initial_accumulator_value")
        check_hyperparameter(group["epsilon"], "epsilon")
