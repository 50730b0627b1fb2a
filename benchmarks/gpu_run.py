"""Chapter 10's GPU run: everything the chapter needs from a GPU, in one command.

    bash benchmarks/gpu_run.sh OUT              # on a machine with a CUDA GPU, a few minutes
    bash benchmarks/gpu_run.sh OUT --dry-run    # a rehearsal on the CPU (tests/test_gpu_run.py)

A GPU is lent to this project now and then, for minutes, so this script does all of it in
one go, says each result as it comes (a run cut short still says what it did), and never
stops at a broken part: it records the error and goes on. In order:

1. the machine: GPU, Python, torch, triton, numpy;
2. the fused kernels' checks on the device (``benchmarks.fused_check``): each optimizer
   against torch.optim over up to 1000 steps within 1e-6, capturable against not to the bit,
   the kernel's bias corrections against the host's, Adam replayed from a CUDA graph;
3. the bandwidth probes (copy, in-place, triad) and W, the fastest;
4. ``benchmarks.optim_step`` at (268M, 16), (134M, 200), (16M, 64) and (1M, 8) parameters
   and tensors, for SGD with momentum, Adam, AdamW and RMSprop, every path;
5. the host's time per step (many tiny tensors: the device has nothing to do), with a
   profile of where ddlopt's goes;
6. ddlopt's fused Adam under other launch settings (BLOCK, num_warps), at two sizes;
7. the targets of chapter 10 against what was measured, last.

It writes ``OUT/optim_step_<device>_<date>.json`` (the rows chapter 10 reads) and
``OUT/gpu_run_<device>_<date>.json`` (the checks, the machine and the targets); the shell
wrapper adds ``OUT/gpu_run.log``. ddlopt is imported from the working tree, with whatever
torch and triton the machine has; nothing comes from the network.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

SIZES = {  # role: (parameters, tensors)
    "large, few tensors": (268_000_000, 16),
    "large, many tensors": (134_000_000, 200),
    "medium": (1 << 24, 64),
    "small": (1 << 20, 8),
}
DRY_SIZES = {  # the same roles, small enough for Triton's interpreter on a CPU
    "large, few tensors": (8192, 2),
    "large, many tensors": (6000, 5),
    "medium": (4096, 2),
    "small": (2048, 1),
}
CONFIGS = [(1024, 4), (2048, 4), (2048, 8), (4096, 4), (4096, 8), (8192, 8)]  # BLOCK, warps
CONFIG_ROLES = ("large, few tensors", "medium")


def targets(sizes):
    """Chapter 10's targets: (what, optimizer, (parameters, tensors), kind, limit). ``kind``:
    ``floor`` (ddlopt fused over its floor, at most), ``vs torch fused`` (torch.optim's fused
    time over ddlopt's, at least), ``graph us`` (microseconds per replayed step, below)."""
    large = [sizes["large, few tensors"], sizes["large, many tensors"]]
    out = [("ddlopt fused Adam / floor", "Adam", size, "floor", 1.10) for size in large]
    out.append(("ddlopt fused Adam / floor", "Adam", sizes["medium"], "floor", 1.5))
    out.append(("torch fused Adam / ddlopt fused Adam", "Adam", sizes["large, many tensors"],
                "vs torch fused", 1.5))
    out.append(("ddlopt Adam, CUDA graph, us per step", "Adam", sizes["small"], "graph us", 30))
    for name in ("SGD momentum", "AdamW"):
        out += [(f"ddlopt fused {name} / floor", name, size, "floor", 1.15) for size in large]
    return out


def find(rows, optimizer, size, library, path):
    for row in rows:
        if (row["optimizer"], (row["parameters"], row["tensors"]), row["library"],
                row["path"]) == (optimizer, size, library, path):
            return row
    return None


def judge(rows, sizes):
    """Each target with the measured value and whether it is met (None: not measured)."""
    verdicts = []
    for what, optimizer, size, kind, limit in targets(sizes):
        ours = find(rows, optimizer, size, "ddlopt", "fused")
        value = None
        if kind == "floor" and ours:
            value, met = ours["times_floor"], ours["times_floor"] <= limit
        elif kind == "vs torch fused":
            theirs = find(rows, optimizer, size, "torch.optim", "fused")
            if ours and theirs:
                value = round(theirs["ms"] / ours["ms"], 3)
                met = value >= limit
        elif kind == "graph us":
            graph = find(rows, optimizer, size, "ddlopt", "fused, CUDA graph")
            if graph:
                value, met = round(graph["ms"] * 1e3, 2), graph["ms"] * 1e3 < limit
        verdicts.append(dict(target=what, optimizer=optimizer, parameters=size[0],
                             tensors=size[1], limit=limit, kind=kind, value=value,
                             met=None if value is None else bool(met)))
    return verdicts


def host_overhead(device, counts, repeats, block, say=print):
    """Seconds per step of Adam over ``n`` tensors of 256 values each, for n in ``counts``:
    the device's work is nothing, so this is what the host spends on a step (the Python
    around the kernels and their launches). A cProfile of ddlopt's fused step at the largest
    n shows where that time goes."""
    import cProfile
    import io
    import pstats

    import ddlopt.torch
    import torch
    from benchmarks import optim_step
    rows = []
    for n in counts:
        makers = {
            ("torch.optim", "fused"): lambda: optim_step.torch_stepper(
                torch.optim.Adam, dict(lr=1e-3), [256] * n, device, fused=True),
            ("ddlopt", "fused"): lambda: optim_step.torch_stepper(
                ddlopt.torch.Adam, dict(lr=1e-3), [256] * n, device, fused=True),
            ("ddlopt", "fused, steps on host"): optim_step.built_with(
                dict(STEPS_ON_DEVICE=False), lambda: optim_step.torch_stepper(
                    ddlopt.torch.Adam, dict(lr=1e-3), [256] * n, device, fused=True))}
        if device == "cuda":
            makers.update(optim_step.graph_paths([256] * n))
        for (library, path), seconds in optim_step.time_paths(makers, device, repeats,
                                                              block).items():
            rows.append(dict(tensors=n, library=library, path=path, us=round(seconds * 1e6, 1)))
            say(f"Adam, {n:>4} tensors of 256 values: {library:<12}{path:<20}"
                f"{seconds * 1e6:>9.1f} us per step")
    step = optim_step.torch_stepper(ddlopt.torch.Adam, dict(lr=1e-3), [256] * max(counts),
                                    device, fused=True)
    step()
    profile = cProfile.Profile()
    profile.runcall(lambda: [step() for _ in range(block)])
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
    say(text.getvalue())
    return rows


def machine(device):
    import numpy as np
    import torch
    info = dict(python=platform.python_version(), torch=torch.__version__,
                numpy=np.__version__, cpu_count=os.cpu_count(), device=device)
    try:
        import triton
        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_GiB=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count,
                    capability=f"{props.major}.{props.minor}", cuda=torch.version.cuda)
        try:
            info["nvidia_smi"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem",
                 "--format=csv,noheader"], capture_output=True, text=True,
                timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError) as error:
            info["nvidia_smi"] = f"not run: {error}"
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the JSON files")
    parser.add_argument("--dry-run", action="store_true",
                        help="rehearse on the CPU: Triton's interpreter, tiny sizes, short runs")
    parser.add_argument("--budget", type=float, default=420,
                        help="seconds; parts that would start later are skipped")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.dry_run:   # before triton is first imported
        os.environ["TRITON_INTERPRET"] = "1"
        os.environ["DDLOPT_FUSED_INTERPRET"] = "1"
    import torch

    from benchmarks import fused_check, optim_step

    device = "cpu" if args.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: run with --dry-run for the CPU rehearsal")
    sizes = DRY_SIZES if args.dry_run else SIZES
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = dict(dry_run=args.dry_run, machine=machine(device), sections={}, errors={})
    date = time.strftime("%Y-%m-%d", time.gmtime())
    report_path = out / f"gpu_run_{device}_{date}.json"

    def say(line):
        print(line, flush=True)

    def save():
        report_path.write_text(json.dumps(report, indent=1) + "\n")

    def section(name, work):
        """Run one part, timed; an exception is recorded, and the run goes on."""
        elapsed = time.perf_counter() - started
        if elapsed > args.budget:
            say(f"\n== {name}: skipped, {elapsed:.0f} s past the start (budget {args.budget} s)")
            report["sections"][name] = "skipped"
            return None
        say(f"\n== {name} ({elapsed:.0f} s from the start)")
        t0 = time.perf_counter()
        try:
            result = work()
        except Exception:  # noqa: BLE001 -- a broken part must not cost the rest of the run
            report["errors"][name] = traceback.format_exc()
            say(report["errors"][name])
            result = None
        report["sections"][name] = round(time.perf_counter() - t0, 1)
        save()
        return result

    say(json.dumps(report["machine"]))
    save()
    report["checks"] = section("checks on the device", lambda: fused_check.run_checks(
        device, steps=20 if args.dry_run else None, say=say))
    measured = section("bandwidth", lambda: optim_step.measure_bandwidth(
        device, megabytes=8 if args.dry_run else 1024, say=say))
    rows = []
    if measured:
        bandwidth, probes = measured
        meta = optim_step.metadata(device, bandwidth, probes)
        report["bandwidth"] = meta
        step_path = out / f"optim_step_{device}_{date}.json"
        errors = {}
        repeats, block = (1, 1) if args.dry_run else (7, 5)
        for role, size in sizes.items():   # one size a section: the budget is checked between
            result = section(f"optim_step at {size[0]} parameters in {size[1]} tensors ({role})",
                             lambda size=size: optim_step.run(
                                 device, [size], repeats=repeats, block=block,
                                 bandwidth=bandwidth, say=say))
            if result:
                rows += result[0]
                errors.update(result[1])
                step_path.write_text(json.dumps({**meta, "rows": rows, "errors": errors},
                                                indent=1) + "\n")
        report["host"] = section("host time of a step", lambda: host_overhead(
            device, (8, 64, 200), repeats, 1 if args.dry_run else 200, say=say))
        config_sizes = [sizes[role] for role in CONFIG_ROLES]
        result = section("fused Adam launch settings", lambda: optim_step.run(
            device, config_sizes, repeats=repeats, block=block, bandwidth=bandwidth, say=say,
            configs=CONFIGS))
        if result:
            report["configs"], report["config_errors"] = result
    report["targets"] = judge(rows, sizes)
    save()
    say("\n== summary")
    failed = [c for c in report.get("checks") or [] if not c["passed"]]
    say(f"checks: {len(report.get('checks') or []) - len(failed)} passed, {len(failed)} failed"
        + "".join(f"\n  FAILED {c['name']}: {c['value']}" for c in failed))
    if report["errors"]:
        say(f"parts that raised: {', '.join(report['errors'])}")
    say(f"{'target':<40}{'size':>16}{'limit':>8}{'measured':>10}  met")
    for v in report["targets"]:
        n = v["parameters"]
        size = f"{f'{n / 1e6:g}M' if n >= 1e6 else n}, {v['tensors']}"
        value = "-" if v["value"] is None else f"{v['value']:g}"
        met = {None: "not measured", True: "yes", False: "NO"}[v["met"]]
        say(f"{v['target'][:39]:<40}{size:>16}{v['limit']:>8g}{value:>10}  {met}")
    say(f"wrote {report_path}; {time.perf_counter() - started:.0f} s in all")
    return 1 if failed or report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
