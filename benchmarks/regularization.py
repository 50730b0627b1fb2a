"""The full study behind chapter 8's headline table: every regularizer of
ddlopt.experiments.ch08 in the regime where overfitting is real (300 digits, 30 % of their
labels wrong, a 64-128-128-10 MLP, Adam), each tuned strength tried at every value of its
grid (ch08.GRIDS) over ten seeds, with the validation and test accuracy of every run.

    .venv/bin/python -m benchmarks.regularization [--seeds 10] [--jobs N] [--tools NAME ...]

writes ddlopt/experiments/regularization_grid.json (package data: the chapter reads it,
in Colab too). AdamW's weight decay is studied a second time at twice the learning rate.
The chapter picks each tool's strength from it (the highest mean validation accuracy,
ch08.chosen) and reruns only the chosen settings over five seeds, to fit its
time budget. Results are deterministic given the seeds; the wall time is for reading only.
"""

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import time

import numpy as np

import ddlopt
from ddlopt.experiments import ch08


# (tool, learning rate): every tool at the regime's rate, and weight decay again at twice
# the rate (does AdamW's best weight_decay move with the learning rate?)
STUDIES = [(tool, ch08.LR) for tool in ch08.TOOLS] + [("weight decay", 2 * ch08.LR)]


def _run(job):
    """One training run (a worker's job): (tool, strength, seed, lr) -> its row."""
    tool, strength, seed, lr = job
    try:                                       # small matrices: one BLAS thread each
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:                        # then set OPENBLAS_NUM_THREADS=1 yourself
        limit = contextlib.nullcontext()
    with limit:
        result = ch08.run(tool, strength, seed, lr=lr)
    return {"tool": tool, "strength": strength, "seed": seed, "lr": lr,
            **{k: round(v, 6) if isinstance(v, float) else v for k, v in result.items()}}


def _report(tool, strength, lr, rows):
    val = [r["val_accuracy"] for r in rows]
    test = [r["test_accuracy"] for r in rows]
    print(f"{tool:<16} {'' if strength is None else strength:<6} lr {lr:<6g} val "
          f"{np.mean(val):.3f} ± {np.std(val, ddof=1):.3f}  test {np.mean(test):.3f} ± "
          f"{np.std(test, ddof=1):.3f}", flush=True)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--out", default="ddlopt/experiments/regularization_grid.json")
    parser.add_argument("--tools", nargs="+", default=None, metavar="NAME",
                        help="rerun these tools only (after a grid changed; at every rate "
                             "they are studied at), keeping the others' runs from --out")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    unknown = set(args.tools or []) - set(ch08.TOOLS)
    if unknown:
        parser.error(f"--tools: unknown {sorted(unknown)}; known: {', '.join(ch08.TOOLS)}")
    studies = [s for s in STUDIES if not args.tools or s[0] in args.tools]
    kept, previous_minutes = [], 0.0
    if args.tools:
        previous = ch08.grid_results(args.out)
        if previous["meta"]["seeds"] != seeds:
            parser.error(f"--tools: {args.out} holds other seeds")
        kept = [r for r in previous["runs"] if (r["tool"], r["lr"]) not in studies]
        previous_minutes = previous["meta"]["wall_minutes"]
    jobs = [(tool, strength, seed, lr) for tool, lr in studies
            for strength in ch08.GRIDS.get(tool, [None]) for seed in seeds]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        runs = pool.map(_run, jobs, chunksize=1)
    runs = sorted(kept + runs, key=lambda r: (STUDIES.index((r["tool"], r["lr"])),
                                              r["strength"] or 0, r["seed"]))
    minutes = (time.perf_counter() - start) / 60 + previous_minutes
    results = {"meta": {
        "problem": "ddlopt.experiments.ch08: digits / 16, 300 training images with 30 % of "
                   "their labels wrong, MLP 64-128-128-10, Adam lr 1e-3, batch 32, 60 epochs, "
                   "float64",
        "seeds": seeds, "grids": ch08.GRIDS, "date": str(datetime.date.today()),
        "machine": _cpu_model(), "cpus": os.cpu_count(), "jobs": args.jobs,
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "wall_minutes": round(minutes, 2), "ddlopt": ddlopt.__version__,
        "numpy": np.__version__, "python": platform.python_version()},
        "runs": runs}
    for lr in sorted({lr for _, lr in STUDIES}):
        picks = ch08.chosen(results, lr=lr)
        for tool in ch08.TOOLS:
            strength = picks.get(tool)
            rows = [r for r in runs if r["tool"] == tool and r["strength"] == strength
                    and r["lr"] == lr]
            if rows:
                _report(tool, strength, lr, rows)
    print(f"{len(jobs)} runs, seeds {seeds}; {results['meta']['machine']}, {os.cpu_count()} "
          f"CPUs, {results['meta']['date']}, {minutes:.1f} min")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
