"""SGD as a torch.optim.Optimizer: the twin of ddlopt.optim.SGD, equal to torch.optim.SGD."""

import torch

from ..optim.sgd import check_sgd_hyperparameters
from . import fused as fused_steps
from ._base import TwinOptimizer

__all__ = ["SGD"]


class SGD(TwinOptimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False, foreach=None, fused=None)``: torch.optim.SGD's algorithm (see
    ddlopt.optim.sgd); ``fused=True``: one Triton kernel per group (ddlopt.torch.fused)."""

    check = staticmethod(check_sgd_hyperparameters)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, fused=fused), foreach)

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

    def _fused(self, params, grads, states, group, tables):
        if group["momentum"] == 0:
            fused_steps.sgd_step(tables.setdefault("plain", fused_steps.LaunchTable()),
                                 params, grads, states, group, first_step=False)
            return
        # Tensors on their first step get a buffer that the kernel fills with the gradient
        # (b_1 = g_1); the rest update theirs. Usually one of the two lists is empty.
        new = [i for i, s in enumerate(states) if "momentum_buffer" not in s]
        for i in new:
            states[i]["momentum_buffer"] = torch.empty_like(params[i])
        old = [i for i in range(len(states)) if i not in set(new)]
        for indices, first_step in ((new, True), (old, False)):
            if indices:
                table = tables.setdefault(first_step, fused_steps.LaunchTable())
                fused_steps.sgd_step(table, [params[i] for i in indices],
                                     [grads[i] for i in indices],
                                     [states[i] for i in indices], group, first_step)
