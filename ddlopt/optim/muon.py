r"""Muon (Jordan et al., 2024): momentum, orthogonalized, for the weight matrices of hidden
layers.

SGD's momentum matrix :math:`B` of a weight matrix is dominated by a few directions (its
large singular values). Muon replaces it by the nearest semi-orthogonal matrix
:math:`U V^\top` (for :math:`B = U \Sigma V^\top`): every direction gets the same step, the
rare directions included. An SVD per step is too slow; a few Newton–Schulz iterations
:math:`X \leftarrow a X + (b\, X X^\top + c\, (X X^\top)^2) X` on the normalized matrix push
every singular value towards 1 with matrix products only. This only means something for a
matrix, so Muon takes 2-D parameters alone; embeddings, the input and output layers, biases
and norms go to AdamW. torch.optim.Muon's algorithm:

.. math::

    B_t &= \mu B_{t-1} + (1 - \mu)\, G_t, \quad
    \tilde B_t = (1 - \mu)\, G_t + \mu B_t \ \text{(Nesterov) or } B_t\\
    O_t &= \mathrm{NS}^{(a, b, c)}_{k}\big(\tilde B_t / \max(\lVert \tilde B_t \rVert_F, \varepsilon)\big)\\
    \theta_t &= (1 - \gamma\lambda)\,\theta_{t-1} - \gamma\, s(A, B)\, O_t, \quad
    s = \sqrt{\max(1, A/B)} \ \text{("original") or } 0.2\sqrt{\max(A, B)} \ \text{("match_rms_adamw")}

torch runs the iteration in bfloat16; NumPy has no bfloat16, so ``ns_dtype`` chooses the
precision (float64 here by default, bfloat16 in the torch twin).
"""

import math

import numpy as np

from ..params import Parameter
from .adam import keras_adam_update
from .keras import KerasOptimizer
from .optimizer import Optimizer, check_flags, check_hyperparameter

__all__ = ["Muon", "muon_update", "newton_schulz", "adjusted_lr", "check_muon_hyperparameters",
           "NS_COEFFICIENTS", "KerasMuon", "keras_muon_update"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)   # Jordan's quintic: steepest slope at zero
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def check_muon_hyperparameters(group):
    """torch.optim.Muon's checks and messages, and the ones torch makes only at the first
    step (ns_steps < 100, three coefficients), made here at once (shared with the twin)."""
    check_hyperparameter(group["lr"], "lr", message="Learning rate should be >= 0 but is")
    check_hyperparameter(group["momentum"], "momentum", message="momentum should be >= 0 but is")
    check_hyperparameter(group["weight_decay"], "weight_decay",
                         message="weight decay should be >= 0 but is")
    check_hyperparameter(group["eps"], "eps", message="eps should be >= 0 but is")
    if group["adjust_lr_fn"] not in ADJUST_LR_FNS:
        raise ValueError(f"Adjust learning rate function {group['adjust_lr_fn']} is not "
                         f"supported; adjust_lr_fn must be one of {ADJUST_LR_FNS}")
    steps = group["ns_steps"]
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps < 100:
        raise ValueError(f"ns_steps must be an integer in [0, 100), got {steps!r}")
    if not isinstance(group["ns_coefficients"], (tuple, list)) or len(group["ns_coefficients"]) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got "
                         f"{group['ns_coefficients']!r}")
    check_flags(group, "nesterov")


def check_matrices(shapes):
    """Muon orthogonalizes matrices: any other shape is a ValueError (torch's message)."""
    for shape in shapes:
        if len(shape) != 2:
            raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter "
                             f"with size: {tuple(shape)}; give it to AdamW "
                             f"(ddlopt.torch.split_for_muon does)")


def adjusted_lr(lr, adjust_lr_fn, shape):
    """The learning rate for a matrix of ``shape`` (A, B): Jordan's sqrt(max(1, A/B)), or
    Moonshot's 0.2 sqrt(max(A, B)), which matches AdamW's update RMS."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))


def newton_schulz(matrix, steps=5, coefficients=NS_COEFFICIENTS, eps=1e-7,
                  dtype=np.float64):
    """k Newton–Schulz iterations towards the orthogonal factor U V^T of ``matrix``,
    in ``dtype``. A wide orientation keeps the Gram matrix X X^T the small one. The
    coefficients (a, b, c) are the book's (q1, q2, q3)."""
    a, b, c = coefficients
    x = np.asarray(matrix, dtype=dtype)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / max(np.linalg.norm(x), eps)        # singular values now in [0, 1]
    for _ in range(steps):
        gram = x @ x.T
        # an odd polynomial in the singular values
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def muon_update(param, grad, state, *, lr=1e-3, weight_decay=0.1,
                momentum=0.95, nesterov=True, ns_coefficients=NS_COEFFICIENTS,
                eps=1e-7, ns_steps=5, adjust_lr_fn=None, ns_dtype=np.float64):
    """One Muon step on the matrix ``param`` (in place); ``state`` holds
    ``momentum_buffer``."""
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = np.zeros_like(param)
    buf = state["momentum_buffer"]
    buf += (1 - momentum) * (grad - buf)
    direction = grad + momentum * (buf - grad) if nesterov else buf
    orthogonal = newton_schulz(direction, ns_steps, ns_coefficients, eps,
                               ns_dtype)
    param *= 1 - lr * weight_decay
    param -= adjusted_lr(lr, adjust_lr_fn, param.shape) * orthogonal


class Muon(Optimizer):
    """Muon with torch.optim.Muon's signature, defaults and semantics, plus ``ns_dtype``:
    ``Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None,
    ns_dtype=numpy.float64, check_finite=False)``; the update is :func:`muon_update`.
    Matrices only."""

    check = staticmethod(check_muon_hyperparameters)
    update = staticmethod(muon_update)

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None,
                 *, ns_dtype=np.float64, check_finite=False):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=tuple(ns_coefficients),
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn,
                                      ns_dtype=np.dtype(ns_dtype)), check_finite=check_finite)

    def add_param_group(self, param_group):
        if isinstance(param_group, dict):   # anything else: the base's TypeError
            params = param_group.get("params")
            params = [params] if isinstance(params, Parameter) else list(params or [])
            check_matrices([p.data.shape for p in params if isinstance(p, Parameter)])
            param_group = {**param_group, "params": params}
        super().add_param_group(param_group)


def keras_muon_update(param, grad, state, *, learning_rate, adam_beta_1=0.9, adam_beta_2=0.999,
                      epsilon=1e-7, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315,
                      adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2):
    """One step of Keras's Muon: a matrix takes the Muon step, any other shape Keras's Adam
    step (:func:`keras_adam_update`, at ``learning_rate * adam_lr_ratio``). Keras's momentum
    sums gradients (``B = momentum B + G``; torch averages them, ``B = momentum B +
    (1 - momentum) G``), Nesterov's look-ahead is ``G + momentum B``, Newton-Schulz divides
    by ``norm + 1e-7``, and ``rms_rate`` scales the step by ``rms_rate sqrt(max(A, B))``
    (torch's "match_rms_adamw"; None leaves it unscaled)."""
    if param.ndim != 2:
        keras_adam_update(param, grad, state, learning_rate=learning_rate * adam_lr_ratio,
                          beta_1=adam_beta_1, beta_2=adam_beta_2, epsilon=epsilon)
        return
    if "momentum" not in state:
        state["momentum"] = np.zeros_like(param)
    buf = state["momentum"]
    buf *= momentum
    buf += grad
    direction = grad + momentum * buf if nesterov else buf
    # Keras divides by norm + 1e-7 (torch by max(norm, eps)); the norm of what is left is
    # below 1, so newton_schulz's own division, by max(norm, 1.0), is by 1: exact, a no-op
    normalized = direction / (np.linalg.norm(direction) + 1e-7)
    orthogonal = newton_schulz(normalized, ns_steps, (muon_a, muon_b, muon_c), eps=1.0)
    step = learning_rate * orthogonal
    if rms_rate is not None:
        step = step * (np.sqrt(max(param.shape)) * rms_rate)
    param -= step


class KerasMuon(KerasOptimizer):
    """Muon with Keras's names, defaults and formula: ``KerasMuon(params=None,
    learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
    epsilon=1e-7, weight_decay=0.004, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315,
    adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
    **keras_options)``, the update :func:`keras_muon_update`; ``weight_decay`` decays the
    matrices, ``adam_weight_decay`` the rest. What ``ddlopt.optim.get("muon")`` returns.

    Keras chooses Adam for a variable that is not a matrix, and also for one whose *name*
    matches ``exclude_layers`` (or contains "embedding"). ddlopt's parameters have no names,
    so every matrix takes the Muon step, the output layer's too; to give a matrix Adam,
    optimize it with another optimizer."""

    keras_name = "Muon"
    update = staticmethod(keras_muon_update)

    def __init__(self, params=None, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, muon_a=3.4445,
                 muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5,
                 nesterov=True, rms_rate=0.2, exclude_layers=None, exclude_embeddings=True,
                 **keras_options):
        if exclude_layers:
            raise ValueError("exclude_layers matches Keras's variable names, and ddlopt's "
                             "parameters have none: give the excluded matrices to another "
                             "optimizer (KerasAdamW)")
        super().__init__(params, dict(
            lr=learning_rate, adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2,
            adam_weight_decay=adam_weight_decay, epsilon=epsilon, muon_a=muon_a,
            muon_b=muon_b, muon_c=muon_c, adam_lr_ratio=adam_lr_ratio, momentum=momentum,
            ns_steps=ns_steps, nesterov=nesterov, rms_rate=rms_rate),
            weight_decay=weight_decay, **keras_options)
        self._algorithm.remove("adam_weight_decay")   # the base decays the weights

    def check_keras(self, group):
        for name in ("adam_beta_1", "adam_beta_2"):
            check_hyperparameter(group[name], name, high=1.0, inclusive_high=False)
        for name in ("epsilon", "adam_lr_ratio", "momentum"):
            check_hyperparameter(group[name], name)
        for name in ("adam_weight_decay", "rms_rate"):   # None switches them off
            if group[name] is not None:
                check_hyperparameter(group[name], name)
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"ns_steps must be a non-negative integer, got {steps!r}")
        for name in ("muon_a", "muon_b", "muon_c"):
            check_hyperparameter(group[name], name, low=-np.inf)
        check_flags(group, "nesterov")

    def weight_decay_of(self, p, group):
        return group["weight_decay"] if p.data.ndim == 2 else group["adam_weight_decay"]
