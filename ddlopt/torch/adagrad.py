"""Adagrad as a torch.optim.Optimizer: the twin of ddlopt.optim.Adagrad."""

import torch

from ..optim.adagrad import check_adagrad_hyperparameters
from ._base import TwinOptimizer

__all__ = ["Adagrad"]


class Adagrad(TwinOptimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False, foreach=None)``: torch.optim.Adagrad's algorithm (see
    ddlopt.optim.adagrad)."""

    check = staticmethod(check_adagrad_hyperparameters)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, *, maximize=False, foreach=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize), foreach)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        # the constructor's value, not the group's: torch.optim.Adagrad's behaviour
        state["sum"] = torch.full_like(p, self.defaults["initial_accumulator_value"],
                                       memory_format=torch.preserve_format)

    def _single_tensor(self, params, grads, states, group):
        for param, grad, state in zip(params, grads, states):
            state["step"] += 1
            step = state["step"].item()
            if group["maximize"]:
                grad = -grad
            if group["weight_decay"] != 0:
                grad = grad.add(param, alpha=group["weight_decay"])
            clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
            state["sum"].addcmul_(grad, grad, value=1)
            std = state["sum"].sqrt().add_(group["eps"])
            param.addcdiv_(grad, std, value=-clr)

    def _foreach(self, params, grads, states, group):
        sums = [s["sum"] for s in states]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        if group["maximize"]:
            grads = torch._foreach_neg(grads)
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        torch._foreach_addcmul_(sums, grads, grads, value=1)
        std = torch._foreach_sqrt(sums)
        torch._foreach_add_(std, group["eps"])
        clrs = [-group["lr"] / (1 + (s.item() - 1) * group["lr_decay"]) for s in steps]
        torch._foreach_addcdiv_(params, grads, std, clrs)
