r"""Prodigy (Mishchenko and Defazio, 2024), the successor of D-Adaptation (Defazio and
Mishchenko, 2023): Adam whose step size is estimated while training.

The best constant step of (sub)gradient descent on a convex problem is proportional to
:math:`D = \lVert \theta_0 - \theta_* \rVert`, the distance to the solution, which nobody
knows in advance. D-Adaptation and Prodigy keep a lower bound :math:`d_t` of it, computed
from the gradients seen so far, and step with it; the learning rate becomes a multiplier
(default 1) of that estimate. The algorithm of the ``prodigyopt`` package (version 1.1),
which the tests use as the reference, with the step size :math:`\eta_t = d_t \eta` (times
Adam's bias correction when ``use_bias_correction``):

.. math::

    \Gamma_t &= \beta_3 \Gamma_{t-1} + \tfrac{d_t}{d_0} \eta_t \langle g_t, \theta_0 -
    \theta_{t-1} \rangle, \quad
    \Phi_t = \beta_3 \Phi_{t-1} + \tfrac{d_t}{d_0} \eta_t\, g_t\\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, d_t\, g_t, \quad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, d_t^2 g_t^2\\
    d_{t+1} &= \max\big(d_t,\ \Gamma_t / \lVert \Phi_t \rVert_1\big), \quad
    \theta_t = \theta_{t-1} - \eta_t\, \frac{m_t}{\sqrt{v_t} + d_{t+1}\epsilon}

(:math:`d_{t+1}` grows by at most ``growth_rate`` per step; ``safeguard_warmup`` leaves
:math:`\eta` out of :math:`\Phi`.) One :math:`d` serves every parameter: it is a property
of the whole problem, so the optimizer takes one param group. In the code, ``d_numerator``
is :math:`\Gamma`, ``state["s"]`` is :math:`\Phi` and ``dlr`` is :math:`\eta_t`.
"""

import math

import numpy as np

from .adam import check_betas
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Prodigy", "prodigy_update", "check_prodigy_hyperparameters"]


def check_prodigy_hyperparameters(group):
    """prodigyopt's checks and messages (lr, eps and d0 must be positive)."""
    for name in ("d0", "lr", "eps"):
        wording = "Invalid learning rate" if name == "lr" else f"Invalid {name} value"
        check_hyperparameter(group[name], name, message=wording)
        if group[name] == 0:
            raise ValueError(f"{wording}: {group[name]}")
    check_betas(group["betas"], inclusive_high=False)
    if group["beta3"] is not None:
        check_hyperparameter(group["beta3"], "beta3", high=1.0, inclusive_high=False)
    check_hyperparameter(group["weight_decay"], "weight_decay")
    check_hyperparameter(group["d_coef"], "d_coef")
    if not group["growth_rate"] >= 1:
        raise ValueError(f"growth_rate must be at least 1, got {group['growth_rate']}")
    check_flags(group, "decouple", "use_bias_correction", "safeguard_warmup")


def prodigy_update(params, grads, states, group):
    """One Prodigy step of every parameter in ``params`` (arrays, updated in place),
    with their ``grads`` and ``states``; ``group`` holds the hyperparameters and the
    shared estimate (``d``, ``d_max``, ``d_numerator``, ``k``), updated too."""
    beta1, beta2 = group["betas"]
    beta3 = math.sqrt(beta2) if group["beta3"] is None else group["beta3"]
    k, d, d0 = group["k"], group["d"], group["d0"]
    decay = group["weight_decay"]
    bias_correction = 1.0
    if group["use_bias_correction"]:
        bias_correction = (math.sqrt(1 - beta2 ** (k + 1))
                           / (1 - beta1 ** (k + 1)))
    dlr = d * group["lr"] * bias_correction      # this step's size, eta_t
    numerator, denominator = group["d_numerator"] * beta3, 0.0
    for param, grad, state in zip(params, grads, states):
        if "s" not in state:
            state.update(step=0, s=np.zeros(param.size),
                         p0=param.ravel().copy(), exp_avg=np.zeros_like(param),
                         exp_avg_sq=np.zeros_like(param))
        if decay != 0 and not group["decouple"]:
            grad = grad + decay * param              # an L2 penalty's gradient
        # Gamma: <g, theta_0 - theta>, how far the gradients say the solution is
        distance = state["p0"] - param.ravel()
        numerator += (d / d0) * dlr * float(np.dot(grad.ravel(), distance))
        state["exp_avg"] *= beta1
        state["exp_avg"] += d * (1 - beta1) * grad
        state["exp_avg_sq"] *= beta2
        state["exp_avg_sq"] += d * d * (1 - beta2) * grad * grad
        state["s"] *= beta3
        weight = d if group["safeguard_warmup"] else dlr
        state["s"] += (d / d0) * weight * grad.ravel()
        denominator += float(np.abs(state["s"]).sum())
    if denominator == 0:                             # no gradient yet
        return
    # Gamma / |Phi|_1: a lower bound on the distance
    d_hat = group["d_coef"] * numerator / denominator
    if d == d0:
        d = max(d, d_hat)
    d_max = max(group["d_max"], d_hat)
    d = min(d_max, d * group["growth_rate"])
    group.update(d_numerator=numerator, d=d, d_max=d_max, d_hat=d_hat, k=k + 1)
    for param, state in zip(params, states):
        state["step"] += 1
        denom = np.sqrt(state["exp_avg_sq"]) + d * group["eps"]
        if decay != 0 and group["decouple"]:
            param += (-decay * dlr) * param
        param -= dlr * state["exp_avg"] / denom


class Prodigy(Optimizer):
    """Prodigy with the ``prodigyopt`` package's signature, defaults and semantics:
    ``Prodigy(params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0,
    decouple=True, use_bias_correction=False, safeguard_warmup=False, d0=1e-6,
    d_coef=1.0, growth_rate=inf, check_finite=False)``. Leave ``lr`` at 1: it multiplies
    the estimated step. ``param_groups[0]["d"]`` is the current estimate."""

    check = staticmethod(check_prodigy_hyperparameters)

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8,
                 weight_decay=0.0, decouple=True, use_bias_correction=False,
                 safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=math.inf, *,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, beta3=beta3, eps=eps,
                                      weight_decay=weight_decay, decouple=decouple,
                                      use_bias_correction=use_bias_correction,
                                      safeguard_warmup=safeguard_warmup, d=d0, d0=d0,
                                      d_max=d0, d_numerator=0.0, d_hat=d0, d_coef=d_coef,
                                      k=0, growth_rate=growth_rate),
                         check_finite=check_finite)

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("Prodigy estimates one step size for all its parameters: give "
                             "it one param group")
        super().add_param_group(param_group)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        self._step_count += 1
        if self.check_finite:
            self._require_finite_gradients()
        group = self.param_groups[0]
        live = [p for p in group["params"] if p.grad is not None]
        prodigy_update([p.data for p in live], [p.grad for p in live],
                       [self.state.setdefault(p, {}) for p in live], group)
        return loss
