r"""Adadelta (Zeiler, 2012): RMSprop whose step has the units of the parameter.

RMSprop divides the gradient by the root of its mean square, so its step has no units and
needs a learning rate to carry them. Adadelta multiplies by the root of the mean square of
the *past steps* instead, which has the parameter's units: the ratio needs no learning rate
(torch keeps one, ``lr=1.0``, as a plain multiplier). torch.optim.Adadelta's algorithm:

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(L2)}\\
    v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2\\
    \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t\\
    u_t &= \rho\, u_{t-1} + (1 - \rho)\, \Delta_t^2\\
    \theta_t &= \theta_{t-1} - \gamma\, \Delta_t
"""

import numpy as np

from .adam import decay_weights
from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Adadelta", "adadelta_update", "check_adadelta_hyperparameters",
           "KerasAdadelta", "keras_adadelta_update"]


def check_adadelta_hyperparameters(group):
    """torch.optim.Adadelta's checks and messages (shared with the PyTorch twin)."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_hyperparameter(group["rho"], "rho", high=1.0)
    check_hyperparameter(group["eps"], "eps", message="Invalid epsilon value")
    check_hyperparameter(group["weight_decay"], "weight_decay")
    check_flags(group, "maximize")


def adadelta_update(param, grad, state, *, lr=1.0, rho=0.9, eps=1e-6,
                    weight_decay=0.0, maximize=False):
    """One Adadelta step on ``param`` (in place); ``state`` holds ``step``,
    ``square_avg`` (v, the mean square of the gradients) and ``acc_delta`` (a, of the
    steps)."""
    if "square_avg" not in state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param)
        state["acc_delta"] = np.zeros_like(param)
    state["step"] += 1
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         False)
    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad           # v = rho v + (1 - rho) g^2
    # the step, in units of theta: sqrt(a + eps) / sqrt(v + eps) * g
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta    # a = rho a + (1 - rho) delta^2
    param -= lr * delta


class Adadelta(Optimizer):
    """Adadelta with torch.optim.Adadelta's signature, defaults and semantics:
    ``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False,
    check_finite=False)``; the update is :func:`adadelta_update`."""

    check = staticmethod(check_adadelta_hyperparameters)
    update = staticmethod(adadelta_update)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize), check_finite=check_finite)


def keras_adadelta_update(param, grad, state, *, learning_rate, rho=0.95, epsilon=1e-7):
    """One step of Keras's Adadelta: torch's formula (:func:`adadelta_update`, epsilon inside
    both roots) with Keras's names."""
    adadelta_update(param, grad, state, lr=learning_rate, rho=rho, eps=epsilon)


class KerasAdadelta(KerasOptimizer):
    """Adadelta with Keras's names and defaults: ``KerasAdadelta(params=None,
    learning_rate=0.001, rho=0.95, epsilon=1e-7, **keras_options)``. Keras's learning rate
    0.001 is Zeiler's "no learning rate" scaled down a thousandfold; torch's default
    ``lr=1.0`` is the paper's. What ``ddlopt.optim.get("adadelta")`` returns."""

    keras_name = "Adadelta"
    update = staticmethod(keras_adadelta_update)

    def __init__(self, params=None, learning_rate=0.001, rho=0.95, epsilon=1e-7,
                 **keras_options):
        super().__init__(params, dict(lr=learning_rate, rho=rho, epsilon=epsilon),
                         **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["rho"], "rho", high=1.0)
        check_hyperparameter(group["epsilon"], "epsilon")
