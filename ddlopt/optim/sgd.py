r"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

With gradient :math:`g_t` of the loss at :math:`\theta_{t-1}`, learning rate :math:`\eta`,
momentum :math:`\beta`, dampening :math:`\tau` and weight decay :math:`\lambda`
(torch.optim.SGD's algorithm, in the book's notation):

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1}                          && \text{(weight decay)}\\
    b_t &\leftarrow \beta\, b_{t-1} + (1 - \tau)\, g_t, \quad b_1 = g_1   && \text{(momentum)}\\
    g_t &\leftarrow g_t + \beta\, b_t \ \text{(Nesterov)} \quad\text{or}\quad g_t \leftarrow b_t\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, g_t

With ``maximize=True`` the gradient is negated first (gradient ascent).
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["SGD", "sgd_update", "check_sgd_hyperparameters", "KerasSGD", "keras_sgd_update"]


def check_sgd_hyperparameters(group):
    """torch.optim.SGD's checks and messages (shared with the PyTorch twin)."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_hyperparameter(group["momentum"], "momentum")
    check_hyperparameter(group["dampening"], "dampening", low=-np.inf)
    check_hyperparameter(group["weight_decay"], "weight_decay")
    check_flags(group, "nesterov", "maximize")
    if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


def sgd_update(param, grad, state, *, lr, momentum=0.0, dampening=0.0,
               weight_decay=0.0, nesterov=False, maximize=False):
    """One SGD step on ``param`` (an ndarray, updated in place); ``state`` holds the
    momentum buffer between steps."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:  # the first step: b_1 = g_1
            buf = state["momentum_buffer"] = np.array(grad, copy=True)
        else:
            buf *= momentum
            buf += (1 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    param -= lr * grad


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's signature, defaults and semantics.

    ``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)``; the update is :func:`sgd_update`.
    """

    check = staticmethod(check_sgd_hyperparameters)
    update = staticmethod(sgd_update)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)


def keras_sgd_update(param, grad, state, *, learning_rate, momentum=0.0, nesterov=False):
    """One step of Keras's SGD (keras.optimizers.SGD). Its velocity holds the step itself,
    ``v = momentum v - lr g``, where torch's buffer holds gradients (``b = momentum b + g``,
    multiplied by lr afterwards): the two agree at a constant learning rate and part when it
    changes (a schedule, or the legacy ``decay``)."""
    if momentum == 0:
        param -= grad * learning_rate
        return
    if "momentum" not in state:
        state["momentum"] = np.zeros_like(param)
    velocity = state["momentum"]
    velocity *= momentum
    velocity -= grad * learning_rate
    if nesterov:
        param += velocity * momentum - grad * learning_rate   # look one velocity ahead
    else:
        param += velocity


class KerasSGD(KerasOptimizer):
    """SGD with Keras's names, defaults and formula: ``KerasSGD(params=None,
    learning_rate=0.01, momentum=0.0, nesterov=False, **keras_options)``, the update
    :func:`keras_sgd_update`; the Keras options (``lr``, legacy ``decay``, ``weight_decay``,
    clipping) are :class:`~ddlopt.optim.keras.KerasOptimizer`'s. What
    ``ddlopt.optim.get("sgd")`` returns."""

    keras_name = "SGD"
    default_learning_rate = 0.01
    update = staticmethod(keras_sgd_update)

    def __init__(self, params=None, learning_rate=0.01, momentum=0.0, nesterov=False,
                 **keras_options):
        super().__init__(params, dict(lr=learning_rate, momentum=momentum, nesterov=nesterov),
                         **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["momentum"], "momentum", high=1.0)
        check_flags(group, "nesterov")
