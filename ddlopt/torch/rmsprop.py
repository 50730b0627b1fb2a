"""RMSprop as a torch.optim.Optimizer: the twin of ddlopt.optim.RMSprop."""

import torch

from ..optim.rmsprop import check_rmsprop_hyperparameters
from . import fused as fused_steps
from ._base import TwinOptimizer

__all__ = ["RMSprop"]


class RMSprop(TwinOptimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False, foreach=None, fused=None, capturable=False)``:
    torch.optim.RMSprop's algorithm (see ddlopt.optim.rmsprop); ``fused=True``: one Triton
    kernel per group (ddlopt.torch.fused), ``capturable=True`` keeps the step count on the
    device."""

    check = staticmethod(check_rmsprop_hyperparameters)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False, foreach=None, fused=None,
                 capturable=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      maximize=maximize, fused=fused, capturable=capturable),
                         foreach)

    def _init_state(self, p, state, group):
        zeros = lambda: torch.zeros_like(p, memory_format=torch.preserve_format)  # noqa: E731
        device = p.device if fused_steps.on_device(group) else None
        state["step"] = torch.tensor(0.0, device=device)
        state["square_avg"] = zeros()
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros()
        if group["centered"]:
            state["grad_avg"] = zeros()

    def _single_tensor(self, params, grads, states, group):
        alpha = group["alpha"]
        for param, grad, state in zip(params, grads, states):
            state["step"] += 1
            if group["maximize"]:
                grad = -grad
            if group["weight_decay"] != 0:
                grad = grad.add(param, alpha=group["weight_decay"])
            square_avg = state["square_avg"]
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if group["centered"]:
                grad_avg = state["grad_avg"]
                grad_avg.lerp_(grad, 1 - alpha)
                avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            else:
                avg = square_avg.sqrt()
            avg.add_(group["eps"])
            if group["momentum"] > 0:
                buf = state["momentum_buffer"]
                buf.mul_(group["momentum"]).addcdiv_(grad, avg)
                param.add_(buf, alpha=-group["lr"])
            else:
                param.addcdiv_(grad, avg, value=-group["lr"])

    def _foreach(self, params, grads, states, group):
        alpha = group["alpha"]
        fused_steps.count_steps(states)   # on the device if capturable
        if group["maximize"]:
            grads = torch._foreach_neg(grads)
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        square_avgs = [s["square_avg"] for s in states]
        torch._foreach_mul_(square_avgs, alpha)
        torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
        if group["centered"]:
            grad_avgs = [s["grad_avg"] for s in states]
            torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)
            avg = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
            torch._foreach_sqrt_(avg)
        else:
            avg = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(avg, group["eps"])
        if group["momentum"] > 0:
            bufs = [s["momentum_buffer"] for s in states]
            torch._foreach_mul_(bufs, group["momentum"])
            torch._foreach_addcdiv_(bufs, grads, avg)
            torch._foreach_add_(params, bufs, alpha=-group["lr"])
        else:
            torch._foreach_addcdiv_(params, grads, avg, value=-group["lr"])

    def _fused(self, params, grads, states, group, tables):
        fused_steps.count_steps(states)   # on the device if capturable
        fused_steps.rmsprop_step(tables.setdefault("rmsprop", fused_steps.LaunchTable()),
                                 params, grads, states, group)
