"""``fused=True``: each optimizer step as one Triton kernel launch per param group.

The kernels live in :mod:`ddlopt.torch._triton_kernels` (read them there: one per
optimizer, commented line by line). This module is the host side: it decides where a fused
step can run, builds the table of addresses and blocks the kernel walks (see the kernels'
module docstring), and, with ``capturable=True``, computes the bias corrections with tensor
operations on the device so that no step reads a number back to the host and the whole step
can be captured in a CUDA graph.

Where a fused step runs: on CUDA tensors in float32, with Triton installed. Elsewhere the
optimizer warns once (UserWarning) and takes the foreach path, as the numbers are the same.
Tests (and chapter 10) run the kernels on CPU tensors through Triton's interpreter: set
``TRITON_INTERPRET=1`` before triton is first imported and ``DDLOPT_FUSED_INTERPRET=1`` (or
``ddlopt.torch.fused.INTERPRET_ON_CPU = True``).
"""

import math
import os
import warnings

import torch

__all__ = ["INTERPRET_ON_CPU", "triton_available", "fused_runs_here", "adam_step", "sgd_step",
           "rmsprop_step", "adam_scalars", "block_table"]

INTERPRET_ON_CPU = os.environ.get("DDLOPT_FUSED_INTERPRET") == "1"
BLOCK_CUDA = 2048      # elements per program on a GPU: 8 KiB of each role per program
BLOCK_INTERPRETED = 1024


def triton_available():
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _kernels():
    from . import _triton_kernels  # lazy: ddlopt imports without Triton
    return _triton_kernels


def fused_runs_here(tensors):
    """True where the Triton kernels can run on ``tensors``; False (the caller warns and
    falls back) where they cannot. Raises where fused was asked for on CUDA without Triton."""
    if not tensors or any(t.dtype != torch.float32 for t in tensors):
        return False
    if all(t.is_cuda for t in tensors):
        if not triton_available():
            raise RuntimeError("fused=True on CUDA needs Triton (pip install triton, the "
                               "version your torch names); or pass fused=False")
        return True
    interpreting = os.environ.get("TRITON_INTERPRET") == "1"
    return INTERPRET_ON_CPU and interpreting and all(t.device.type == "cpu" for t in tensors) \
        and triton_available()


def block_table(numels, block):
    """For each block of the launch: which tensor, and where in it the block starts."""
    counts = torch.tensor([math.ceil(n / block) for n in numels], dtype=torch.int64)
    block_tensor = torch.repeat_interleave(torch.arange(len(numels), dtype=torch.int32), counts)
    first_block = torch.cumsum(counts, 0) - counts   # index of each tensor's first block
    block_start = (torch.arange(int(counts.sum())) - first_block[block_tensor.long()]) * block
    return block_tensor, block_start


class LaunchTable:
    """The addresses, sizes and blocks of one group's tensors, on their device. Rebuilt only
    when an address changes (a gradient reallocated), so a steady loop builds it once."""

    def __init__(self):
        self.key = None

    def update(self, roles, device):
        addresses = [t.data_ptr() for role in roles for t in role]
        numels = [t.numel() for t in roles[0]]
        key = (tuple(addresses), tuple(numels))   # a new tensor at an old address: new size
        if key == self.key:
            return self
        for role in roles:
            for t in role:
                if not t.is_contiguous():
                    raise ValueError("fused=True needs contiguous parameters, gradients and "
                                     "states; got a tensor with strides "
                                     f"{tuple(t.stride())}")
        self.block = BLOCK_CUDA if device.type == "cuda" else BLOCK_INTERPRETED
        block_tensor, block_start = block_table(numels, self.block)
        self.addresses = torch.tensor(addresses, dtype=torch.int64).to(device)
        self.numels = torch.tensor(numels, dtype=torch.int64).to(device)
        self.block_tensor, self.block_start = block_tensor.to(device), block_start.to(device)
        self.n_tensors, self.key = len(numels), key
        return self

    def launch(self, kernel, *args, **constexprs):
        grid = (self.block_tensor.numel(),)
        kernel[grid](self.addresses, self.n_tensors, self.block_tensor, self.block_start,
                     self.numels, *args, BLOCK=self.block, **constexprs)


def adam_scalars(steps, lr, beta1, beta2, capturable, device):
    """Per tensor: (lr / (1 - beta1^t), sqrt(1 - beta2^t)) as a float32 (n, 2) table.

    Both ways compute in float64 and round once to float32, so they give the same numbers:
    from the step counts read on the host, or (capturable) with tensor operations on the
    device, where the step counts live, so that nothing waits for the host.
    """
    if capturable:
        t = torch.stack(steps).to(torch.float64)
        step_sizes = lr / (1 - torch.pow(beta1, t))
        return torch.stack([step_sizes, torch.sqrt(1 - torch.pow(beta2, t))], 1).float()
    t = [s.item() for s in steps]
    table = [(lr / (1 - beta1**k), math.sqrt(1 - beta2**k)) for k in t]
    return torch.tensor(table, dtype=torch.float64).to(torch.float32).to(device)


def adam_step(table, params, grads, states, group):
    """One fused Adam/AdamW step over a group (state steps already counted). The bias
    corrections go to the kernel as two numbers when every tensor has the same step count
    and nothing must stay on the device; as a per-tensor table otherwise."""
    beta1, beta2 = group["betas"]
    roles = [params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]]
    if group["amsgrad"]:
        roles.append([s["max_exp_avg_sq"] for s in states])
    table.update(roles, params[0].device)
    steps = [s["step"] for s in states]
    counts = None if group["capturable"] else {s.item() for s in steps}
    if counts is not None and len(counts) == 1:   # one step count: no table to copy over
        scalars, per_tensor = table.addresses, False   # (a placeholder pointer, unused)
        step_size, bias_correction2_sqrt = adam_scalars(steps[:1], group["lr"], beta1, beta2,
                                                        False, "cpu")[0].tolist()
    else:
        scalars, per_tensor = adam_scalars(steps, group["lr"], beta1, beta2,
                                           group["capturable"], params[0].device), True
        step_size = bias_correction2_sqrt = 0.0
    weight_decay = group["weight_decay"]
    table.launch(_kernels().adam_kernel, scalars, step_size, bias_correction2_sqrt,
                 beta2, 1 - beta1, 1 - beta2, group["eps"], weight_decay,
                 1 - group["lr"] * weight_decay, AMSGRAD=group["amsgrad"],
                 MAXIMIZE=group["maximize"], DECOUPLED=group["decoupled_weight_decay"],
                 PER_TENSOR=per_tensor)


def sgd_step(table, params, grads, states, group, first_step):
    """One fused SGD step over tensors whose momentum buffers are all new (first_step) or
    all old."""
    momentum = group["momentum"]
    roles = [params, grads]
    if momentum != 0:
        roles.append([s["momentum_buffer"] for s in states])
    table.update(roles, params[0].device)
    table.launch(_kernels().sgd_kernel, group["lr"], momentum, 1 - group["dampening"],
                 group["weight_decay"], MOMENTUM=momentum != 0, FIRST_STEP=first_step,
                 NESTEROV=group["nesterov"], MAXIMIZE=group["maximize"])


def rmsprop_step(table, params, grads, states, group):
    """One fused RMSprop step over a group. Unused roles repeat the square averages' addresses
    so that the table keeps its layout (0 param, 1 grad, 2 square_avg, 3 grad_avg, 4 buffer)."""
    square_avgs = [s["square_avg"] for s in states]
    grad_avgs = [s["grad_avg"] for s in states] if group["centered"] else square_avgs
    buffers = [s["momentum_buffer"] for s in states] if group["momentum"] > 0 else square_avgs
    table.update([params, grads, square_avgs, grad_avgs, buffers], params[0].device)
    table.launch(_kernels().rmsprop_kernel, group["lr"], group["alpha"], 1 - group["alpha"],
                 group["eps"],
                 group["weight_decay"], group["momentum"], CENTERED=group["centered"],
                 MOMENTUM=group["momentum"] > 0, MAXIMIZE=group["maximize"])


def warn_fallback(optimizer, params):
    """The one-time warning where fused=True cannot run; the caller takes the foreach path."""
    if getattr(optimizer, "_warned_fused_fallback", False):
        return
    optimizer._warned_fused_fallback = True
    where = sorted({f"{p.device.type} {str(p.dtype).removeprefix('torch.')}" for p in params})
    warnings.warn(f"{type(optimizer).__name__}(fused=True): the fused Triton step runs on CUDA "
                  f"float32 tensors only, these are {', '.join(where)}; taking the foreach "
                  "path instead (same numbers)", UserWarning, stacklevel=3)
