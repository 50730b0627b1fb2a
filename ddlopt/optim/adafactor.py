r"""Adafactor (Shazeer and Stern, 2018): Adam's second moment in sublinear memory.

For an :math:`n \times m` weight matrix Adam keeps :math:`nm` second-moment numbers.
Adafactor keeps a row average :math:`R \in \mathbb{R}^{n}` and a column average
:math:`C \in \mathbb{R}^{m}` of :math:`g^2` and rebuilds the matrix as the rank-one
:math:`\hat V = R C^\top / \operatorname{mean}(R)`: :math:`n + m` numbers. It drops the first
moment, grows :math:`\beta_2` with the step, scales the step by the parameter's RMS and
clips the update's RMS to :math:`d`. torch.optim.Adafactor's algorithm (parameters with
two or more dimensions are factored over their last two):

.. math::

    \hat\beta_{2,t} &= 1 - t^{\tau}, \quad \rho_t = \min(\gamma, 1/\sqrt t), \quad
        \alpha_t = \max(\epsilon_2, \operatorname{RMS}(\theta_{t-1}))\, \rho_t\\
    \theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1} \quad\text{(decoupled decay)}\\
    R_t &= \hat\beta_{2,t} R_{t-1} + (1 - \hat\beta_{2,t})\, \operatorname{mean}_{\text{cols}}(g_t^2),
    \quad C_t = \hat\beta_{2,t} C_{t-1} + (1 - \hat\beta_{2,t})\, \operatorname{mean}_{\text{rows}}(g_t^2)\\
    \hat V_t &= \frac{R_t C_t}{\max(\operatorname{mean}(R_t), \epsilon_1)}
        \quad\text{(vectors: } \hat V_t = \hat\beta_{2,t} \hat V_{t-1} + (1 - \hat\beta_{2,t})\, g_t^2)\\
    U_t &= \frac{g_t}{\sqrt{\max(\hat V_t, \epsilon_1^2)}}, \quad
    \theta_t = \theta_{t-1} - \frac{\alpha_t}{\max(1, \operatorname{RMS}(U_t)/d)}\, U_t
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Adafactor", "adafactor_update", "check_adafactor_hyperparameters", "KerasAdafactor",
           "keras_adafactor_update"]


def check_adafactor_hyperparameters(group):
    """torch.optim.Adafactor's checks and messages (shared with the PyTorch twin)."""
    check_hyperparameter(group["lr"], "lr", message="Learning rate should be >= 0 but is")
    check_hyperparameter(group["beta2_decay"], "beta2_decay", low=-np.inf, high=0.0,
                         message="beta2_decay should be <= 0 but is")
    eps = group["eps"]
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        raise TypeError(f"eps must be a pair (epsilon1 or None, epsilon2), got {eps!r}")
    if eps[0] is not None:
        check_hyperparameter(eps[0], "eps[0]", message="epsilon1 should be >= 0 but is")
    check_hyperparameter(eps[1], "eps[1]", message="epsilon2 should be >= 0 but is")
    check_hyperparameter(group["d"], "d", low=1.0,
                         message="Clipping threshold d should be >= 1 but is")
    check_hyperparameter(group["weight_decay"], "weight_decay",
                         message="weight_decay should be >= 0 but is")
    check_flags(group, "maximize")


def _rms(x):
    return np.linalg.norm(x) / np.sqrt(x.size)


def factored_shapes(shape):
    """The shapes of the row and column factors of a parameter of ``shape`` (ndim >= 2)."""
    return shape[:-1] + (1,), shape[:-2] + (1,) + shape[-1:]


def adafactor_update(param, grad, state, *, lr=1e-2, beta2_decay=-0.8,
                     eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False):
    """One Adafactor step on ``param`` (in place). ``state`` holds ``step`` and either
    ``row_var`` and ``col_var`` (the factors R and C, for ndim >= 2) or ``variance``
    (vectors). ``d`` is the clipping threshold of the update's RMS (chi in the book)."""
    factored = param.ndim > 1
    if "step" not in state:
        state["step"] = 0
        if factored:
            row_shape, col_shape = factored_shapes(param.shape)
            state["row_var"] = np.zeros(row_shape)
            state["col_var"] = np.zeros(col_shape)
        else:
            state["variance"] = np.zeros_like(param)
    eps1, eps2 = eps
    if eps1 is None:
        eps1 = np.finfo(param.dtype).eps
    state["step"] += 1
    t = state["step"]
    if maximize:
        grad = -grad
    one_minus_beta2 = t**beta2_decay    # 1 - beta2_t: beta2_t grows towards 1
    relative_step = min(lr, 1 / t**0.5)
    # steps relative to the parameter's size
    alpha = max(eps2, _rms(param)) * relative_step
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    grad_squared = grad * grad
    if factored:
        row_var, col_var = state["row_var"], state["col_var"]
        row_mean = grad_squared.mean(axis=-1, keepdims=True)
        col_mean = grad_squared.mean(axis=-2, keepdims=True)
        row_var += one_minus_beta2 * (row_mean - row_var)
        col_var += one_minus_beta2 * (col_mean - col_var)
        # rank one: R C / mean(R)
        mean_row = np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        var_estimate = row_var @ col_var / mean_row
    else:
        variance = state["variance"]
        variance += one_minus_beta2 * (grad_squared - variance)
        var_estimate = variance
    update = grad / np.sqrt(np.maximum(var_estimate, eps1 * eps1))
    param -= alpha / max(1.0, _rms(update) / d) * update   # RMS clipped at d


class Adafactor(Optimizer):
    """Adafactor with torch.optim.Adafactor's signature, defaults and semantics:
    ``Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0, maximize=False, check_finite=False)``; the update is
    :func:`adafactor_update`. ``eps[0] = None`` means the machine epsilon of the parameter's
    dtype. Weight decay is decoupled, as in torch."""

    check = staticmethod(check_adafactor_hyperparameters)
    update = staticmethod(adafactor_update)

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay,
                                      eps=tuple(eps) if isinstance(eps, list) else eps, d=d,
                                      weight_decay=weight_decay, maximize=maximize),
                         check_finite=check_finite)

    def _state_shape(self, key, shape):
        if key in ("row_var", "col_var"):
            return factored_shapes(shape)[key == "col_var"]
        return shape


def keras_adafactor_update(param, grad, state, *, learning_rate, beta_2_decay=-0.8,
                           epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                           relative_step=True):
    """One step of Keras's Adafactor. The parts are torch's (:func:`adafactor_update`); the
    details differ: ``epsilon_1`` is added to g^2 (torch floors the estimate at eps1^2
    instead), the rank-one estimate divides R by its mean before the product, and the
    relative step min(lr, 1/sqrt(t)) is taken whatever ``relative_step`` says (Keras 3.15
    applies it twice when True, once when False: the same number)."""
    factored = param.ndim >= 2
    if "step" not in state:
        state["step"] = 0
        if factored:   # the row and column averages of g^2, as Keras shapes them
            state["row_var"] = np.zeros(param.shape[:-1])
            state["col_var"] = np.zeros(param.shape[:-2] + param.shape[-1:])
        else:
            state["variance"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    alpha = max(epsilon_2, _rms(param)) * min(learning_rate, 1 / np.sqrt(t))
    beta_2 = 1 - t**beta_2_decay
    grad_squared = grad * grad + epsilon_1
    if factored:
        row_var, col_var = state["row_var"], state["col_var"]
        row_var[...] = beta_2 * row_var + (1 - beta_2) * grad_squared.mean(axis=-1)
        col_var[...] = beta_2 * col_var + (1 - beta_2) * grad_squared.mean(axis=-2)
        row_share = row_var / row_var.mean(axis=-1, keepdims=True)
        var_estimate = row_share[..., :, None] * col_var[..., None, :]
    else:
        variance = state["variance"]
        variance[...] = beta_2 * variance + (1 - beta_2) * grad_squared
        var_estimate = variance
    update = grad / np.sqrt(var_estimate)
    param -= alpha * (update / max(1.0, _rms(update) / clip_threshold))


class KerasAdafactor(KerasOptimizer):
    """Adafactor with Keras's names, defaults and formula: ``KerasAdafactor(params=None,
    learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
    clip_threshold=1.0, relative_step=True, **keras_options)``, the update
    :func:`keras_adafactor_update`. What ``ddlopt.optim.get("adafactor")`` returns."""

    keras_name = "Adafactor"
    update = staticmethod(keras_adafactor_update)

    def __init__(self, params=None, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, **keras_options):
        super().__init__(params, dict(lr=learning_rate, beta_2_decay=beta_2_decay,
                                      epsilon_1=epsilon_1, epsilon_2=epsilon_2,
                                      clip_threshold=clip_threshold,
                                      relative_step=relative_step), **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["beta_2_decay"], "beta_2_decay", low=-np.inf, high=0.0)
        check_hyperparameter(group["epsilon_1"], "epsilon_1")
        check_hyperparameter(group["epsilon_2"], "epsilon_2")
        check_hyperparameter(group["clip_threshold"], "clip_threshold")
        if group["clip_threshold"] == 0:
            raise ValueError("Invalid clip_threshold value: 0 (it divides the update's RMS)")
        check_flags(group, "relative_step")

    def _state_shape(self, key, shape):
        if key == "row_var":
            return shape[:-1]
        if key == "col_var":
            return shape[:-2] + shape[-1:]
        return shape
