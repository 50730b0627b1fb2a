"""The full comparison behind chapter 11: the after-Adam optimizers on the digits MLP
(ddlopt.experiments.ch11), each one's learning rate tuned on the same wide grid (nine rates
a factor of 2 apart around its usual value), five seeds, selection on the validation loss,
results on the test part.

    .venv/bin/python -m benchmarks.after_adam [--steps 300] [--seeds 5] [--jobs N]

writes ddlopt/experiments/after_adam_300steps.json (package data: the chapter prints it,
in Colab too); ``--steps 1000`` runs the same study three times longer.

The chapter runs a reduced version (three rates around the best found here, three seeds)
to fit its time budget; this is the one to quote. Muon + AdamW is tuned after AdamW + cosine:
its AdamW part runs at AdamW + cosine's tuned rate, and only Muon's rate is searched (at
the same budget); a control gives the input layer's matrix to Muon too. Results are
deterministic given the seeds; the wall time is for reading only.
"""

import argparse
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import time

import numpy as np

import ddlopt
from ddlopt.experiments import ch11

# the grid is this times 2^-4 .. 2^4: each method's usual rate, Prodigy's (the default
# multiplier 1 at the grid's top) after a first run found its best at 1/16
CENTRES = {
    "AdamW": 3e-3, "AdamW + cosine": 3e-3, "Schedule-Free AdamW": 3e-3,
    "Lion + cosine": 3e-4, "Adafactor + cosine": 1e-2, "RAdam + cosine": 3e-3,
    "Prodigy + cosine": 0.0625, "Adadelta": 1.0,
    "Muon + AdamW": 0.02, "Muon (input layer too) + AdamW": 0.02,
}


def grid(centre, points=9):
    half = points // 2
    return [float(f"{centre * 2.0 ** k:.6g}") for k in range(-half, half + 1)]


def _method(name, adamw_lr):
    if name.startswith("Muon"):
        return ch11.muon_and_adamw(adamw_lr, input_layer=name == "Muon + AdamW")
    return name


def _run(job):
    """One training run (a worker's job): (name, lr, seed, steps, adamw_lr) -> result."""
    name, lr, seed, steps, adamw_lr = job
    try:                                       # small matrices: one BLAS thread each
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:                        # then set OPENBLAS_NUM_THREADS=1 yourself
        limit = contextlib.nullcontext()
    with limit:
        result = ch11.train(_method(name, adamw_lr), lr, seed, steps=steps)
    return {**result, "curve": result["curve"].tolist()}


def _tune(names, seeds, steps, pool, adamw_lr=None):
    """Every (rate, seed) of every named method, run by the pool; name -> summary."""
    jobs = [(name, lr, seed, steps, adamw_lr) for name in names
            for lr in grid(CENTRES[name]) for seed in seeds]
    done = dict(zip(jobs, pool.map(_run, jobs)))
    return {name: summary(name, {lr: [done[(name, lr, seed, steps, adamw_lr)]
                                      for seed in seeds] for lr in grid(CENTRES[name])},
                          seeds) for name in names}


def summary(name, runs, seeds):
    """What the JSON keeps of one method: every rate's validation and test results over
    the seeds, the best rate (lowest mean validation loss; a diverged seed loses), and the
    mean validation curve at the best rate."""
    rows = [{"lr": lr, "val_loss": [r["val_loss"] for r in rs],
             "test_loss": [r["test_loss"] for r in rs],
             "test_accuracy": [r["test_accuracy"] for r in rs],
             "diverged": sum(r["diverged"] for r in rs)} for lr, rs in runs.items()]
    best = min(rows, key=lambda row: np.mean(row["val_loss"]))
    curves = [np.array(r["curve"]) for r in runs[best["lr"]] if not r["diverged"]]
    print(f"{name:<32} best lr {best['lr']:<8g} val {np.mean(best['val_loss']):.4f} ± "
          f"{np.std(best['val_loss'], ddof=1):.4f}  test {np.mean(best['test_loss']):.4f} ± "
          f"{np.std(best['test_loss'], ddof=1):.4f}  accuracy "
          f"{np.mean(best['test_accuracy']):.4f}", flush=True)
    return {"best_lr": best["lr"], "seeds": list(seeds), "rows": rows,
            "curve_steps": [int(s) for s in curves[0][:, 0]] if curves else [],
            "curve_val_loss": np.mean([c[:, 1] for c in curves], axis=0).tolist()
            if curves else []}


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--centre", action="append", default=[], metavar="NAME=LR",
                        help="move a method's grid (its centre); may be repeated")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="rerun these methods only, keeping the others' results in "
                             "--out (Muon's AdamW rate is read from there)")
    parser.add_argument("--out", default=None, help="default: "
                        "ddlopt/experiments/after_adam_{steps}steps.json (read by the chapter)")
    args = parser.parse_args()
    args.out = args.out or f"ddlopt/experiments/after_adam_{args.steps}steps.json"
    for setting in args.centre:
        name, lr = setting.rsplit("=", 1)
        if name not in CENTRES:
            parser.error(f"--centre: unknown method {name!r}; known: {', '.join(CENTRES)}")
        CENTRES[name] = float(lr)
    unknown = set(args.only) - set(CENTRES)
    if unknown:
        parser.error(f"--only: unknown methods {sorted(unknown)}")
    seeds = list(range(args.seeds))
    previous = {}
    if args.only:
        with open(args.out) as f:
            previous = json.load(f)
        if previous["steps"] != args.steps or previous["seeds"] != seeds:
            parser.error(f"--only: {args.out} holds another study (steps, seeds)")
    wanted = args.only or list(CENTRES)
    start = time.perf_counter()
    results = dict(previous.get("methods", {}))
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        first = [n for n in wanted if not n.startswith("Muon")]
        results.update(_tune(first, seeds, args.steps, pool))
        adamw_lr = results["AdamW + cosine"]["best_lr"]
        muon = _tune([n for n in wanted if n.startswith("Muon")], seeds, args.steps, pool,
                     adamw_lr)
    for name in muon:
        results[name] = {**muon[name], "adamw_lr": adamw_lr}
    results = {name: results[name] for name in CENTRES if name in results}
    minutes = (time.perf_counter() - start) / 60
    header = {"problem": "ddlopt.experiments.ch11: digits, MLP 64-64-64-10, batch 64, float64",
              "steps": args.steps, "seeds": seeds, "grid": "centre * 2^k, k = -4..4",
              "centres": dict(CENTRES),
              "date": str(datetime.date.today()), "machine": platform.machine(),
              "cpus": os.cpu_count(), "jobs": args.jobs, "ddlopt": ddlopt.__version__,
              "numpy": np.__version__, "python": platform.python_version(),
              "wall_minutes": round(minutes + previous.get("wall_minutes", 0), 2)}
    print(f"{len(wanted)} methods, {args.steps} steps, seeds {seeds}; {header['machine']}, "
          f"{os.cpu_count()} CPUs, {header['date']}, {minutes:.1f} min")
    with open(args.out, "w") as f:
        json.dump(_clean({**header, "methods": results}), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
