"""An optimizer step against its memory floor: torch.optim and ddlopt, every path, one run.

    python -m benchmarks.optim_step [--device cpu|cuda] [--repeats 5] [--out benchmarks/results]

An optimizer step is memory-bound: Adam in float32 reads param, grad, exp_avg and
exp_avg_sq and writes three of them back, 28 bytes per parameter, so no step over N
parameters can take less than ``28 N / bandwidth`` (the *floor*). This script measures the
device's copy bandwidth, then the step time of torch.optim (for-loop, foreach, fused where
the device has it) and of each ddlopt path (NumPy on a CPU, per-tensor, foreach, fused on
CUDA) over a table of (parameters, tensors), each as a multiple of its floor; on CUDA also
a step captured in a CUDA graph and replayed. All paths of one row are timed interleaved
(each repeat times every path once), so the machine's noise hits them alike. Results go to
``<out>/optim_step_<device>_<date>.json`` with the device, versions and date.
"""

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import ddlopt
import ddlopt.optim
import ddlopt.torch
from ddlopt.floor import step_bytes
from ddlopt.torch import fused as ddlopt_fused


SIZES = {  # (parameters, tensors)
    "cuda": [(1 << 20, 8), (1 << 24, 64), (134_000_000, 200), (268_000_000, 16)],
    "cpu": [(1 << 20, 8), (10_000_000, 8)],
}
OPTIMIZERS = {  # name: (ddlopt.torch, torch.optim, ddlopt.optim, kwargs, bytes per parameter)
    "SGD momentum": (ddlopt.torch.SGD, torch.optim.SGD, ddlopt.optim.SGD,
                     dict(lr=0.01, momentum=0.9), step_bytes("sgd", momentum=0.9)),     # 20
    "Adam": (ddlopt.torch.Adam, torch.optim.Adam, ddlopt.optim.Adam, dict(lr=1e-3),
             step_bytes("adam")),                                                   # 28
    "AdamW": (ddlopt.torch.AdamW, torch.optim.AdamW, ddlopt.optim.AdamW, dict(lr=1e-3),
              step_bytes("adamw")),                                                 # 28
    "RMSprop": (ddlopt.torch.RMSprop, torch.optim.RMSprop, ddlopt.optim.RMSprop,
                dict(lr=1e-2), step_bytes("rmsprop")),                              # 20
}


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def seconds_per_step(step, sync, block):
    """Mean seconds of one ``step()`` over a block of ``block`` steps, ``sync`` at both ends."""
    sync()
    start = time.perf_counter()
    for _ in range(block):
        step()
    sync()
    return (time.perf_counter() - start) / block


def copy_bandwidth(device, megabytes, repeats=10):
    """Bytes moved per second by ``dst.copy_(src)`` (each byte read once and written once)."""
    src = torch.ones(megabytes * (1 << 20) // 4, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        dst.copy_(src)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * src.numel() * 4 / min(times)


def shapes(n, tensors):
    """``tensors`` flat tensors holding ``n`` values together, as equal as can be."""
    return [n // tensors + (i < n % tensors) for i in range(tensors)]


def torch_stepper(cls, kwargs, sizes, device, capture=False, **path):
    gen = torch.Generator(device=device).manual_seed(0)
    params = [torch.randn(s, device=device, generator=gen).requires_grad_() for s in sizes]
    for p in params:
        p.grad = torch.randn(p.shape, device=device, generator=gen) * 1e-3
    optimizer = cls(params, **kwargs, **path)
    if not capture:
        return optimizer.step
    return captured(optimizer.step)


def captured(step):
    """The step recorded once in a CUDA graph, then replayed (its launches cost nothing)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up off the default stream, as torch's docs ask
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def numpy_stepper(cls, kwargs, sizes):
    rng = np.random.default_rng(0)
    params = [ddlopt.Parameter(rng.standard_normal(s, dtype=np.float32)) for s in sizes]
    for p in params:
        p.grad = rng.standard_normal(p.data.shape, dtype=np.float32) * np.float32(1e-3)
    return cls(params, **kwargs).step


def torch_fused_works(cls, kwargs, device):
    try:
        w = torch.zeros(4, device=device, requires_grad=True)
        w.grad = torch.ones(4, device=device)
        cls([w], **kwargs, fused=True).step()
        return True
    except (RuntimeError, ValueError, TypeError):
        return False


def paths(name, sizes, device):
    """Every way to take the step on this device: {(library, path): a zero-argument step}."""
    twin, reference, numpy_cls, kwargs, _ = OPTIMIZERS[name]
    out = {
        ("torch.optim", "for-loop"): lambda: torch_stepper(reference, kwargs, sizes, device,
                                                           foreach=False),
        ("torch.optim", "foreach"): lambda: torch_stepper(reference, kwargs, sizes, device,
                                                          foreach=True),
        ("ddlopt", "per-tensor"): lambda: torch_stepper(twin, kwargs, sizes, device,
                                                        foreach=False),
        ("ddlopt", "foreach"): lambda: torch_stepper(twin, kwargs, sizes, device, foreach=True),
    }
    if torch_fused_works(reference, kwargs, device):
        out["torch.optim", "fused"] = lambda: torch_stepper(reference, kwargs, sizes, device,
                                                            fused=True)
    if device == "cpu":
        out["ddlopt", "NumPy"] = lambda: numpy_stepper(numpy_cls, kwargs, sizes)
    elif ddlopt_fused.triton_available():
        out["ddlopt", "fused"] = lambda: torch_stepper(twin, kwargs, sizes, device, fused=True)
    return out


def graph_paths(sizes):
    """Adam captured in a CUDA graph: torch.optim's fused step and ddlopt's."""
    kwargs = dict(lr=1e-3, capturable=True, fused=True)
    return {("torch.optim", "fused, CUDA graph"): lambda: torch_stepper(
                torch.optim.Adam, kwargs, sizes, "cuda", capture=True),
            ("ddlopt", "fused, CUDA graph"): lambda: torch_stepper(
                ddlopt.torch.Adam, kwargs, sizes, "cuda", capture=True)}


def time_paths(makers, device, repeats, block):
    """Median seconds per step of each path, timed interleaved."""
    steps = {key: make() for key, make in makers.items()}
    sync = lambda: synchronize(device)  # noqa: E731
    for step in steps.values():
        seconds_per_step(step, sync, 2)  # warm-up: state, compilation, first-call costs
    times = {key: [] for key in steps}
    for _ in range(repeats):
        for key, step in steps.items():
            times[key].append(seconds_per_step(step, sync, block))
    return {key: statistics.median(t) for key, t in times.items()}


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=5, help="steps per timed block")
    parser.add_argument("--optimizers", nargs="*", default=list(OPTIMIZERS))
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    bandwidth = copy_bandwidth(device, 1024 if device == "cuda" else 256)
    meta = dict(device=device, device_name=device_name(device), torch=torch.__version__,
                numpy=np.__version__, triton=_triton_version(),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                copy_bandwidth_GBps=round(bandwidth / 1e9, 2))
    print(", ".join(f"{k} {v}" for k, v in meta.items()))
    print(f"{'optimizer':<14}{'params':>8}{'tensors':>8}  {'library':<12}{'path':<20}"
          f"{'ms':>10}{'x floor':>9}")
    rows = []
    for n, tensors in SIZES[device]:
        sizes = shapes(n, tensors)
        for name in args.optimizers:
            floor = OPTIMIZERS[name][4] * n / bandwidth
            makers = paths(name, sizes, device)
            if device == "cuda" and name == "Adam" and (n, tensors) == SIZES["cuda"][0]:
                makers.update(graph_paths(sizes))
            for (library, path), seconds in time_paths(makers, device, args.repeats,
                                                       args.block).items():
                rows.append(dict(optimizer=name, parameters=n, tensors=tensors,
                                 library=library, path=path, ms=round(seconds * 1e3, 4),
                                 floor_ms=round(floor * 1e3, 4),
                                 times_floor=round(seconds / floor, 3)))
                print(f"{name:<14}{n / 1e6:>7.1f}M{tensors:>8}  {library:<12}{path:<20}"
                      f"{seconds * 1e3:>10.3f}{seconds / floor:>9.2f}", flush=True)
            torch.cuda.empty_cache() if device == "cuda" else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = f"_{args.threads}threads" if args.threads else ""
    path = out / f"optim_step_{device}_{meta['date']}{threads}.json"
    path.write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {path}")


def _triton_version():
    try:
        import triton
        return triton.__version__
    except ImportError:
        return None


if __name__ == "__main__":
    main()
