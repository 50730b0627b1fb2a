"""Adadelta as a torch.optim.Optimizer: the twin of ddlopt.optim.Adadelta."""

import functools

import torch

from ..optim.adadelta import check_adadelta_hyperparameters
from ._base import TwinOptimizer
from .adam import _count_step_and_decay

__all__ = ["Adadelta"]


def _zeros(p):
    return torch.zeros_like(p, memory_format=torch.preserve_format)


class Adadelta(TwinOptimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None,
    maximize=False, check_finite=False)``: torch.optim.Adadelta's algorithm (see
    ddlopt.optim.adadelta)."""

    check = staticmethod(check_adadelta_hyperparameters)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize), foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        state["square_avg"], state["acc_delta"] = _zeros(p), _zeros(p)

    def _update(self, params, grads, states, group, foreach):
        rho, eps = group["rho"], group["eps"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        square_avgs = [s["square_avg"] for s in states]
        acc_deltas = [s["acc_delta"] for s in states]
        if foreach:
            torch._foreach_mul_(square_avgs, rho)
            torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - rho)
            std = torch._foreach_add(square_avgs, eps)
            torch._foreach_sqrt_(std)
            deltas = torch._foreach_add(acc_deltas, eps)
            torch._foreach_sqrt_(deltas)
            torch._foreach_div_(deltas, std)
            torch._foreach_mul_(deltas, grads)
            torch._foreach_mul_(acc_deltas, rho)
            torch._foreach_addcmul_(acc_deltas, deltas, deltas, value=1 - rho)
            torch._foreach_add_(params, deltas, alpha=-group["lr"])
            return
        for p, g, v, u in zip(params, grads, square_avgs, acc_deltas):
            v.mul_(rho).addcmul_(g, g, value=1 - rho)
            delta = u.add(eps).sqrt_().div_(v.add(eps).sqrt_()).mul_(g)
            u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            p.add_(delta, alpha=-group["lr"])

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
