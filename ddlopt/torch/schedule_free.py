"""Schedule-Free AdamW as a torch.optim.Optimizer: the twin of
ddlopt.optim.AdamWScheduleFree, with its train() / eval() switch."""

import functools

import torch

from ..optim.schedule_free import (TrainEvalModes, advance_schedule,
                                   check_schedule_free_hyperparameters)
from ._base import TwinOptimizer

__all__ = ["AdamWScheduleFree"]


class AdamWScheduleFree(TrainEvalModes, TwinOptimizer):
    """``AdamWScheduleFree(params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    warmup_steps=0, r=0.0, weight_lr_power=2.0, foreach=None, check_finite=False)``: the
    ``schedulefree`` package's algorithm (see ddlopt.optim.schedule_free). Starts in eval
    mode: call ``train()`` before training, ``eval()`` before evaluating or saving."""

    check = staticmethod(check_schedule_free_hyperparameters)

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 warmup_steps=0, r=0.0, weight_lr_power=2.0, *, foreach=None,
                 check_finite=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, r=r, k=0,
                                      warmup_steps=warmup_steps, train_mode=False,
                                      weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                                      weight_lr_power=weight_lr_power,
                                      weight_decay=weight_decay), foreach, check_finite)

    @staticmethod
    @torch.no_grad()
    def _move(p, z, beta1, to_x):  # move_between_y_and_x, as one lerp
        p.lerp_(z, 1 - 1 / beta1 if to_x else 1 - beta1)

    def step(self, closure=None):
        self._require_train_mode()
        self._advanced = set()
        loss = super().step(closure)
        for group in self.param_groups:   # a group without gradients still counts the step
            if id(group) not in self._advanced:
                advance_schedule(group)
        return loss

    def _init_state(self, p, state, group):
        state["z"] = torch.clone(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        self._advanced.add(id(group))
        lr, c, bias_correction2 = advance_schedule(group)
        beta1, beta2 = group["betas"]
        wd, eps = group["weight_decay"], group["eps"]
        zs = [s["z"] for s in states]
        exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        if foreach:
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            denoms = torch._foreach_div(exp_avg_sqs, bias_correction2)
            torch._foreach_sqrt_(denoms)
            torch._foreach_add_(denoms, eps)
            normalized = torch._foreach_div(grads, denoms)
            if wd != 0:
                torch._foreach_add_(normalized, params, alpha=wd)
            torch._foreach_lerp_(params, zs, c)
            torch._foreach_add_(params, normalized, alpha=lr * (beta1 * (1 - c) - 1))
            torch._foreach_sub_(zs, normalized, alpha=lr)
            return
        for y, g, z, v in zip(params, grads, zs, exp_avg_sqs):
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            normalized = g / v.div(bias_correction2).sqrt_().add_(eps)
            if wd != 0:
                normalized.add_(y, alpha=wd)
            y.lerp_(z, c)
            y.add_(normalized, alpha=lr * (beta1 * (1 - c) - 1))
            z.sub_(normalized, alpha=lr)

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)
