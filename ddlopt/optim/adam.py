r"""Adam and its family: AMSGrad, AdamW (decoupled weight decay), NAdam, and Keras's Adam.

Adam (Kingma and Ba, 2015) is momentum on the gradient plus RMSprop's scaling, with both
moving averages corrected for starting at zero. torch.optim.Adam's algorithm:

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1}
        \quad\text{(L2; AdamW instead: } \theta_{t-1} \leftarrow (1 - \gamma\lambda)\,\theta_{t-1})\\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t          && \text{(first moment)}\\
    v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2        && \text{(second moment)}\\
    \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(AMSGrad) or } v_t\\
    \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\,
        \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1 - \beta_2^t} + \epsilon}  && \text{(bias-corrected step)}
"""

import numpy as np

from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Adam", "AdamW", "adam_update", "adam_update_in_chunks", "adam_scratch",
           "decay_weights", "NAdam", "nadam_update", "KerasAdam",
           "keras_adam_update", "check_adam_hyperparameters", "KerasAdamW", "KerasNadam",
           "keras_nadam_update", "KerasAdamFamily"]


def check_betas(betas, inclusive_high):
    """A pair of averaging coefficients in [0, 1) (torch's Adam family) or [0, 1] (Lion),
    with torch's message."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        check_hyperparameter(beta, f"betas[{i}]", high=1.0, inclusive_high=inclusive_high,
                             message=f"Invalid beta parameter at index {i}")


def check_adam_hyperparameters(group):
    """torch.optim.Adam's checks and messages (shared by AdamW, NAdam and the torch twins)."""
    check_hyperparameter(group["lr"], "lr", message="Invalid learning rate")
    check_hyperparameter(group["eps"], "eps", message="Invalid epsilon value")
    check_betas(group["betas"], inclusive_high=False)
    check_hyperparameter(group["weight_decay"], "weight_decay")
    if "momentum_decay" in group:
        check_hyperparameter(group["momentum_decay"], "momentum_decay")
    check_flags(group, "amsgrad", "maximize", "decoupled_weight_decay")


def decay_weights(param, grad, lr, weight_decay, decoupled):
    """Weight decay, two ways: decoupled (AdamW) shrinks ``param`` in place by
    ``1 - lr * weight_decay``; otherwise (L2) ``weight_decay * param`` joins the gradient.
    Returns the gradient to use."""
    if weight_decay == 0:
        return grad
    if decoupled:
        param *= 1 - lr * weight_decay
        return grad
    return grad + weight_decay * param


def adam_update(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8,
                weight_decay=0.0, amsgrad=False, maximize=False,
                decoupled_weight_decay=False):
    """One Adam step on ``param`` (in place). ``state`` holds ``step``, ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, for AMSGrad, ``max_exp_avg_sq``."""
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
        if amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         decoupled_weight_decay)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)      # m = beta1 m + (1 - beta1) g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad    # v = beta2 v + (1 - beta2) g^2
    if amsgrad:
        second = state["max_exp_avg_sq"]
        np.maximum(second, exp_avg_sq, out=second)
    else:
        second = exp_avg_sq
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    denom = np.sqrt(second) / bias_correction2**0.5 + eps
    param -= (lr / bias_correction1) * exp_avg / denom


SMALL = 4096     # arrays below this size take adam_update: their temporaries are small
CHUNK = 1 << 16  # elements per chunk: a chunk of each array (256 KiB in float32) stays in cache


def adam_update_in_chunks(param, grad, state, scratch, *, lr,
                          betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                          amsgrad=False, maximize=False,
                          decoupled_weight_decay=False):
    """:func:`adam_update`, bit for bit, without allocating: the fast path the class takes.

    The readable version makes a temporary array for each operation and walks the whole of
    each array a dozen times. This one walks them in chunks of CHUNK elements, doing all the
    operations on a chunk while it is in cache, with every temporary written into
    ``scratch`` (three rows from :func:`adam_scratch`, allocated once): param, grad and the
    moments travel from memory about once per step, and nothing is allocated. The
    operations are adam_update's, in its order, hence the same bits. (Lines kept within
    80 columns: chapter 10 prints this code.)
    """
    beta1, beta2 = betas
    if "exp_avg" not in state:  # the first step: the state, as in adam_update
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
        if amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    step_size = lr / (1 - beta1**t)
    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
    arrays = [param, grad, state["exp_avg"], state["exp_avg_sq"]]
    if amsgrad:
        arrays.append(state["max_exp_avg_sq"])
    flat = [a.reshape(-1) for a in arrays]  # views: C-contiguous (checked)
    for start in range(0, param.size, CHUNK):
        p, g, m, v, *mx = (a[start:start + CHUNK] for a in flat)
        decayed, tmp, denom = (row[:p.size] for row in scratch)
        if maximize:
            g = np.negative(g, out=decayed)
        if weight_decay != 0 and decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = np.add(g, np.multiply(weight_decay, p, out=tmp), out=decayed)
        # m += (1 - b1)(g - m)
        m += np.multiply(1 - beta1, np.subtract(g, m, out=tmp), out=tmp)
        v *= beta2
        # v = b2 v + (1 - b2) g g
        v += np.multiply(np.multiply(1 - beta2, g, out=tmp), g, out=tmp)
        second = np.maximum(mx[0], v, out=mx[0]) if amsgrad else v
        np.divide(np.sqrt(second, out=denom), bias_correction2_sqrt, out=denom)
        denom += eps
        p -= np.divide(np.multiply(step_size, m, out=tmp), denom, out=tmp)


def adam_scratch(dtype):
    """The fixed scratch of :func:`adam_update_in_chunks`, made once per optimizer and dtype:
    three rows of CHUNK values."""
    return np.empty((3, CHUNK), dtype)


def nadam_update(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, momentum_decay=4e-3, maximize=False,
                 decoupled_weight_decay=False):
    """One NAdam step (Dozat, 2016), torch's form: Adam with a Nesterov look-ahead on the
    first moment and a momentum schedule mu_t = beta1 (1 - 0.96^(t psi) / 2).

    The product of the mu_t is kept in float64 here; torch keeps it in its default dtype
    (float32 unless set otherwise), which moves its steps by about 1e-7 relative.
    """
    beta1, beta2 = betas
    if "exp_avg" not in state:
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    grad = decay_weights(param, -grad if maximize else grad, lr, weight_decay,
                         decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    state["mu_product"] *= mu
    mu_product = state["mu_product"]
    mu_product_next = mu_product * mu_next
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = np.sqrt(exp_avg_sq / (1 - beta2**t)) + eps
    param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom
    param += (-lr * mu_next / (1.0 - mu_product_next)) * exp_avg / denom


class Adam(Optimizer):
    """Adam with torch.optim.Adam's signature, defaults and semantics: ``Adam(params,
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
    decoupled_weight_decay=False, check_finite=False)``; the update is :func:`adam_update`.
    """

    check = staticmethod(check_adam_hyperparameters)
    update = staticmethod(adam_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay),
                         check_finite=check_finite)

    def _update(self, p, grad, state, group):
        """The chunked, allocation-free twin of :func:`adam_update` for large C-ordered float
        arrays; adam_update itself for the rest (small arrays, where the chunk loop's Python
        overhead costs more than their temporaries). The same bits either way."""
        data = p.data
        if not (data.size >= SMALL and data.flags.c_contiguous and grad.flags.c_contiguous
                and grad.dtype == data.dtype and data.dtype in (np.float32, np.float64)
                and grad.shape == data.shape):
            return super()._update(p, grad, state, group)
        scratch = self.__dict__.setdefault("_scratch", {})
        if data.dtype not in scratch:
            scratch[data.dtype] = adam_scratch(data.dtype)
        adam_update_in_chunks(data, grad, state, scratch[data.dtype],
                              **self._hyperparameters(group))


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter, 2019): Adam with *decoupled* weight decay, the weights
    multiplied by ``1 - lr * weight_decay`` each step instead of an L2 term in the gradient.
    torch.optim.AdamW's signature and defaults (``weight_decay=1e-2``)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, check_finite=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         check_finite=check_finite)


class NAdam(Optimizer):
    """NAdam with torch.optim.NAdam's signature, defaults and semantics: ``NAdam(params,
    lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, maximize=False, check_finite=False)``."""

    check = staticmethod(check_adam_hyperparameters)
    update = staticmethod(nadam_update)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay),
                         check_finite=check_finite)



def keras_adam_update(param, grad, state, *, learning_rate, beta_1=0.9, beta_2=0.999,
                      epsilon=1e-7, amsgrad=False):
    """One step of Keras's Adam (keras.optimizers.Adam): the bias corrections are folded
    into the learning rate, so epsilon is added to the *uncorrected* root ("epsilon hat")."""
    if "m" not in state:
        state["step"], state["m"], state["v"] = 0, np.zeros_like(param), np.zeros_like(param)
        state["v_hat"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    m, v = state["m"], state["v"]
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m += (grad - m) * (1 - beta_1)
    v += (grad * grad - v) * (1 - beta_2)
    if amsgrad:
        np.maximum(state["v_hat"], v, out=state["v_hat"])
        v = state["v_hat"]
    param -= m * alpha / (np.sqrt(v) + epsilon)


class KerasAdamFamily(KerasOptimizer):
    """What Keras's Adam, Nadam and Adamax share: ``(params=None, learning_rate=0.001,
    beta_1=0.9, beta_2=0.999, epsilon=1e-7, **keras_options)`` and their checks; a subclass
    names its ``keras_name`` and ``update``."""

    def __init__(self, params=None, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, **keras_options):
        super().__init__(params, dict(lr=learning_rate, beta_1=beta_1, beta_2=beta_2,
                                      epsilon=epsilon), **keras_options)

    def check_keras(self, group):
        for name in ("beta_1", "beta_2"):
            check_hyperparameter(group[name], name, high=1.0, inclusive_high=False)
        check_hyperparameter(group["epsilon"], "epsilon")
        check_flags(group, "amsgrad")


class KerasAdam(KerasAdamFamily):
    """Adam with Keras's names, defaults and formula: ``KerasAdam(params=None,
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
    **keras_options)``, the update :func:`keras_adam_update`; the Keras options (``lr``,
    legacy ``decay``, decoupled ``weight_decay``, clipping, ``epsilon=None`` for 1e-7) are
    :class:`~ddlopt.optim.keras.KerasOptimizer`'s.

    What ``ddlopt.optim.get("adam")`` returns. It equals :class:`Adam` with
    ``eps = epsilon / sqrt(1 - beta_2^t)``: 32 times ``epsilon`` at the first step (with
    beta_2 = 0.999), falling towards ``epsilon`` as the bias correction fades.
    """

    keras_name = "Adam"
    update = staticmethod(keras_adam_update)

    def __init__(self, params=None, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **keras_options):
        KerasOptimizer.__init__(self, params, dict(lr=learning_rate, beta_1=beta_1,
                                                   beta_2=beta_2, epsilon=epsilon,
                                                   amsgrad=amsgrad), **keras_options)


class KerasAdamW(KerasAdam):
    """Keras's AdamW: :class:`KerasAdam` with decoupled ``weight_decay=0.004`` (Keras's
    default; every Keras optimizer decays this way when given a weight_decay). Note that
    torch's AdamW uses the torch Adam formula and ``weight_decay=0.01``.
    ``KerasAdamW(params=None, learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
    beta_2=0.999, epsilon=1e-7, amsgrad=False, **keras_options)``."""

    keras_name = "AdamW"

    def __init__(self, params=None, learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-7, amsgrad=False, **keras_options):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a number), got None")
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **keras_options)


def keras_nadam_update(param, grad, state, *, learning_rate, beta_1=0.9, beta_2=0.999,
                       epsilon=1e-7):
    """One step of Keras 3's Nadam: torch's NAdam (:func:`nadam_update`) with
    ``momentum_decay=1``. Keras 3 schedules the momentum as mu_t = beta_1 (1 - 0.96^t / 2),
    which reaches beta_1 within a few hundred steps; Dozat's paper, torch and Keras 2 use
    0.96^(0.004 t), tens of thousands."""
    nadam_update(param, grad, state, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                 momentum_decay=1.0)


class KerasNadam(KerasAdamFamily):
    """Nadam with Keras's names, defaults and formula: ``KerasNadam(params=None,
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **keras_options)``, the
    update :func:`keras_nadam_update`. What ``ddlopt.optim.get("nadam")`` returns."""

    keras_name = "Nadam"
    update = staticmethod(keras_nadam_update)
