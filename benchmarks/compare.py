"""The full optimizer comparison behind chapter 9: SGD, momentum, Adam and AdamW on a
small-training-set digits MLP, each tuned by random search over its learning rate and one
other hyperparameter at an equal budget of trials, chosen on validation loss, and reported
on a held-out test split over seeds (``ddlopt.experiments.ch09.tune_and_test``).

    .venv/bin/python -m benchmarks.compare [--trials 48] [--tune-seeds 2] [--seeds 10]

The chapter runs a reduced version (fewer trials, seeds and epochs) to fit its time budget;
this is the one to quote. It prints, per training-set size, each optimizer's chosen setting
and its test loss and accuracy (mean ± sample std over seeds), and writes every trial as
JSON. Results are deterministic given the seeds; the wall time is for reading only.
"""

import argparse
import datetime
import inspect
import json
import platform
import time

import numpy as np

import ddlopt
from ddlopt.experiments.ch09 import full_study


def table(results):
    lines = ["| optimizer | chosen setting | test loss | test accuracy |", "|---|---|---|---|"]
    for name, r in results.items():
        setting = ", ".join(f"{k} {v:.3g}" for k, v in r["chosen"].items())
        lines.append(f"| {name} | {setting} | {r['test_loss']:.3f} | {r['test_accuracy']:.3f} |")
    return "\n".join(lines)


def main():
    defaults = {k: v.default for k, v in inspect.signature(full_study).parameters.items()}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=defaults["trials"])
    parser.add_argument("--tune-seeds", type=int, default=defaults["tune_seeds"])
    parser.add_argument("--seeds", type=int, default=defaults["test_seeds"])
    parser.add_argument("--epochs", type=int, default=defaults["epochs"])
    parser.add_argument("--n-train", type=int, nargs="+", default=list(defaults["n_train"]))
    parser.add_argument("--out", default="benchmarks/compare_results.json")
    args = parser.parse_args()

    tune_seeds = list(range(args.tune_seeds))
    seeds = list(range(args.tune_seeds, args.tune_seeds + args.seeds))
    start = time.perf_counter()
    runs = full_study(trials=args.trials, tune_seeds=args.tune_seeds, test_seeds=args.seeds,
                      epochs=args.epochs, n_train=args.n_train)
    for n_train, results in runs.items():
        print(f"## digits, {n_train} training images, MLP 64-64-10 (ReLU), batch 32, "
              f"{args.epochs} epochs, {args.trials} trials per optimizer (each run with "
              f"seeds {tune_seeds}), test seeds {seeds}")
        print()
        print(table(results))
        print()
    minutes = (time.perf_counter() - start) / 60
    print(f"ddlopt {ddlopt.__version__}, numpy {np.__version__}, {platform.machine()}, "
          f"{platform.processor() or 'cpu'}, {datetime.date.today()}, {minutes:.1f} min")

    dump = {"date": str(datetime.date.today()), "machine": platform.machine(),
            "wall_minutes": round(minutes, 1), "trials": args.trials, "seeds": seeds,
            "tune_seeds": tune_seeds,
            "epochs": args.epochs, "results": {
                str(n): {name: {"chosen": r["chosen"], "trials": r["trials"],
                                "test_loss": list(r["test_loss"].values),
                                "test_accuracy": list(r["test_accuracy"].values)}
                         for name, r in results.items()} for n, results in runs.items()}}
    with open(args.out, "w") as f:
        json.dump(dump, f, indent=None, separators=(",", ":"), default=float)
        f.write("\n")


if __name__ == "__main__":
    main()
