"""SGD as a torch.optim.Optimizer: the twin of ddlopt.optim.SGD, equal to torch.optim.SGD."""

import torch

from ..optim.sgd import check_sgd_hyperparameters
from ._base import TwinOptimizer

__all__ = ["SGD"]


class SGD(TwinOptimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False, foreach=None)``: torch.optim.SGD's algorithm (see ddlopt.optim.sgd)."""

    check = staticmethod(check_sgd_hyperparameters)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize), foreach)

    def _single_tensor(self, params, grads, states, group):
        momentum, dampening = group["momentum"], group["dampening"]
        for param, grad, state in zip(params, grads, states):
            if group["maximize"]:
                grad = -grad
            if group["weight_decay"] != 0:
                grad = grad.add(param, alpha=group["weight_decay"])
            if momentum != 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = grad.detach().clone()  # b_1 = g_1
                else:
                    buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
            param.add_(grad, alpha=-group["lr"])

    def _foreach(self, params, grads, states, group):
        momentum, dampening = group["momentum"], group["dampening"]
        if group["maximize"]:
            grads = torch._foreach_neg(grads)
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        if momentum != 0:
            bufs = [s.get("momentum_buffer") for s in states]
            if any(b is None for b in bufs):  # the first step: b_1 = g_1 (a copy)
                for state, buf, grad in zip(states, bufs, grads):
                    if buf is None:
                        state["momentum_buffer"] = grad.detach().clone()
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                bufs = [s["momentum_buffer"] for s in states]
            else:
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, grads, alpha=1 - dampening)
            grads = torch._foreach_add(grads, bufs, alpha=momentum) if group["nesterov"] else bufs
        torch._foreach_add_(params, grads, alpha=-group["lr"])
