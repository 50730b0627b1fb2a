"""Adam, AdamW and NAdam as torch.optim.Optimizers: the twins of ddlopt.optim.adam."""

import functools

import torch

from ..optim.adam import check_adam_hyperparameters
from . import fused as fused_steps
from ._base import TwinOptimizer

__all__ = ["Adam", "AdamW", "NAdam"]


def _decay_or_l2(params, grads, group, foreach):
    """Weight decay: decoupled (shrink the weights, AdamW) or L2 (add to the gradient)."""
    wd, lr = group["weight_decay"], group["lr"]
    if wd == 0:
        return grads
    if group.get("decoupled_weight_decay", False):
        if foreach:
            torch._foreach_mul_(params, 1 - lr * wd)
        else:
            for p in params:
                p.mul_(1 - lr * wd)
        return grads
    if foreach:
        return torch._foreach_add(grads, params, alpha=wd)
    return [g.add(p, alpha=wd) for g, p in zip(grads, params)]


def _count_step_and_decay(params, grads, states, group, foreach):
    """What every Adam-family step starts with: count it, negate for maximize, decay."""
    for state in states:
        state["step"] += 1
    if group["maximize"]:
        grads = torch._foreach_neg(grads) if foreach else [-g for g in grads]
    return _decay_or_l2(params, grads, group, foreach)


def _moments(states, grads, beta1, beta2, foreach):
    exp_avgs = [s["exp_avg"] for s in states]
    exp_avg_sqs = [s["exp_avg_sq"] for s in states]
    if foreach:
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
    else:
        for m, v, g in zip(exp_avgs, exp_avg_sqs, grads):
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    return exp_avgs, exp_avg_sqs


class Adam(TwinOptimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False, foreach=None, fused=None, capturable=False,
    check_finite=False)``: torch.optim.Adam's algorithm (see ddlopt.optim.adam).

    ``fused=True``: one Triton kernel per param group and step on CUDA float32 tensors
    (:mod:`ddlopt.torch.fused`); ``capturable=True`` (with fused) keeps the step counts and
    bias corrections on the device, so the step can be captured in a CUDA graph."""

    check = staticmethod(check_adam_hyperparameters)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False, foreach=None,
                 fused=None, capturable=False, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      fused=fused, capturable=capturable),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        # on the device (capturable, or fused under STEPS_ON_DEVICE): the kernel reads it
        device = p.device if fused_steps.on_device(group) else None
        state["step"] = torch.tensor(0.0, device=device)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        beta1, beta2 = group["betas"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        steps = [s["step"] for s in states]
        exp_avgs, exp_avg_sqs = _moments(states, grads, beta1, beta2, foreach)
        second = exp_avg_sqs
        if group["amsgrad"]:
            second = [s["max_exp_avg_sq"] for s in states]
            if foreach:
                torch._foreach_maximum_(second, exp_avg_sqs)
            else:
                for mx, v in zip(second, exp_avg_sqs):
                    torch.maximum(mx, v, out=mx)
        t = [s.item() for s in steps]
        step_sizes = [-group["lr"] / (1 - beta1**k) for k in t]
        bias_correction2_sqrt = [(1 - beta2**k) ** 0.5 for k in t]
        if foreach:
            denom = torch._foreach_sqrt(second)
            torch._foreach_div_(denom, bias_correction2_sqrt)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_addcdiv_(params, exp_avgs, denom, step_sizes)
        else:
            for p, m, v, size, bc2 in zip(params, exp_avgs, second, step_sizes,
                                          bias_correction2_sqrt):
                denom = (v.sqrt() / bc2).add_(group["eps"])
                p.addcdiv_(m, denom, value=size)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)

    def _fused(self, params, grads, states, group, tables):
        fused_steps.count_steps(states)   # on the device if capturable
        table = tables.setdefault("adam", fused_steps.LaunchTable())
        fused_steps.adam_step(table, params, grads, states, group)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, maximize=False, foreach=None, fused=None, capturable=False,
    check_finite=False)``: decoupled weight decay, torch.optim.AdamW's algorithm."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, fused=None, capturable=False,
                 check_finite=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         foreach=foreach, fused=fused, capturable=capturable,
                         check_finite=check_finite)


class NAdam(TwinOptimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False, foreach=None,
    check_finite=False)``: torch.optim.NAdam's algorithm (see ddlopt.optim.adam)."""

    check = staticmethod(check_adam_hyperparameters)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False,
                 foreach=None, check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay),
                         foreach, check_finite)

    def _init_state(self, p, state, group):
        state["step"] = torch.tensor(0.0)
        state["mu_product"] = torch.tensor(1.0)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        beta1, beta2 = group["betas"]
        lr, psi = group["lr"], group["momentum_decay"]
        grads = _count_step_and_decay(params, grads, states, group, foreach)
        t = [s["step"].item() for s in states]
        mus = [beta1 * (1.0 - 0.5 * 0.96 ** (k * psi)) for k in t]
        mus_next = [beta1 * (1.0 - 0.5 * 0.96 ** ((k + 1) * psi)) for k in t]
        for s, mu in zip(states, mus):
            s["mu_product"] *= mu
        products = [s["mu_product"].item() for s in states]
        exp_avgs, exp_avg_sqs = _moments(states, grads, beta1, beta2, foreach)
        grad_sizes = [-lr * (1.0 - mu) / (1.0 - prod) for mu, prod in zip(mus, products)]
        avg_sizes = [-lr * mu_next / (1.0 - prod * mu_next) for mu_next, prod in zip(mus_next, products)]
        bias_correction2 = [1 - beta2**k for k in t]
        if foreach:
            denom = torch._foreach_div(exp_avg_sqs, bias_correction2)
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_addcdiv_(params, grads, denom, grad_sizes)
            torch._foreach_addcdiv_(params, exp_avgs, denom, avg_sizes)
        else:
            for p, g, m, v, bc2, gs, ms in zip(params, grads, exp_avgs, exp_avg_sqs,
                                               bias_correction2, grad_sizes, avg_sizes):
                denom = v.div(bc2).sqrt().add_(group["eps"])
                p.addcdiv_(g, denom, value=gs)
                p.addcdiv_(m, denom, value=ms)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
