r"""RAdam (Liu et al., 2020): Adam whose adaptive step is switched on only when the
variance of :math:`1/\sqrt{v_t}` is finite, and scaled down ("rectified") until it settles.

Early on :math:`v_t` averages a few squared gradients, so the adaptive learning rate
:math:`1/\sqrt{\hat v_t}` swings wildly: the reason Adam is often run with a warm-up. RAdam
estimates the length :math:`r_t` of the simple moving average that :math:`v_t`
approximates; for :math:`r_t \le 5` it takes a plain momentum step, afterwards Adam's step
times the rectification :math:`\psi_t \to 1`. torch.optim.RAdam's algorithm:

.. math::

    m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2\\
    r_\infty &= \frac{2}{1 - \beta_2} - 1, \quad
    r_t = r_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}\\
    \theta_t &= \theta_{t-1} - \gamma\, \frac{m_t}{1 - \beta_1^t} \cdot
        \begin{cases} \psi_t\, \dfrac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}, &
        \psi_t = \sqrt{\dfrac{(r_t - 4)(r_t - 2)r_\infty}{(r_\infty - 4)(r_\infty - 2)r_t}}
        \ \text{ if } r_t > 5\\ 1 & \text{otherwise} \end{cases}

Weight decay is L2 (added to :math:`g_t`) or, with ``decoupled_weight_decay=True``, AdamW's.
"""

import numpy as np

from .adam import check_adam_hyperparameters, decay_weights
from .optimizer import Optimizer

__all__ = ["RAdam", "radam_update", "radam_rectification"]


def radam_rectification(t, beta2):
    """The rectification psi_t of step ``t`` (the paper's r_t), or None while
    r_t <= 5 (no adaptive step); r_t is the length of the moving average v_t
    approximates (the paper's rho_t, renamed as the book's notation has it)."""
    r_inf = 2 / (1 - beta2) - 1
    r_t = r_inf - 2 * t * beta2**t / (1 - beta2**t)
    if r_t <= 5.0:
        return None
    return ((r_t - 4) * (r_t - 2) * r_inf
            / ((r_inf - 4) * (r_inf - 2) * r_t)) ** 0.5


def radam_update(param, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, decoupled_weight_decay=False,
                 maximize=False):
    """One RAdam step on ``param`` (in place); ``state`` holds ``step``, ``exp_avg``
    and ``exp_avg_sq``."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         decoupled_weight_decay)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    step = lr * exp_avg / (1 - beta1**t)        # momentum, bias-corrected
    rectification = radam_rectification(t, beta2)
    if rectification is not None:           # the variance is tractable: adapt
        step *= (rectification * np.sqrt(1 - beta2**t)
                 / (np.sqrt(exp_avg_sq) + eps))
    param -= step


class RAdam(Optimizer):
    """RAdam with torch.optim.RAdam's signature, defaults and semantics: ``RAdam(params,
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
    maximize=False, check_finite=False)``; the update is :func:`radam_update`."""

    check = staticmethod(check_adam_hyperparameters)
    update = staticmethod(radam_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize), check_finite=check_finite)
