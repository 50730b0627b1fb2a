r"""RMSprop: Adagrad's per-coordinate scaling with a moving average instead of a sum.

torch.optim.RMSprop's algorithm (Hinton's lecture 6e, 2012), smoothing constant
:math:`\alpha` (Keras and the original call it :math:`\rho`):

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1}\\
    v_t &= \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \quad v_0 = 0\\
    \bar g_t &= \alpha\, \bar g_{t-1} + (1 - \alpha)\, g_t \ \text{(centered only)};\quad
    \tilde v_t = v_t - \bar g_t^2 \ \text{(centered)} \ \text{or}\ v_t\\
    b_t &= \mu\, b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \quad
    \theta_t = \theta_{t-1} - \gamma\, b_t \ \text{(momentum)}\\
    \theta_t &= \theta_{t-1} - \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon) \ \text{(otherwise)}

Keras's RMSprop differs: :math:`\rho = 0.9`, learning rate 0.001, and :math:`\epsilon = 10^{-7}`
*inside* the square root, :math:`g / \sqrt{v + \epsilon}`; see :class:`KerasRMSprop`.
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["RMSprop", "rmsprop_update", "KerasRMSprop", "keras_rmsprop_update",
           "check_rmsprop_hyperparameters"]


def check_rmsprop_hyperparameters(group):
    """torch.optim.RMSprop's checks and messages (shared with the PyTorch twin)."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_hyperparameter(group["eps"], "eps", message="Invalid epsilon value")
    check_hyperparameter(group["momentum"], "momentum")
    check_hyperparameter(group["weight_decay"], "weight_decay")
    check_hyperparameter(group["alpha"], "alpha")
    check_flags(group, "centered", "maximize")


def rmsprop_update(param, grad, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, centered=False, maximize=False):
    """One RMSprop step on ``param`` (in place); ``state`` holds ``step``, ``square_avg``
    and, when used, ``grad_avg`` and ``momentum_buffer``."""
    if "square_avg" not in state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param)
        if momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered:
            state["grad_avg"] = np.zeros_like(param)
    state["step"] += 1
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = state["square_avg"]
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg += (1 - alpha) * (grad - grad_avg)  # torch's lerp
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param -= lr * grad / avg


class RMSprop(Optimizer):
    """RMSprop with torch.optim.RMSprop's signature, defaults and semantics.

    ``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``; the update is :func:`rmsprop_update`.
    """

    check = staticmethod(check_rmsprop_hyperparameters)
    update = staticmethod(rmsprop_update)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)



def keras_rmsprop_update(param, grad, state, *, learning_rate, rho=0.9, momentum=0.0,
                         epsilon=1e-7, centered=False):
    """One step of Keras's RMSprop (keras.optimizers.RMSprop): epsilon inside the root,
    and its momentum accumulates the already scaled step ``lr * g / sqrt(v + eps)``."""
    if "velocity" not in state:
        state["velocity"] = np.zeros_like(param)
        state["momentum"] = np.zeros_like(param)
        state["average_gradient"] = np.zeros_like(param)
    velocity = state["velocity"]
    velocity[...] = rho * velocity + (1 - rho) * grad * grad
    if centered:
        average = state["average_gradient"]
        average[...] = rho * average + (1 - rho) * grad
        denominator = velocity - average * average + epsilon
    else:
        denominator = velocity + epsilon
    increment = learning_rate * grad / np.sqrt(denominator)
    if momentum > 0:
        state["momentum"][...] = momentum * state["momentum"] + increment
        param -= state["momentum"]
    else:
        param -= increment


class KerasRMSprop(KerasOptimizer):
    """RMSprop with Keras's names, defaults and formula: ``KerasRMSprop(params=None,
    learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
    **keras_options)``, the update :func:`keras_rmsprop_update`; the Keras options (``lr``,
    legacy ``decay``, ``weight_decay``, clipping, ``epsilon=None`` for 1e-7) are
    :class:`~ddlopt.optim.keras.KerasOptimizer`'s.

    What ``ddlopt.optim.get("rmsprop")`` returns. The learning rate is also reachable as
    ``param_groups[i]["lr"]``, so schedules work on it as on every optimizer here.
    """

    keras_name = "RMSprop"
    update = staticmethod(keras_rmsprop_update)

    def __init__(self, params=None, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **keras_options):
        super().__init__(params, dict(lr=learning_rate, rho=rho, momentum=momentum,
                                      epsilon=epsilon, centered=centered), **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["rho"], "rho", high=1.0)
        check_hyperparameter(group["momentum"], "momentum")
        check_hyperparameter(group["epsilon"], "epsilon")
        check_flags(group, "centered")
