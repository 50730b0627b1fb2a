r"""Adamax (Kingma and Ba, 2015, section 7.1): Adam with the infinity norm.

Adam scales by the root of an exponential average of :math:`g^2`, an :math:`L^2` norm of
the past gradients. Replace 2 by :math:`p` and let :math:`p \to \infty`: the average becomes
a decaying maximum of :math:`|g|`, which needs no bias correction and no square root.
torch.optim.Adamax's algorithm (:math:`\epsilon` inside the maximum):

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(L2)}\\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t\\
    u_t &= \max(\beta_2\, u_{t-1},\ |g_t| + \epsilon)\\
    \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\,\frac{m_t}{u_t}
"""

import numpy as np

from .adam import KerasAdamFamily, check_adam_hyperparameters, decay_weights
from .optimizer import Optimizer

__all__ = ["Adamax", "adamax_update", "KerasAdamax", "keras_adamax_update"]


def adamax_update(param, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                  weight_decay=0.0, maximize=False):
    """One Adamax step on ``param`` (in place); ``state`` holds ``step``, ``exp_avg``
    (m) and ``exp_inf`` (u, the decaying maximum of |g|)."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_inf"] = np.zeros_like(param)
    state["step"] += 1
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         False)
    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
    exp_avg += (1 - beta1) * (grad - exp_avg)
    np.maximum(beta2 * exp_inf, np.abs(grad) + eps, out=exp_inf)
    param -= (lr / (1 - beta1 ** state["step"])) * exp_avg / exp_inf


class Adamax(Optimizer):
    """Adamax with torch.optim.Adamax's signature, defaults and semantics: ``Adamax(params,
    lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False,
    check_finite=False)``; the update is :func:`adamax_update`.

    Keras's Adamax adds epsilon after the maximum, ``m / (u + epsilon)``, with
    ``u = max(beta_2 u, |g|)``: the two differ by at most epsilon in the denominator.
    """

    check = staticmethod(check_adam_hyperparameters)
    update = staticmethod(adamax_update)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      eps=eps, weight_decay=weight_decay, maximize=maximize),
                         check_finite=check_finite)


def keras_adamax_update(param, grad, state, *, learning_rate, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-7):
    """One step of Keras's Adamax: epsilon is added *after* the maximum,
    ``m / ((1 - beta_1^t) (u + epsilon))`` with ``u = max(beta_2 u, |g|)``; torch puts it
    inside, ``u = max(beta_2 u, |g| + eps)``."""
    if "m" not in state:
        state["step"], state["m"], state["u"] = 0, np.zeros_like(param), np.zeros_like(param)
    state["step"] += 1
    m, u = state["m"], state["u"]
    m += (grad - m) * (1 - beta_1)
    np.maximum(beta_2 * u, np.abs(grad), out=u)
    param -= learning_rate * m / ((1 - beta_1 ** state["step"]) * (u + epsilon))


class KerasAdamax(KerasAdamFamily):
    """Adamax with Keras's names, defaults and formula: ``KerasAdamax(params=None,
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **keras_options)``, the
    update :func:`keras_adamax_update`. What ``ddlopt.optim.get("adamax")`` returns."""

    keras_name = "Adamax"
    update = staticmethod(keras_adamax_update)
