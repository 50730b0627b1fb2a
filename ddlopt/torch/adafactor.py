"""Adafactor as a torch.optim.Optimizer: the twin of ddlopt.optim.Adafactor."""

import functools

import torch

from ..optim.adafactor import check_adafactor_hyperparameters, factored_shapes
from ._base import TwinOptimizer, global_item, laid_out_like

__all__ = ["Adafactor"]


class Adafactor(TwinOptimizer):
    """``Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0, foreach=None, maximize=False, check_finite=False)``:
    torch.optim.Adafactor's algorithm (see ddlopt.optim.adafactor)."""

    check = staticmethod(check_adafactor_hyperparameters)

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False, check_finite=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                                      weight_decay=weight_decay, maximize=maximize),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        if p.dim() > 1:
            row_shape, col_shape = factored_shapes(tuple(p.shape))
            state["row_var"], state["col_var"] = p.new_zeros(row_shape), p.new_zeros(col_shape)
        else:
            state["variance"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        lr, eps2, d = group["lr"], group["eps"][1], group["d"]
        if group["maximize"]:
            grads = torch._foreach_neg(grads) if foreach else [-g for g in grads]
        for s in states:
            s["step"] += 1
        t = [s["step"].item() for s in states]
        norms = torch._foreach_norm(params) if foreach else [p.norm() for p in params]
        alphas = [max(eps2, global_item(n) / p.numel() ** 0.5) * min(lr, 1 / k**0.5)
                  for n, p, k in zip(norms, params, t)]
        if group["weight_decay"] != 0:
            if foreach:
                torch._foreach_mul_(params, 1 - lr * group["weight_decay"])
            else:
                for p in params:
                    p.mul_(1 - lr * group["weight_decay"])
        # the factored estimate is a matrix product per tensor: no foreach form for it
        updates = [self._scaled_gradient(p, g, s, group, k) for p, g, s, k in
                   zip(params, grads, states, t)]
        rms = torch._foreach_norm(updates) if foreach else [u.norm() for u in updates]
        sizes = [-alpha / max(1.0, global_item(r) / (u.numel() ** 0.5 * d))
                 for alpha, r, u in zip(alphas, rms, updates)]
        if foreach:
            torch._foreach_add_(params, torch._foreach_mul(updates, sizes))
        else:
            for p, u, size in zip(params, updates, sizes):
                p.add_(u, alpha=size)

    @staticmethod
    def _scaled_gradient(p, grad, state, group, t):
        """g / sqrt(V-hat), V-hat factored for matrices and beyond."""
        eps1 = group["eps"][0]
        if eps1 is None:
            eps1 = torch.finfo(p.dtype).eps
        one_minus_beta2 = t ** group["beta2_decay"]
        if grad.dim() > 1:
            # out of place: on a sharded (DTensor) parameter the new averages may be laid
            # out otherwise than the zeros they replace (a column sum over sharded rows)
            row_var = state["row_var"] = state["row_var"].lerp(
                grad.norm(dim=-1, keepdim=True).square().div(grad.size(-1)), one_minus_beta2)
            col_var = state["col_var"] = state["col_var"].lerp(
                grad.norm(dim=-2, keepdim=True).square().div(grad.size(-2)), one_minus_beta2)
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp(min=eps1))
        else:
            state["variance"].lerp_(grad * grad, one_minus_beta2)
            var_estimate = state["variance"].clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
        return laid_out_like(update, p)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
