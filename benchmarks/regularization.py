"""The full study behind chapter 8's headline table: every regularizer of
ddlopt.experiments.ch08 in the regime where overfitting is real (300 digits, 30 % of their
labels wrong, a 64-128-128-10 MLP, Adam), each tuned strength tried at every value of its
grid (ch08.GRIDS) over ten seeds, with the validation and test accuracy of every run.

    .venv/bin/python -m benchmarks.regularization [--seeds 10] [--jobs N] [--tools NAME ...]

writes ddlopt/experiments/regularization_grid.json (package data: the chapter reads it,
in Colab too). The chapter picks each tool's strength from it (the highest mean validation
accuracy, ch08.chosen) and reruns only the chosen settings over five seeds, to fit its
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


def _run(job):
    """One training run (a worker's job): (tool, strength, seed) -> its row."""
    tool, strength, seed = job
    try:                                       # small matrices: one BLAS thread each
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:                        # then set OPENBLAS_NUM_THREADS=1 yourself
        limit = contextlib.nullcontext()
    with limit:
        result = ch08.run(tool, strength, seed)
    return {"tool": tool, "strength": strength, "seed": seed,
            **{k: round(v, 6) if isinstance(v, float) else v for k, v in result.items()}}


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
                        help="rerun these tools only (after a grid changed), keeping the "
                             "others' runs from --out")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    unknown = set(args.tools or []) - set(ch08.TOOLS)
    if unknown:
        parser.error(f"--tools: unknown {sorted(unknown)}; known: {', '.join(ch08.TOOLS)}")
    kept, previous_minutes = [], 0.0
    if args.tools:
        previous = ch08.grid_results(args.out)
        if previous["meta"]["seeds"] != seeds:
            parser.error(f"--tools: {args.out} holds other seeds")
        kept = [r for r in previous["runs"] if r["tool"] not in args.tools]
        previous_minutes = previous["meta"]["wall_minutes"]
    jobs = [(tool, strength, seed) for tool in args.tools or ch08.TOOLS
            for strength in ch08.GRIDS.get(tool, [None]) for seed in seeds]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        runs = pool.map(_run, jobs, chunksize=1)
    runs = sorted(kept + runs, key=lambda r: (list(ch08.TOOLS).index(r["tool"]),
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
    picks = ch08.chosen(results)
    for tool in ch08.TOOLS:
        strength = picks.get(tool)
        rows = [r for r in runs if r["tool"] == tool and r["strength"] == strength]
        val = [r["val_accuracy"] for r in rows]
        test = [r["test_accuracy"] for r in rows]
        print(f"{tool:<16} {'' if strength is None else strength:<6} val {np.mean(val):.3f} ± "
              f"{np.std(val, ddof=1):.3f}  test {np.mean(test):.3f} ± "
              f"{np.std(test, ddof=1):.3f}", flush=True)
    print(f"{len(jobs)} runs, seeds {seeds}; {results['meta']['machine']}, {os.cpu_count()} "
          f"CPUs, {results['meta']['date']}, {minutes:.1f} min")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
