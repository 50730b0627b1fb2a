"""Adamax as a torch.optim.Optimizer: the twin of ddlopt.optim.Adamax."""

import functools

import torch

from ..optim.adam import check_adam_hyperparameters
from ._base import TwinOptimizer
from .adadelta import _zeros
from .adam import _count_step_and_decay

__all__ = ["Adamax"]


class Adamax(TwinOptimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None,
    maximize=False, check_finite=False)``: torch.optim.Adamax's algorithm (see
    ddlopt.optim.adamax)."""

    check = staticmethod(check_adam_hyperparameters)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, maximize=maximize),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        state["exp_avg"], state["exp_inf"] = _zeros(p), _zeros(p)

    def _update(self, params, grads, states, group, foreach):
        beta1, beta2 = group["betas"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        exp_avgs = [s["exp_avg"] for s in states]
        exp_infs = [s["exp_inf"] for s in states]
        step_sizes = [-group["lr"] / (1 - beta1 ** s["step"].item()) for s in states]
        if foreach:
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_infs, beta2)
            bounds = torch._foreach_abs(grads)
            torch._foreach_add_(bounds, group["eps"])
            torch._foreach_maximum_(exp_infs, bounds)
            torch._foreach_addcdiv_(params, exp_avgs, exp_infs, step_sizes)
            return
        for p, g, m, u, size in zip(params, grads, exp_avgs, exp_infs, step_sizes):
            m.lerp_(g, 1 - beta1)
            torch.maximum(u.mul_(beta2), g.abs().add_(group["eps"]), out=u)
            p.addcdiv_(m, u, value=size)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
