"""Muon as a torch.optim.Optimizer (the twin of ddlopt.optim.Muon), and the recipe that
goes with it: hidden weight matrices to Muon, everything else to AdamW."""

import functools

import torch

from ..optim.muon import NS_COEFFICIENTS, adjusted_lr, check_matrices, check_muon_hyperparameters
from ._base import TwinOptimizer

__all__ = ["Muon", "newton_schulz", "split_for_muon"]


def newton_schulz(matrix, steps=5, coefficients=NS_COEFFICIENTS, eps=1e-7, dtype=torch.bfloat16):
    """torch.optim.Muon's Newton–Schulz iteration, operation for operation, in ``dtype``."""
    a, b, c = coefficients
    x = matrix.to(dtype)
    tall = matrix.size(0) > matrix.size(1)
    if tall:
        x = x.T
    x = x.div(x.norm().clamp(min=eps))   # not in place: x may be the caller's tensor
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(TwinOptimizer):
    """``Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None,
    ns_dtype=torch.bfloat16, foreach=None, check_finite=False)``: torch.optim.Muon's
    algorithm (see ddlopt.optim.muon); with the default ``ns_dtype`` it takes
    torch.optim.Muon's steps to the bit. Matrices only: see :func:`split_for_muon`."""

    check = staticmethod(check_muon_hyperparameters)

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None, *,
                 ns_dtype=torch.bfloat16, foreach=None, check_finite=False):
        if not isinstance(ns_dtype, torch.dtype) or not ns_dtype.is_floating_point:
            raise TypeError(f"ns_dtype must be a floating torch.dtype, got {ns_dtype!r}")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=tuple(ns_coefficients),
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn,
                                      ns_dtype=ns_dtype), foreach, check_finite)

    def add_param_group(self, param_group):
        params = param_group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        check_matrices([p.shape for p in params])
        super().add_param_group({**param_group, "params": params})

    def _init_state(self, p, state, group):
        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, params, grads, states, group, foreach):
        lr, momentum = group["lr"], group["momentum"]
        bufs = [s["momentum_buffer"] for s in states]
        if foreach:
            torch._foreach_lerp_(bufs, grads, 1 - momentum)
            directions = torch._foreach_lerp(grads, bufs, momentum) if group["nesterov"] else bufs
            torch._foreach_mul_(params, 1 - lr * group["weight_decay"])
        else:
            directions = []
            for b, g in zip(bufs, grads):
                b.lerp_(g, 1 - momentum)
                directions.append(g.lerp(b, momentum) if group["nesterov"] else b)
        for p, direction in zip(params, directions):
            # one matrix at a time: the iteration is matrix products, not elementwise
            update = newton_schulz(direction, group["ns_steps"], group["ns_coefficients"],
                                   group["eps"], group["ns_dtype"])
            if not foreach:
                p.mul_(1 - lr * group["weight_decay"])
            p.add_(update, alpha=-adjusted_lr(lr, group["adjust_lr_fn"], p.shape))

    _single_tensor = functools.partialmethod(_update, foreach=False)
    _foreach = functools.partialmethod(_update, foreach=True)


def split_for_muon(model, input_layer="auto", output_layer="auto"):
    """Split ``model``'s trainable parameters for the Muon recipe: returns
    ``(hidden_matrices, others)``.

    ``hidden_matrices`` are the 2-D weights of the hidden layers, the layers between the
    input and the output: give them to :class:`Muon`. ``others`` is everything else, for
    AdamW (Jordan et al. 2024; Liu et al. 2025):

    - biases and norms (not matrices), and weights of other shapes (convolution kernels:
      torch.optim.Muon takes 2-D tensors only);
    - embeddings (``nn.Embedding``: a lookup table whose rows move one token at a time, not
      a linear map), always;
    - the input layer: ``input_layer="auto"`` is the model's embeddings if it has any (the
      input layer is then already excluded), else its first ``nn.Linear`` in
      ``model.modules()``, the layer that reads the raw input; a module names it;
      ``None`` excludes none (the first Linear of a model without embeddings then goes to
      Muon, as this function did before);
    - the output layer: ``output_layer="auto"`` is the last ``nn.Linear`` (its rows are
      class scores that should move independently); a module names it; ``None`` excludes
      none.

    A typical pair::

        hidden, others = split_for_muon(model)
        optimizers = [Muon(hidden, lr=0.02), torch.optim.AdamW(others, lr=3e-4)]
    """
    modules = list(model.modules())
    linears = [m for m in modules if isinstance(m, torch.nn.Linear)]
    embeddings = [m for m in modules if isinstance(m, torch.nn.Embedding)]
    excluded_layers = list(embeddings)
    for layer, name, pick in ((input_layer, "input_layer", 0), (output_layer, "output_layer", -1)):
        if isinstance(layer, str) and layer == "auto":
            if linears and not (pick == 0 and embeddings):
                excluded_layers.append(linears[pick])
        elif isinstance(layer, torch.nn.Module):
            if not any(layer is m for m in modules):
                raise ValueError(f"{name} must be a module of the model, got {layer!r}")
            excluded_layers.append(layer)
        elif layer is not None:
            raise TypeError(f"{name} must be 'auto', a module of the model or None, "
                            f"got {layer!r}")
    excluded = {id(p) for m in excluded_layers for p in m.parameters()}
    hidden, others = [], []
    for p in model.parameters():
        if p.requires_grad:
            (hidden if p.dim() == 2 and id(p) not in excluded else others).append(p)
    return hidden, others
