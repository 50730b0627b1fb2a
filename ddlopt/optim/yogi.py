r"""Yogi (Zaheer, Reddi, Sachan, Kale and Kumar, 2018): Adam with an additive second moment.

Adam's second moment moves towards :math:`g_t^2` by a fraction of the gap,
:math:`v_t = v_{t-1} - (1 - \beta_2)(v_{t-1} - g_t^2)`: after a stretch of small gradients
it forgets a large :math:`v` geometrically, and the effective rate :math:`\eta/\sqrt{v}`
grows as fast. Yogi keeps the direction of that move and drops its size: the change is
:math:`(1 - \beta_2)\, g_t^2` at most, whatever the gap.

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \quad\text{(L2)}\\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t\\
    v_t &= v_{t-1} - (1 - \beta_2)\,\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2\\
    \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}\,
        \frac{m_t}{\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon}

from :math:`m_0 = 0` and :math:`v_0` = ``initial_accumulator`` (:math:`10^{-6}`), with the
paper's :math:`\epsilon = 10^{-3}`. torch.optim has no Yogi; this is the algorithm of the
``torch-optimizer`` package (``torch_optimizer.Yogi``, same signature and defaults), except
that its first moment starts at zero as in the paper and in TensorFlow Addons
(torch-optimizer starts it at ``initial_accumulator`` too). TensorFlow Addons folds the
bias corrections into the learning rate and so adds its :math:`\epsilon` to the
uncorrected root, as Keras's Adam does.
"""

import numpy as np

from .adam import check_adam_hyperparameters, decay_weights
from .optimizer import Optimizer, check_hyperparameter

__all__ = ["Yogi", "yogi_update", "check_yogi_hyperparameters"]


def check_yogi_hyperparameters(group):
    """Adam's checks (torch's messages), and a non-negative ``initial_accumulator``."""
    check_adam_hyperparameters(group)
    check_hyperparameter(group["initial_accumulator"], "initial_accumulator")


def yogi_update(param, grad, state, *, lr=1e-2, betas=(0.9, 0.999), eps=1e-3,
                initial_accumulator=1e-6, weight_decay=0.0, maximize=False):
    """One Yogi step on ``param`` (in place). ``state`` holds ``step``, ``exp_avg`` (m)
    and ``exp_avg_sq`` (v, started at ``initial_accumulator``)."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.full_like(param, initial_accumulator)
    state["step"] += 1
    t = state["step"]
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         False)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)      # m = beta1 m + (1 - beta1) g
    grad_sq = grad * grad
    # v moves towards g^2 by (1 - beta2) g^2, not by (1 - beta2)(g^2 - v)
    exp_avg_sq -= (1 - beta2) * np.sign(exp_avg_sq - grad_sq) * grad_sq
    denom = np.sqrt(exp_avg_sq) / (1 - beta2**t) ** 0.5 + eps
    param -= (lr / (1 - beta1**t)) * exp_avg / denom


class Yogi(Optimizer):
    """Yogi with torch-optimizer's signature and defaults: ``Yogi(params, lr=1e-2,
    betas=(0.9, 0.999), eps=1e-3, initial_accumulator=1e-6, weight_decay=0,
    maximize=False, check_finite=False)``; the update is :func:`yogi_update`."""

    check = staticmethod(check_yogi_hyperparameters)
    update = staticmethod(yogi_update)

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), eps=1e-3, initial_accumulator=1e-6,
                 weight_decay=0, *, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      initial_accumulator=initial_accumulator,
                                      weight_decay=weight_decay, maximize=maximize),
                         check_finite=check_finite)
