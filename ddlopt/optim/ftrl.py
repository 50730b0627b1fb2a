r"""FTRL-Proximal (McMahan et al., 2013, "Ad Click Prediction: a View from the Trenches").

"Follow the regularized leader": instead of stepping from the current weights, choose the
weights that minimize the sum of all linearized losses so far plus a proximal term that keeps
them near the past iterates, plus L1 and L2 penalties. The minimizer has a closed form, so
FTRL keeps two sums per coordinate, the squared gradients :math:`n` and a "linear" term
:math:`z`, and *solves* for the weight each step. The L1 term zeroes every coordinate whose
:math:`|z|` stays below :math:`\lambda_1`: exact zeros, which is what sparse click-prediction
models want. Keras's ``keras.optimizers.Ftrl`` (torch has none), with learning-rate power
:math:`p` (:math:`-1/2` for Adagrad's rate), L2 strength :math:`\lambda_2` (plus
:math:`\beta / 2\eta`) and L2 shrinkage :math:`\lambda_s`:

.. math::

    \tilde g_t &= g_t + 2\lambda_s \theta_{t-1}, \qquad n_t = n_{t-1} + g_t^2,
        \quad n_0 = \text{initial\_accumulator\_value}\\
    z_t &= z_{t-1} + \tilde g_t - \frac{n_t^{-p} - n_{t-1}^{-p}}{\eta}\, \theta_{t-1}\\
    \theta_t &= \frac{\operatorname{clip}(z_t, -\lambda_1, \lambda_1) - z_t}
        {n_t^{-p} / \eta + 2\lambda_2}
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import check_hyperparameter

__all__ = ["KerasFtrl", "ftrl_update"]


def ftrl_update(param, grad, state, *, learning_rate, learning_rate_power=-0.5,
                initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                beta=0.0):
    """One FTRL step on ``param`` (in place), Keras's formula; ``state`` holds
    ``accumulator`` (n) and ``linear`` (z)."""
    if "accumulator" not in state:
        state["accumulator"] = np.full_like(param, initial_accumulator_value)
        state["linear"] = np.zeros_like(param)
    accumulator, linear = state["accumulator"], state["linear"]
    power = -learning_rate_power
    l2 = l2_regularization_strength + beta / (2.0 * learning_rate)
    shrunk_grad = grad + 2 * l2_shrinkage_regularization_strength * param
    new_accumulator = accumulator + grad * grad
    sigma = (new_accumulator**power - accumulator**power) / learning_rate
    linear += shrunk_grad - sigma * param
    quadratic = new_accumulator**power / learning_rate + 2 * l2
    l1 = l1_regularization_strength
    param[...] = (np.clip(linear, -l1, l1) - linear) / quadratic   # 0 wherever |z| <= l1
    accumulator[...] = new_accumulator


class KerasFtrl(KerasOptimizer):
    """FTRL with Keras's names, defaults and formula: ``KerasFtrl(params=None,
    learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
    l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0, beta=0.0, **keras_options)``, the update
    :func:`ftrl_update`. What ``ddlopt.optim.get("ftrl")`` returns."""

    keras_name = "Ftrl"
    update = staticmethod(ftrl_update)

    def __init__(self, params=None, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **keras_options):
        super().__init__(params, dict(
            lr=learning_rate, learning_rate_power=learning_rate_power,
            initial_accumulator_value=initial_accumulator_value,
            l1_regularization_strength=l1_regularization_strength,
            l2_regularization_strength=l2_regularization_strength,
            l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength,
            beta=beta), **keras_options)

    def check_keras(self, group):
        if group["lr"] == 0:
            raise ValueError("Invalid learning rate: 0 (FTRL divides by it)")
        check_hyperparameter(group["learning_rate_power"], "learning_rate_power",
                             low=-np.inf, high=0.0)
        for name in ("initial_accumulator_value", "l1_regularization_strength",
                     "l2_regularization_strength", "l2_shrinkage_regularization_strength",
                     "beta"):
            check_hyperparameter(group[name], name)
