"""RAdam as a torch.optim.Optimizer: the twin of ddlopt.optim.RAdam."""

import functools

import torch

from ..optim.adam import check_adam_hyperparameters
from ..optim.radam import radam_rectification
from ._base import TwinOptimizer
from .adam import _count_step_and_decay, _moments

__all__ = ["RAdam"]


class RAdam(TwinOptimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, foreach=None, maximize=False, check_finite=False)``:
    torch.optim.RAdam's algorithm (see ddlopt.optim.radam)."""

    check = staticmethod(check_adam_hyperparameters)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize), foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        beta1, beta2 = group["betas"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        exp_avgs, exp_avg_sqs = _moments(states, grads, beta1, beta2, foreach)
        t = [s["step"].item() for s in states]
        # per parameter: -lr / (1 - beta1^t), times r_t sqrt(1 - beta2^t) once rectified
        rectifications = [radam_rectification(k, beta2) for k in t]
        sizes = [-group["lr"] / (1 - beta1**k) for k in t]
        adaptive = [r is not None for r in rectifications]
        scales = [r * (1 - beta2**k) ** 0.5 if r is not None else 1.0
                  for r, k in zip(rectifications, t)]
        if foreach:
            updates = torch._foreach_mul(exp_avgs, sizes)
            adapting = [i for i, a in enumerate(adaptive) if a]
            if adapting:
                denoms = torch._foreach_sqrt([exp_avg_sqs[i] for i in adapting])
                torch._foreach_add_(denoms, group["eps"])
                chosen = [updates[i] for i in adapting]
                torch._foreach_mul_(chosen, [scales[i] for i in adapting])
                torch._foreach_div_(chosen, denoms)
            torch._foreach_add_(params, updates)
            return
        for p, m, v, size, a, scale in zip(params, exp_avgs, exp_avg_sqs, sizes, adaptive,
                                           scales):
            update = m * size
            if a:
                update.mul_(scale).div_(v.sqrt().add_(group["eps"]))
            p.add_(update)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
