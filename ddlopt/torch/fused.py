"""``fused=True``: each optimizer step as one Triton kernel launch per param group.

The kernels live in :mod:`ddlopt.torch._triton_kernels` (read them there: one per
optimizer, commented line by line). This module is the host side: it decides where a fused
step can run, builds the table of addresses and blocks the kernel walks (see the kernels'
module docstring), and passes the bias corrections: computed here, or, with
``capturable=True``, left to the kernel, which reads the step counts on the device, so that
no step reads a number back to the host and the whole step can be captured in a CUDA graph.

Where a fused step runs: on CUDA tensors in float32, with Triton installed. Elsewhere the
optimizer warns once (UserWarning) and takes the foreach path, as the numbers are the same.
Tests (and chapter 10) run the kernels on CPU tensors through Triton's interpreter: set
``TRITON_INTERPRET=1`` before triton is first imported and ``DDLOPT_FUSED_INTERPRET=1`` (or
``ddlopt.torch.fused.INTERPRET_ON_CPU = True``).
"""

import contextlib
import math
import os
import struct
import warnings

import torch

__all__ = ["INTERPRET_ON_CPU", "VECTORIZE", "triton_available", "fused_runs_here", "adam_step",
           "sgd_step", "rmsprop_step", "adam_scalars", "count_steps", "on_device", "power",
           "float_bits", "block_table", "launch_settings"]

INTERPRET_ON_CPU = os.environ.get("DDLOPT_FUSED_INTERPRET") == "1"
BLOCK_CUDA = 2048      # elements per program on a GPU: 8 KiB of each role per program
NUM_WARPS_CUDA = 4     # 128 threads a program: 16 elements, four 16-byte vectors, each
BLOCK_INTERPRETED = 1024
# Full blocks in a launch of their own, without masks, and addresses hinted 16-byte aligned
# where they are: the compiler then moves 16 bytes per load. False: one masked launch with
# no hints, 4-byte loads (the same numbers; benchmarks.optim_step times both).
VECTORIZE = True
# Where a fused optimizer keeps its step counts. True: on the device, as torch.optim's fused
# optimizers keep them, and the kernel computes the bias corrections from them (no .item()
# a tensor a step). False: on the host unless capturable=True, the corrections computed on
# the host. Measured on an H200 (benchmarks/RESULTS.md, second run): the same bits, and the
# eager step with 200 tensors 1.28 -> 1.11 ms. Read when a tensor's state is created.
STEPS_ON_DEVICE = True


@contextlib.contextmanager
def launch_settings(**settings):
    """Other launch settings for a while: ``with launch_settings(VECTORIZE=False): ...``.
    They are read when a launch table is built, on an optimizer's first fused step, and
    that optimizer keeps them after (benchmarks.optim_step times them this way)."""
    known = ("VECTORIZE", "BLOCK_CUDA", "NUM_WARPS_CUDA", "STEPS_ON_DEVICE")
    unknown = set(settings) - set(known)
    if unknown:
        raise ValueError(f"unknown launch settings {sorted(unknown)}; known: "
                         f"{', '.join(known)}")
    module = globals()
    saved = {k: module[k] for k in settings}
    module.update(settings)
    try:
        yield
    finally:
        module.update(saved)


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
    if not tensors:
        return False
    on_cuda = tensors[0].is_cuda    # one pass over the tensors: this runs every step
    if not all(t.is_cuda == on_cuda and t.dtype == torch.float32 for t in tensors):
        return False                 # mixed devices, or not float32
    if on_cuda:
        if not triton_available():
            raise RuntimeError("fused=True on CUDA needs Triton (pip install triton, the "
                               "version your torch names); or pass fused=False")
        return True
    interpreting = os.environ.get("TRITON_INTERPRET") == "1"
    return INTERPRET_ON_CPU and interpreting and all(t.is_cpu for t in tensors) \
        and triton_available()


def block_table(numels, block, full=None):
    """For each block of the launch: which tensor, and where in it the block starts.
    ``full=True``: only the blocks that hold ``block`` elements; ``False``: only the others
    (each tensor's ragged last block); None: all."""
    counts = torch.tensor([math.ceil(n / block) for n in numels], dtype=torch.int64)
    block_tensor = torch.repeat_interleave(torch.arange(len(numels), dtype=torch.int32), counts)
    first_block = torch.cumsum(counts, 0) - counts   # index of each tensor's first block
    block_start = (torch.arange(int(counts.sum())) - first_block[block_tensor.long()]) * block
    if full is not None:
        sizes = torch.tensor(numels, dtype=torch.int64)[block_tensor.long()]
        keep = (block_start + block <= sizes) == full
        block_tensor, block_start = block_tensor[keep], block_start[keep]
    return block_tensor, block_start


def local_shard(tensor):
    """This process's shard of a DTensor (FSDP2's parameters and their states, in place);
    a tensor itself otherwise."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


class LaunchTable:
    """The addresses, sizes and blocks of one group's tensors, on their device. Rebuilt only
    when an address changes (a gradient reallocated), so a steady loop builds it once.

    With VECTORIZE a step is two launches of the kernel: the full blocks (EVEN, no masks)
    and the ragged last blocks (masked); either is skipped where it has no block.
    VECTORIZE, BLOCK_CUDA and NUM_WARPS_CUDA are read when the table is built."""

    def __init__(self):
        self.key = None

    def update(self, roles, device):
        addresses = [t.data_ptr() for role in roles for t in role]
        if 0 in addresses:  # a DTensor's address reads 0 (as an empty tensor's does)
            # the step is elementwise: on sharded (DTensor) tensors it runs on this
            # process's shards, as torch.optim's fused Adam does under FSDP2
            roles = [[local_shard(t) for t in role] for role in roles]
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
        self.num_warps = NUM_WARPS_CUDA if device.type == "cuda" else 4
        # a torch allocation starts 512-byte aligned, a view into one may not: check
        self.align = 16 if VECTORIZE and all(a % 16 == 0 for a in addresses) else 1
        splits = (True, False) if VECTORIZE else (None,)
        self.launches = []                          # (EVEN, block_tensor, block_start)
        for full in splits:
            block_tensor, block_start = block_table(numels, self.block, full)
            if block_tensor.numel():
                self.launches.append((bool(full), block_tensor.to(device),
                                      block_start.to(device)))
        self.addresses = torch.tensor(addresses, dtype=torch.int64).to(device)
        self.numels = torch.tensor(numels, dtype=torch.int64).to(device)
        self.n_tensors, self.key = len(numels), key
        return self

    def launch(self, kernel, *args, **constexprs):
        for even, block_tensor, block_start in self.launches:
            kernel[(block_tensor.numel(),)](
                self.addresses, self.n_tensors, block_tensor, block_start, self.numels, *args,
                BLOCK=self.block, EVEN=even, ALIGN=self.align, num_warps=self.num_warps,
                **constexprs)


_ONE = torch.tensor(1.0)


def on_device(group):
    """Whether a group's step counts live on the parameters' device: with capturable=True,
    or fused=True under STEPS_ON_DEVICE (the default)."""
    return bool(group.get("capturable") or (group.get("fused") and STEPS_ON_DEVICE))


def count_steps(states):
    """Add one to each tensor's step count: on the device where they live there, on the host
    otherwise, where adding a 0-d tensor is about four times faster than adding the Python
    number 1 (torch.optim's fused Adam does the same)."""
    steps = [s["step"] for s in states]
    if steps[0].is_cpu:
        torch._foreach_add_(steps, _ONE, alpha=1.0)
    else:
        torch._foreach_add_(steps, 1)


def power(base, exponent):
    """``base ** exponent`` for an integer exponent, by squaring, in float64. The kernel's
    ``power`` does these multiplications in this order: the host and the device agree to
    the bit, which ``base ** exponent`` (C's pow) would not promise."""
    result = 1.0
    while exponent > 0:
        if exponent % 2 == 1:
            result = result * base
        base = base * base
        exponent = exponent // 2
    return result


def adam_scalars(steps, lr, beta1, beta2, device):
    """Per tensor: (lr / (1 - beta1^t), sqrt(1 - beta2^t)) as a float32 (n, 2) table, from
    step counts read on the host, computed in float64 and rounded once to float32. With
    capturable=True the kernel computes the same numbers itself (``bias_corrections``)."""
    table = [(lr / (1 - power(beta1, k)), math.sqrt(1 - power(beta2, k)))
             for k in (int(s) for s in steps)]
    return torch.tensor(table, dtype=torch.float64).to(torch.float32).to(device)


def float_bits(x):
    """The 64 bits of a Python float as an int: how a float64 reaches a Triton kernel,
    whose float arguments are float32."""
    return struct.unpack("<q", struct.pack("<d", float(x)))[0]


def adam_step(table, params, grads, states, group):
    """One fused Adam/AdamW step over a group (state steps already counted). The bias
    corrections go to the kernel as two numbers when every tensor has the same step count
    on the host; as a per-tensor table where the counts differ; and not at all where the
    counts live on the device (capturable=True, or STEPS_ON_DEVICE): the kernel reads them
    there (the table's last role) and computes the corrections itself."""
    beta1, beta2 = group["betas"]
    roles = [params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]]
    if group["amsgrad"]:
        roles.append([s["max_exp_avg_sq"] for s in states])
    steps = [s["step"] for s in states]
    device_steps = group["capturable"] or not steps[0].is_cpu   # the kernel reads them
    if device_steps:
        roles.append(steps)
    table.update(roles, params[0].device)
    counts = set() if device_steps else {s.item() for s in steps}
    scalars, per_tensor = table.addresses, False   # (a placeholder pointer, unused)
    step_size = bias_correction2_sqrt = 0.0
    if len(counts) == 1:                           # one step count: no table to copy over
        step_size, bias_correction2_sqrt = adam_scalars(counts, group["lr"], beta1, beta2,
                                                        "cpu")[0].tolist()
    elif counts:
        scalars = adam_scalars([s.item() for s in steps], group["lr"], beta1, beta2,
                               params[0].device)
        per_tensor = True
    weight_decay = group["weight_decay"]
    table.launch(_kernels().adam_kernel, scalars, step_size, bias_correction2_sqrt,
                 float_bits(group["lr"]), float_bits(beta1), float_bits(beta2),
                 beta2, 1 - beta1, 1 - beta2, group["eps"], weight_decay,
                 1 - group["lr"] * weight_decay, AMSGRAD=group["amsgrad"],
                 MAXIMIZE=group["maximize"], DECOUPLED=group["decoupled_weight_decay"],
                 PER_TENSOR=per_tensor, DEVICE_STEPS=device_steps)


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
