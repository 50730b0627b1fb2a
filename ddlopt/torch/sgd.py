"""SGD as a torch.optim.Optimizer: the twin of ddlopt.optim.SGD, equal to torch.optim.SGD."""

import torch

from ..optim.sgd import check_sgd_hyperparameters

__all__ = ["SGD"]


class SGD(torch.optim.Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False, foreach=None)``: torch.optim.SGD's algorithm (see ddlopt.optim.sgd).

    ``foreach=None`` takes the ``torch._foreach_*`` path when every parameter is on a CUDA
    device (one kernel per operation for all tensors) and the per-tensor loop otherwise.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        check_sgd_hyperparameters(defaults)  # one set of rules and messages for both twins
        defaults["foreach"] = foreach
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        check_sgd_hyperparameters(self.param_groups[-1])

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            bufs = [self.state[p].get("momentum_buffer") for p in params]
            foreach = group["foreach"]
            if foreach is None:
                foreach = all(p.is_cuda for p in params)
            update = _foreach_sgd if foreach else _single_tensor_sgd
            update(params, grads, bufs, lr=group["lr"], momentum=group["momentum"],
                   dampening=group["dampening"], weight_decay=group["weight_decay"],
                   nesterov=group["nesterov"], maximize=group["maximize"])
            if group["momentum"] != 0:
                for p, buf in zip(params, bufs):
                    self.state[p]["momentum_buffer"] = buf
        return loss


def _single_tensor_sgd(params, grads, bufs, *, lr, momentum, dampening, weight_decay,
                       nesterov, maximize):
    for i, (param, grad) in enumerate(zip(params, grads)):
        if maximize:
            grad = -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            if bufs[i] is None:
                bufs[i] = grad.detach().clone()  # b_1 = g_1
            else:
                bufs[i].mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(bufs[i], alpha=momentum) if nesterov else bufs[i]
        param.add_(grad, alpha=-lr)


def _foreach_sgd(params, grads, bufs, *, lr, momentum, dampening, weight_decay,
                 nesterov, maximize):
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    if momentum != 0:
        if any(b is None for b in bufs):  # the first step: b_1 = g_1 (a copy)
            for i, b in enumerate(bufs):
                if b is None:
                    bufs[i] = grads[i].detach().clone()
                else:
                    b.mul_(momentum).add_(grads[i], alpha=1 - dampening)
        else:
            torch._foreach_mul_(bufs, momentum)
            torch._foreach_add_(bufs, grads, alpha=1 - dampening)
        if nesterov:
            grads = torch._foreach_add(grads, bufs, alpha=momentum)
        else:
            grads = bufs
    torch._foreach_add_(params, grads, alpha=-lr)
