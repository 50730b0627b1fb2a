"""Lion as a torch.optim.Optimizer: the twin of ddlopt.optim.Lion."""

import functools

import torch

from ..optim.lion import check_lion_hyperparameters
from ._base import TwinOptimizer

__all__ = ["Lion"]


class Lion(TwinOptimizer):
    """``Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, foreach=None,
    check_finite=False)``: the ``lion-pytorch`` package's algorithm (see ddlopt.optim.lion)."""

    check = staticmethod(check_lion_hyperparameters)

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, foreach=None,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        exp_avgs = [s["exp_avg"] for s in states]
        if foreach:
            torch._foreach_mul_(params, 1 - lr * wd)
            signs = torch._foreach_mul(exp_avgs, beta1)
            torch._foreach_add_(signs, grads, alpha=1 - beta1)
            torch._foreach_sign_(signs)
            torch._foreach_add_(params, signs, alpha=-lr)
            torch._foreach_mul_(exp_avgs, beta2)
            torch._foreach_add_(exp_avgs, grads, alpha=1 - beta2)
            return
        for p, g, m in zip(params, grads, exp_avgs):
            p.mul_(1 - lr * wd)
            p.add_(m.mul(beta1).add_(g, alpha=1 - beta1).sign_(), alpha=-lr)
            m.mul_(beta2).add_(g, alpha=1 - beta2)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
