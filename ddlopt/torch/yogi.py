"""Yogi as a torch.optim.Optimizer: the twin of ddlopt.optim.Yogi."""

import functools

import torch

from ..optim.yogi import check_yogi_hyperparameters
from ._base import TwinOptimizer
from .adadelta import _zeros
from .adam import _count_step_and_decay

__all__ = ["Yogi"]


class Yogi(TwinOptimizer):
    """``Yogi(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-3, initial_accumulator=1e-6,
    weight_decay=0, foreach=None, maximize=False, check_finite=False)``: the algorithm of
    ddlopt.optim.yogi (torch-optimizer's, with the first moment started at zero)."""

    check = staticmethod(check_yogi_hyperparameters)

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), eps=1e-3, initial_accumulator=1e-6,
                 weight_decay=0, foreach=None, *, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      initial_accumulator=initial_accumulator,
                                      weight_decay=weight_decay, maximize=maximize),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        state["exp_avg"] = _zeros(p)
        state["exp_avg_sq"] = torch.full_like(p, group["initial_accumulator"],
                                              memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        beta1, beta2 = group["betas"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        exp_avgs = [s["exp_avg"] for s in states]
        exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        t = [s["step"].item() for s in states]
        step_sizes = [-group["lr"] / (1 - beta1**k) for k in t]
        roots = [(1 - beta2**k) ** 0.5 for k in t]
        if foreach:
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            squares = torch._foreach_mul(grads, grads)
            signs = torch._foreach_sub(exp_avg_sqs, squares)
            signs = [s.sign_() for s in signs]
            torch._foreach_addcmul_(exp_avg_sqs, signs, squares, value=-(1 - beta2))
            denoms = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denoms, roots)
            torch._foreach_add_(denoms, group["eps"])
            torch._foreach_addcdiv_(params, exp_avgs, denoms, step_sizes)
            return
        for p, g, m, v, size, root in zip(params, grads, exp_avgs, exp_avg_sqs, step_sizes,
                                          roots):
            m.lerp_(g, 1 - beta1)
            square = g * g
            v.addcmul_(torch.sign(v - square), square, value=-(1 - beta2))
            p.addcdiv_(m, v.sqrt().div_(root).add_(group["eps"]), value=size)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
