r"""Schedule-Free AdamW (Defazio et al., 2024, "The Road Less Scheduled").

A learning-rate schedule that decays to zero needs the length of the run in advance.
Schedule-Free needs none: it keeps a base sequence :math:`z` (plain AdamW-normalized
steps at a constant rate), evaluates the gradient at an interpolation :math:`y` between
:math:`z` and the running average :math:`x` of the :math:`z`'s, and returns :math:`x`.
Averaging does what the decaying schedule did. The algorithm of the ``schedulefree``
package (its ``AdamWScheduleFree``, which the tests use as the reference):

.. math::

    \gamma_t &= \gamma \min(1, t / T_{\text{warmup}}), \quad
    w_t = t^r \,(\max_{s \le t} \gamma_s)^{p}, \quad c_t = w_t / \textstyle\sum_{s \le t} w_s\\
    v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \quad
    \hat g_t = \frac{g_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon} + \lambda\, y_t
        \quad\text{(gradient at } y_t)\\
    z_{t+1} &= z_t - \gamma_t\, \hat g_t, \quad
    x_{t+1} = (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1}\\
    y_{t+1} &= (1 - \beta_1)\, z_{t+1} + \beta_1\, x_{t+1}

The parameters hold :math:`y` while training. ``eval()`` moves them to :math:`x` (the point
to evaluate and to save), ``train()`` back to :math:`y`: call them as you call
``model.train()`` / ``model.eval()``. The package updates :math:`y` in place without storing
:math:`x` (it is recovered from :math:`y` and :math:`z`); so does this code.
"""

import numpy as np

from .adam import check_adam_hyperparameters
from .keras import KerasOptimizer
from .optimizer import Optimizer, check_hyperparameter

__all__ = ["AdamWScheduleFree", "schedule_free_adamw_update", "advance_schedule",
           "check_schedule_free_hyperparameters", "KerasScheduleFreeAdamW",
           "keras_schedule_free_adamw_update"]

NOT_IN_TRAIN_MODE = ("AdamWScheduleFree.step() was called in eval mode: call "
                     "optimizer.train() before training and optimizer.eval() before evaluating")


def check_schedule_free_hyperparameters(group):
    """lr, betas, eps, weight_decay as Adam's; beta1 > 0 (eval() divides by it), a
    non-negative integer warmup_steps, r >= 0 and weight_lr_power >= 0."""
    check_adam_hyperparameters(group)
    if group["betas"][0] == 0:
        raise ValueError("Invalid beta parameter at index 0: 0.0 (Schedule-Free needs "
                         "beta1 > 0: eval() divides by it)")
    warmup = group["warmup_steps"]
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)):
        raise TypeError(f"warmup_steps must be an integer, got {warmup!r}")
    check_hyperparameter(warmup, "warmup_steps")
    check_hyperparameter(group["r"], "r")
    check_hyperparameter(group["weight_lr_power"], "weight_lr_power")


def advance_schedule(group):
    """Count one step of a param group (in the group, as the package does); returns
    the step's learning rate (with warm-up), the averaging weight xi_t (the paper's
    c_t) and 1 - beta2^t."""
    k, warmup = group["k"], group["warmup_steps"]
    lr = group["lr"] * ((k + 1) / warmup if k < warmup else 1.0)
    group["scheduled_lr"] = lr
    group["lr_max"] = max(lr, group["lr_max"])
    weight = (k + 1) ** group["r"] * group["lr_max"] ** group["weight_lr_power"]
    group["weight_sum"] += weight
    total = group["weight_sum"]
    average_weight = weight / total if total != 0 else 0.0
    group["k"] = k + 1
    return lr, average_weight, 1 - group["betas"][1] ** (k + 1)


def schedule_free_adamw_update(y, grad, state, *, lr, average_weight,
                               bias_correction2, betas=(0.9, 0.999), eps=1e-8,
                               weight_decay=0.0):
    """One Schedule-Free AdamW step on the parameters ``y`` (in place), given the
    group's ``lr``, ``average_weight`` xi and ``bias_correction2`` from
    :func:`advance_schedule`. ``state`` holds ``z`` (zeta in the book) and
    ``exp_avg_sq``."""
    beta1, beta2 = betas
    if "z" not in state:
        state["z"] = y.copy()
        state["exp_avg_sq"] = np.zeros_like(y)
    z, exp_avg_sq = state["z"], state["exp_avg_sq"]
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    # AdamW-normalized
    grad = grad / (np.sqrt(exp_avg_sq / bias_correction2) + eps)
    if weight_decay != 0:
        grad = grad + weight_decay * y               # decay taken at y
    # y moves to its next value without x: y <- lerp(y, z, xi), then the step
    y += average_weight * (z - y)
    y += lr * (beta1 * (1 - average_weight) - 1) * grad
    z -= lr * grad


def move_between_y_and_x(param, z, beta1, to_x):
    """``eval()``: y -> x = (y - (1 - beta1) z) / beta1; ``train()``: x -> y."""
    param += ((1 - 1 / beta1) if to_x else (1 - beta1)) * (z - param)


class TrainEvalModes:
    """``train()`` and ``eval()`` of both Schedule-Free optimizers (NumPy and torch), which
    differ only in ``_move(param, z, beta1, to_x)``, the one line that moves a parameter."""

    def _switch(self, to_train):
        for group in self.param_groups:
            if group["train_mode"] != to_train:
                for p in group["params"]:
                    state = self.state.get(p)  # a parameter never stepped has no z: stays
                    if state and "z" in state:
                        self._move(p, state["z"], group["betas"][0], to_x=not to_train)
                group["train_mode"] = to_train

    def train(self):
        """Put the parameters at y, where the gradients are taken."""
        self._switch(True)

    def eval(self):
        """Put the parameters at x, the average: evaluate and save here."""
        self._switch(False)

    def _require_train_mode(self):
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(NOT_IN_TRAIN_MODE)


class AdamWScheduleFree(TrainEvalModes, Optimizer):
    """Schedule-Free AdamW with the ``schedulefree`` package's signature, defaults and
    semantics: ``AdamWScheduleFree(params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, warmup_steps=0, r=0.0, weight_lr_power=2.0, check_finite=False)``.

    It starts in eval mode, as the package does: call ``train()`` before the first step,
    ``eval()`` before evaluating or saving.
    """

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 warmup_steps=0, r=0.0, weight_lr_power=2.0, *, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas,
                                      eps=eps, r=r, k=0, warmup_steps=warmup_steps,
                                      train_mode=False, weight_sum=0.0, lr_max=-1.0,
                                      scheduled_lr=0.0, weight_lr_power=weight_lr_power,
                                      weight_decay=weight_decay), check_finite=check_finite)

    check = staticmethod(check_schedule_free_hyperparameters)

    @staticmethod
    def _move(p, z, beta1, to_x):
        move_between_y_and_x(p.data, z, beta1, to_x)

    def step(self, closure=None):
        self._require_train_mode()
        loss = closure() if closure is not None else None
        self._step_count += 1
        if self.check_finite:
            self._require_finite_gradients()
        for group in self.param_groups:
            lr, average_weight, bias_correction2 = advance_schedule(group)
            for p in group["params"]:
                if p.grad is not None:
                    schedule_free_adamw_update(
                        p.data, p.grad, self.state.setdefault(p, {}), lr=lr,
                        average_weight=average_weight, bias_correction2=bias_correction2,
                        betas=group["betas"], eps=group["eps"],
                        weight_decay=group["weight_decay"])
        return loss


def keras_schedule_free_adamw_update(param, grad, state, *, learning_rate, beta_1=0.9,
                                     beta_2=0.999, epsilon=1e-8, warmup_steps=0):
    """One step of Keras's ScheduleFreeAdamW on ``param`` (y, in place). ``state`` holds
    ``step``, ``z`` (Keras's "momentum", which starts as a copy of the parameter) and ``v``.

    A simpler scheme than the package's: the average weight is 1/t (no learning-rate
    weighting), the weight decay is Keras's common one on y before the step (not
    inside the gradient), and there is no train/eval switch (the parameters always hold y;
    x = (y - (1 - beta_1) z) / beta_1 is recovered when needed)."""
    state["step"] += 1
    t = state["step"]
    if warmup_steps > 0:
        learning_rate = learning_rate * min(t / warmup_steps, 1.0)
    z, v = state["z"], state["v"]
    x = (param - (1 - beta_1) * z) / beta_1                  # the average, before this step
    v += (grad * grad - v) * (1 - beta_2)
    z -= learning_rate * grad / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
    x = (1 - 1 / t) * x + (1 / t) * z                        # x_t: the mean of z_1 .. z_t
    param[...] = (1 - beta_1) * z + beta_1 * x


class KerasScheduleFreeAdamW(KerasOptimizer):
    """Schedule-Free AdamW with Keras's names, defaults and formula:
    ``KerasScheduleFreeAdamW(params=None, learning_rate=0.0025, beta_1=0.9, beta_2=0.999,
    epsilon=1e-8, warmup_steps=0, **keras_options)``, the update
    :func:`keras_schedule_free_adamw_update`. What ``ddlopt.optim.get("schedulefreeadamw")``
    returns; the package's algorithm is :class:`AdamWScheduleFree`."""

    keras_name = "ScheduleFreeAdamW"
    default_learning_rate = 0.0025
    update = staticmethod(keras_schedule_free_adamw_update)

    def __init__(self, params=None, learning_rate=0.0025, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, warmup_steps=0, **keras_options):
        super().__init__(params, dict(lr=learning_rate, beta_1=beta_1, beta_2=beta_2,
                                      epsilon=epsilon, warmup_steps=warmup_steps),
                         **keras_options)

    def check_keras(self, group):
        check_hyperparameter(group["beta_1"], "beta_1", high=1.0)
        if group["beta_1"] == 0:
            raise ValueError("Invalid beta_1 value: 0 (x = (y - (1 - beta_1) z) / beta_1 "
                             "divides by it)")
        check_hyperparameter(group["beta_2"], "beta_2", high=1.0, inclusive_high=False)
        check_hyperparameter(group["epsilon"], "epsilon")
        warmup = group["warmup_steps"]
        if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)):
            raise TypeError(f"warmup_steps must be an integer, got {warmup!r}")
        check_hyperparameter(warmup, "warmup_steps")

    def _update(self, p, grad, state, group):
        if "z" not in state:   # Keras copies the parameter when it builds, before any decay
            state.update(step=0, z=p.data.copy(), v=np.zeros_like(p.data))
        super()._update(p, grad, state, group)
