"""An optimizer step against its memory floor: torch.optim and ddlopt, every path, one run.

    python -m benchmarks.optim_step [--device cpu|cuda] [--repeats 7] [--out benchmarks/results]

An optimizer step is memory-bound: Adam in float32 reads param, grad, exp_avg and
exp_avg_sq and writes three of them back, 28 bytes per parameter, so no step over N
parameters can take less than ``28 N / bandwidth`` (the *floor*). This script measures the
device's bandwidth three ways (a copy, an in-place scale, a triad ``a = b + s c``) and takes
the fastest as W, then the step time of torch.optim (for-loop, foreach, fused where the
device has it) and of each ddlopt path (NumPy on a CPU; per-tensor, foreach; on CUDA fused,
fused without the 16-byte vector loads, and Adam's fused step captured in a CUDA graph and
replayed, beside torch's) over a table of (parameters, tensors), each as a multiple of its
floor. All paths of one row are timed interleaved (each repeat times every path once), so
the machine's noise hits them alike; on CUDA a timed block holds at least 2 ms of floor, so
that the synchronization at its ends does not count. Results go to
``<out>/optim_step_<device>_<date>.json`` with the device, versions and date.
"""

import argparse
import datetime
import json
import math
import platform
import statistics
from pathlib import Path

import numpy as np
import torch

import ddlopt
import ddlopt.optim
import ddlopt.torch
from ddlopt.floor import step_bytes
from ddlopt.torch import fused as ddlopt_fused
from ddlopt.torch.timing import (bandwidths, interleaved, seconds_per_step, stepper,
                                 synchronize)


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


def shapes(n, tensors):
    """``tensors`` flat tensors holding ``n`` values together, as equal as can be."""
    return [n // tensors + (i < n % tensors) for i in range(tensors)]


def torch_stepper(cls, kwargs, sizes, device, capture=False, **path):
    step = stepper(cls, sizes, device, **kwargs, **path)
    return captured(step) if capture else step


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

    def replay():
        graph.replay()
    # The graph holds raw addresses, not the tensors: keep the optimizer (through its bound
    # step: parameters, gradients, state, launch tables) alive as long as the replay is, or
    # the allocator may hand their memory back to the driver and a replay then faults.
    replay.optimizer_step = step
    return replay


def numpy_stepper(cls, kwargs, sizes):
    return stepper(cls, sizes, **kwargs)


def torch_fused_works(cls, kwargs, device):
    try:
        w = torch.zeros(4, device=device, requires_grad=True)
        w.grad = torch.ones(4, device=device)
        cls([w], **kwargs, fused=True).step()
        return True
    except (RuntimeError, ValueError, TypeError):
        return False


def built_with(settings, make):
    """A stepper whose first step (which builds the launch table) ran under ``settings``."""
    def maker():
        step = make()
        with ddlopt_fused.launch_settings(**settings):
            step()
        return step
    return maker


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
    if fused_runs(device):
        out["ddlopt", "fused"] = lambda: torch_stepper(twin, kwargs, sizes, device, fused=True)
        out["ddlopt", "fused, 4-byte loads"] = built_with(
            dict(VECTORIZE=False), lambda: torch_stepper(twin, kwargs, sizes, device,
                                                         fused=True))
        if device == "cuda" and name != "SGD momentum":   # SGD counts no steps
            out["ddlopt", "fused, steps on host"] = built_with(
                dict(STEPS_ON_DEVICE=False), lambda: torch_stepper(twin, kwargs, sizes, device,
                                                                   fused=True))
    return out


def fused_runs(device):
    """Whether ddlopt's fused step runs here: on CUDA with Triton, or on the CPU in Triton's
    interpreter where it is switched on (a rehearsal: ``gpu_run --dry-run``)."""
    if device == "cuda":
        return ddlopt_fused.triton_available()
    return ddlopt_fused.fused_runs_here([torch.zeros(1)])


def graph_paths(sizes):
    """Adam captured in a CUDA graph: torch.optim's fused step and ddlopt's."""
    kwargs = dict(lr=1e-3, capturable=True, fused=True)
    return {("torch.optim", "fused, CUDA graph"): lambda: torch_stepper(
                torch.optim.Adam, kwargs, sizes, "cuda", capture=True),
            ("ddlopt", "fused, CUDA graph"): lambda: torch_stepper(
                ddlopt.torch.Adam, kwargs, sizes, "cuda", capture=True)}


def config_paths(sizes, configs, device="cuda"):
    """ddlopt's fused Adam with other launch settings: {("ddlopt", label): maker}."""
    kwargs = dict(lr=1e-3)
    return {("ddlopt", f"fused, BLOCK {block}, {warps} warps"): built_with(
                dict(BLOCK_CUDA=block, NUM_WARPS_CUDA=warps),
                lambda: torch_stepper(ddlopt.torch.Adam, kwargs, sizes, device, fused=True))
            for block, warps in configs}


def time_paths(makers, device, repeats, block, errors=None):
    """Median seconds per step of each path, timed interleaved. A path that fails to build
    or to run is left out; its error goes to ``errors`` (a dict) where one is given."""
    steps = {}
    sync = lambda: synchronize(device)  # noqa: E731
    for key, make in makers.items():
        try:
            steps[key] = make()
            seconds_per_step(steps[key], sync, 2)  # warm-up: state, compilation, first calls
        except Exception as error:  # noqa: BLE001 -- one broken path must not stop the run
            if errors is None:
                raise
            steps.pop(key, None)
            errors[key] = f"{type(error).__name__}: {error}"
    return interleaved(steps, repeats, block, device, summary=statistics.median)


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def measure_bandwidth(device, megabytes=None, say=print):
    """The probes, and W: the fastest of them (so that no step beats its floor by a probe's
    handicap, such as a CPU copy's hidden read of every line it writes)."""
    megabytes = megabytes or (1024 if device == "cuda" else 256)
    probes = bandwidths(device, megabytes)
    say("bandwidth, " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in probes.items())
        + f" ({megabytes} MB arrays)")
    return max(probes.values()), {k: round(v / 1e9, 2) for k, v in probes.items()}


def run(device, sizes, optimizers=tuple(OPTIMIZERS), repeats=7, block=5, bandwidth=None,
        min_block_seconds=2e-3, say=print, configs=()):
    """Time every path of every optimizer at every (parameters, tensors) in ``sizes``; with
    ``configs``, (BLOCK, num_warps) pairs, only ddlopt's fused Adam under each of them.
    Returns (rows, errors): one row a timed path; errors, the paths that failed, by row."""
    rows, errors = [], {}
    say(f"{'optimizer':<14}{'params':>8}{'tensors':>8}  {'library':<12}{'path':<32}"
        f"{'ms':>10}{'x floor':>9}")
    for n, tensors in sizes:
        split = shapes(n, tensors)
        for name in ["Adam"] if configs else optimizers:
            floor = OPTIMIZERS[name][4] * n / bandwidth
            if configs:
                makers = config_paths(split, configs, device)
            else:
                makers = paths(name, split, device)
                if device == "cuda" and name == "Adam":
                    makers.update(graph_paths(split))
            steps_per_block = block
            if device == "cuda":   # the block's ends synchronize: make that a small part
                steps_per_block = max(block, math.ceil(min_block_seconds / floor))
            failed = {}
            timed = time_paths(makers, device, repeats, steps_per_block, failed)
            for (library, path), seconds in timed.items():
                rows.append(dict(optimizer=name, parameters=n, tensors=tensors,
                                 library=library, path=path, ms=round(seconds * 1e3, 4),
                                 floor_ms=round(floor * 1e3, 4),
                                 times_floor=round(seconds / floor, 3)))
                say(f"{name:<14}{n / 1e6:>7.1f}M{tensors:>8}  {library:<12}{path:<32}"
                    f"{seconds * 1e3:>10.3f}{seconds / floor:>9.2f}")
            for (library, path), error in failed.items():
                errors[f"{name}, {n}, {tensors}, {library}, {path}"] = error
                say(f"{name:<14}{n / 1e6:>7.1f}M{tensors:>8}  {library:<12}{path:<32}"
                    f"    FAILED: {error[:200]}")
            if device == "cuda":
                torch.cuda.empty_cache()
    return rows, errors


def metadata(device, bandwidth, probes):
    return dict(device=device, device_name=device_name(device), torch=torch.__version__,
                numpy=np.__version__, triton=_triton_version(),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                bandwidth_GBps=round(bandwidth / 1e9, 2), probes_GBps=probes,
                copy_bandwidth_GBps=probes["copy"])


def parse_sizes(text):
    """``"1048576x8,3000x3"`` -> [(1048576, 8), (3000, 3)]."""
    return [tuple(int(x) for x in item.split("x")) for item in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--block", type=int, default=5, help="steps per timed block, at least")
    parser.add_argument("--sizes", type=parse_sizes, help="e.g. 1048576x8,16777216x64")
    parser.add_argument("--optimizers", nargs="*", default=list(OPTIMIZERS))
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    bandwidth, probes = measure_bandwidth(device)
    meta = metadata(device, bandwidth, probes)
    print(", ".join(f"{k} {v}" for k, v in meta.items()))
    rows, errors = run(device, args.sizes or SIZES[device], args.optimizers, args.repeats,
                       args.block, bandwidth, say=lambda line: print(line, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = f"_{args.threads}threads" if args.threads else ""
    path = out / f"optim_step_{device}_{meta['date']}{threads}.json"
    path.write_text(json.dumps({**meta, "rows": rows, "errors": errors}, indent=1) + "\n")
    print(f"wrote {path}")


def _triton_version():
    try:
        import triton
        return triton.__version__
    except ImportError:
        return None


if __name__ == "__main__":
    main()
