"""The fused Triton steps against torch.optim, on any device: the checks that
``tests/test_fused.py`` runs in Triton's interpreter on the CPU and ``benchmarks.gpu_run``
runs on a GPU, written once.

Every trajectory starts from the same numbers whatever the device (they are drawn on the
CPU, then moved), runs on a noisy quadratic in float32, and skips the gradient of one
tensor on every third step, so that its step count falls behind (the per-tensor bias
corrections are exercised). Importing this module imports triton: set TRITON_INTERPRET=1
first where the kernels are to run on the CPU.
"""

import warnings

import torch
import triton
import triton.language as tl

import ddlopt.torch
from ddlopt.torch import _triton_kernels as kernels
from ddlopt.torch import fused

SHAPES = [(30, 20), (17,), (5,)]      # one block each in the interpreter (1024 a block)
SHAPES_CUDA = [(30, 20), (17,), (5,), (3 * 2048 + 5,), (64, 64)]   # full blocks and ragged
SKIPPED = 2                            # no gradient on steps divisible by 3
TOLERANCE = 1e-6                       # fp32, 1000 steps: float rounding differs (FMA, lerp)

CASES = {  # name: (ddlopt class, torch.optim class, hyperparameters, steps)
    "Adam L2 amsgrad maximize": (ddlopt.torch.Adam, torch.optim.Adam, dict(
        lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True), 1000),
    "SGD nesterov": (ddlopt.torch.SGD, torch.optim.SGD, dict(
        lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-2), 1000),
    "RMSprop centered momentum": (ddlopt.torch.RMSprop, torch.optim.RMSprop, dict(
        lr=1e-3, centered=True, momentum=0.5, weight_decay=1e-2, maximize=True), 1000),
    "Adam": (ddlopt.torch.Adam, torch.optim.Adam, dict(lr=1e-2), 200),
    "AdamW amsgrad": (ddlopt.torch.AdamW, torch.optim.AdamW, dict(
        lr=1e-2, betas=(0.3, 0.99), weight_decay=0.1, amsgrad=True), 200),  # lerp's other form
    "SGD dampening maximize": (ddlopt.torch.SGD, torch.optim.SGD, dict(
        lr=1e-2, momentum=0.9, dampening=0.3, maximize=True), 200),
    "SGD plain": (ddlopt.torch.SGD, torch.optim.SGD, dict(lr=1e-2, weight_decay=1e-2), 200),
    "RMSprop": (ddlopt.torch.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.3), 200),
}


def trajectory(cls, steps, checkpoints=10, shapes=SHAPES, device="cpu", **kwargs):
    """Parameters every steps/checkpoints steps, on a noisy quadratic, in float32 (under
    maximize the quadratic is upside down, so ascent converges too)."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in shapes]
    sign = -1.0 if kwargs.get("maximize") else 1.0
    curvature = [sign * (torch.rand(s, generator=gen).to(device) + 0.1) for s in shapes]
    opt = cls(params, **kwargs)
    seen = []
    for t in range(steps):
        for i, (p, c) in enumerate(zip(params, curvature)):
            if i == SKIPPED and t % 3 == 0:
                p.grad = None
            else:
                noise = torch.randn(p.shape, generator=gen).to(device)
                p.grad = c * p.detach() + 0.1 * noise
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # a fused run must not fall back to foreach
            opt.step()
        if (t + 1) % (steps // checkpoints) == 0:
            seen.append([p.detach().clone() for p in params])
    if kwargs.get("fused"):
        assert opt._launch_tables, "the fused kernels never ran"
    return seen


def max_relative_error(ours, reference):
    return max(((x - y).norm() / y.norm()).item()
               for step, step_ref in zip(ours, reference, strict=True)
               for x, y in zip(step, step_ref, strict=True))


def same_bits(ours, reference):
    return all(torch.equal(x, y) for a, b in zip(ours, reference, strict=True)
               for x, y in zip(a, b, strict=True))


@triton.jit
def corrections(steps, out, lr_bits, beta1_bits, beta2_bits):
    """The capturable step's bias corrections for the step counts ``steps``, one a program."""
    i = tl.program_id(0)
    step_size, bias_correction2_sqrt = kernels.bias_corrections(
        tl.load(steps + i).to(tl.int64), lr_bits, beta1_bits, beta2_bits)
    tl.store(out + 2 * i, step_size)
    tl.store(out + 2 * i + 1, bias_correction2_sqrt)


def kernel_corrections(counts, lr, beta1, beta2, device="cpu"):
    """The bias corrections the kernel computes for each step count in ``counts``."""
    out = torch.empty(len(counts), 2, device=device)
    steps = torch.as_tensor(counts, dtype=torch.float32).to(device)
    corrections[(len(counts),)](steps, out, fused.float_bits(lr), fused.float_bits(beta1),
                                fused.float_bits(beta2))
    return out.cpu()


def graph_trajectory(steps, device, shapes=SHAPES_CUDA, warmup=3, **kwargs):
    """ddlopt's fused, capturable Adam recorded in a CUDA graph after ``warmup`` eager steps
    (off the default stream, as torch asks) and replayed, against torch.optim.Adam run
    eagerly on the same gradients: the largest relative difference at the end."""
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(s, generator=gen) for s in shapes]
    ours = [x.to(device).requires_grad_() for x in start]
    theirs = [x.to(device).requires_grad_() for x in start]
    for p in ours + theirs:
        p.grad = torch.zeros_like(p)       # the graph reads the gradients from these tensors
    opt = ddlopt.torch.Adam(ours, fused=True, capturable=True, **kwargs)
    reference = torch.optim.Adam(theirs, foreach=False, **kwargs)
    graph, side = None, torch.cuda.Stream()
    for t in range(steps):
        for p, q in zip(ours, theirs):
            g = (0.5 * p.detach() + 0.1 * torch.randn(p.shape, generator=gen).to(device))
            p.grad.copy_(g)
            q.grad.copy_(g)
        if t < warmup:
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                opt.step()
            torch.cuda.current_stream().wait_stream(side)
        else:
            if graph is None:
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    opt.step()                 # recorded, not run
            graph.replay()
        reference.step()
    return max_relative_error([ours], [theirs])


def off_grid_error(device, numel=3 * 2048 + 3):
    """A contiguous parameter one float into its storage (4-byte aligned only, so its table
    must not promise 16): fused SGD with momentum against torch.optim, 20 steps."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(numel, generator=gen)
    storage = torch.zeros(numel + 1, device=device)
    storage[1:] = start.to(device)
    ours, theirs = storage[1:].requires_grad_(), start.to(device).requires_grad_()
    optimizers = [ddlopt.torch.SGD([ours], lr=0.1, momentum=0.9, fused=True),
                  torch.optim.SGD([theirs], lr=0.1, momentum=0.9, foreach=False)]
    for _ in range(20):
        g = torch.randn(numel, generator=gen).to(device)
        for p, opt in zip((ours, theirs), optimizers):
            p.grad = g.clone()
            opt.step()
    assert optimizers[0]._launch_tables[0][False].align == 1   # the later steps' table
    return max_relative_error([[ours.detach()]], [[theirs.detach()]])


def run_checks(device, steps=None, say=print):
    """Every check on ``device``; ``steps`` caps the trajectories' length (a rehearsal).
    Returns [{name, value, limit, passed}]; says each as it finishes."""
    results = []

    def record(name, value, limit, passed):
        results.append(dict(name=name, value=value, limit=limit, passed=bool(passed)))
        say(f"{'PASS' if passed else 'FAIL'}  {name}: {value} (limit {limit})")

    shapes = SHAPES_CUDA if device == "cuda" else SHAPES
    for name, (ours, reference, kwargs, n) in CASES.items():
        n = min(n, steps or n)
        fused_run = trajectory(ours, n, shapes=shapes, device=device, fused=True, **kwargs)
        torch_run = trajectory(reference, n, shapes=shapes, device=device, foreach=False,
                               **kwargs)
        error = max_relative_error(fused_run, torch_run)
        record(f"{name}, fused vs torch.optim, {n} steps", f"{error:.1e}", TOLERANCE,
               error <= TOLERANCE)
    for cls, kwargs in [(ddlopt.torch.Adam, dict(lr=1e-2, weight_decay=0.1)),
                        (ddlopt.torch.AdamW, dict(lr=1e-2, amsgrad=True))]:
        n = min(100, steps or 100)
        plain = trajectory(cls, n, shapes=shapes, device=device, fused=True, **kwargs)
        capturable = trajectory(cls, n, shapes=shapes, device=device, fused=True,
                                capturable=True, **kwargs)
        record(f"{cls.__name__} capturable vs not, {n} steps", "same bits" if same_bits(
            plain, capturable) else "differ", "same bits", same_bits(plain, capturable))
    n = min(100, steps or 100)
    vectorized = trajectory(ddlopt.torch.Adam, n, shapes=shapes, device=device, fused=True)
    with fused.launch_settings(VECTORIZE=False):
        plain = trajectory(ddlopt.torch.Adam, n, shapes=shapes, device=device, fused=True)
    record(f"Adam with and without 16-byte loads, {n} steps", "same bits" if same_bits(
        vectorized, plain) else "differ", "same bits", same_bits(vectorized, plain))
    with fused.launch_settings(STEPS_ON_DEVICE=False):
        on_host = trajectory(ddlopt.torch.Adam, n, shapes=shapes, device=device, fused=True)
    record(f"Adam with its step counts on the device and not, {n} steps", "same bits" if
           same_bits(vectorized, on_host) else "differ", "same bits",
           same_bits(vectorized, on_host))
    error = off_grid_error(device)
    record("SGD on a view 4 bytes off the 16-byte grid vs torch.optim", f"{error:.1e}",
           TOLERANCE, error <= TOLERANCE)
    counts = list(range(1, 1 + min(20000, steps or 20000)))
    host = fused.adam_scalars(counts, 3e-4, 0.9, 0.999, device="cpu")
    kernel = kernel_corrections(counts, 3e-4, 0.9, 0.999, device=device)
    record(f"bias corrections, kernel vs host, t = 1..{len(counts)}",
           "same bits" if torch.equal(host, kernel) else "differ", "same bits",
           torch.equal(host, kernel))
    if device == "cuda":
        n = min(1000, steps or 1000)
        error = graph_trajectory(n, device, lr=1e-2, weight_decay=0.1)
        record(f"Adam captured in a CUDA graph vs torch.optim eager, {n} steps",
               f"{error:.1e}", TOLERANCE, error <= TOLERANCE)
    return results
