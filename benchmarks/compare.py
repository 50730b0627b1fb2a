"""The fuller optimizer comparison behind chapter 9: the eight optimizers on the digits MLP,
each with its learning rate tuned on a wide grid, over five seeds, for 30 epochs.

    .venv/bin/python -m benchmarks.compare [--epochs 30] [--seeds 5] [--out benchmarks/compare_results.json]

The chapter runs a reduced version (fewer epochs, learning rates and seeds) to fit its time
budget; this is the one to quote. It prints the table of each optimizer at its best learning
rate, then the learning-rate sensitivity (the mean best validation accuracy at every rate),
and writes every run (its settings, results and curve) as JSON. Results are deterministic
given the seeds; the wall time printed is for reading only.
"""

import argparse
import datetime
import json
import math
import platform
import time

import numpy as np

import ddlopt
from ddlopt.study import OPTIMIZERS, compare, mlp_problem

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0]


def sensitivity_table(study):
    """Rows: learning rates; columns: optimizers; cells: the mean best validation accuracy."""
    means = {(r["optimizer"], r["lr"]): r for r in study.summary()}
    lines = ["lr       " + "".join(f"{name:>10}" for name in OPTIMIZERS)]
    for lr in LRS:
        cells = []
        for name in OPTIMIZERS:
            row = means[(name, lr)]
            cells.append(f"{'diverged' if row['diverged'] else format(row['mean'], '.3f'):>10}")
        lines.append(f"{lr:<9g}" + "".join(cells))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/compare_results.json")
    args = parser.parse_args()

    seeds = list(range(args.seeds))
    start = time.perf_counter()
    study = compare(OPTIMIZERS, mlp_problem("digits"), lrs=LRS, seeds=seeds, epochs=args.epochs,
                    batch_size=args.batch_size, progress=True)
    minutes = (time.perf_counter() - start) / 60

    print(f"digits MLP 64-64-10 (ReLU), batch {args.batch_size}, {args.epochs} epochs, seeds {seeds}, "
          f"{len(study)} runs; ddlopt {ddlopt.__version__}, numpy {np.__version__}, "
          f"{platform.machine()}, {datetime.date.today()}, {minutes:.1f} min")
    print()
    print(study.to_markdown())
    print()
    print(sensitivity_table(study))

    rows = [{**r, "best": None if math.isnan(r["best"]) else round(r["best"], 6),
             "curve": [round(v, 6) for v in r["curve"]]} for r in study.rows]  # accuracies are k/360
    with open(args.out, "w") as f:
        json.dump({"problem": "mlp_problem('digits')", "epochs": args.epochs, "batch_size": args.batch_size,
                   "seeds": seeds, "lrs": LRS, "metric": study.metric, "target": study.target,
                   "date": str(datetime.date.today()), "machine": platform.machine(), "rows": rows},
                  f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
