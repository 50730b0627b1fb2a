"""The full digits study behind chapter 3: plain SGD, the heavy ball and Nesterov (β = 0.9)
on the digits MLP (ddlopt.experiments.ch03), compared at the same *effective* learning rate
η/(1 − β), over a grid of effective rates a factor of about 3 apart, five seeds, 20 epochs;
the rate is chosen on the validation loss, the chosen setting reported on the test part.

    .venv/bin/python -m benchmarks.momentum_digits [--seeds 5] [--jobs 2]

writes ddlopt/experiments/momentum_digits.json (package data: the chapter prints it, in
Colab too). The chapter runs a reduced version (plain SGD and the heavy ball, three seeds)
to fit its time budget. Results are deterministic given the seeds; the wall time is for
reading only.
"""

import argparse
import datetime
import json
import multiprocessing
import platform
import time
from pathlib import Path

import ddlopt
from ddlopt.experiments import ch03

EFFECTIVE_LRS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
MOMENTUM = 0.9
METHODS = {  # name -> SGD's arguments besides lr
    "SGD": {},
    "heavy ball": {"momentum": MOMENTUM},
    "Nesterov": {"momentum": MOMENTUM, "nesterov": True},
}
OUT = Path(ch03.__file__).with_name("momentum_digits.json")


def lr_of(method, effective_lr):
    """The learning rate that gives ``method`` the effective rate η/(1 − β)."""
    return effective_lr * (1 - METHODS[method].get("momentum", 0.0))


def run(job):
    """One training run: (method, effective rate, seed, epochs) -> the run's row."""
    method, effective_lr, seed, epochs = job
    lr = lr_of(method, effective_lr)
    result = ch03.train_digits(lr, seed=seed, epochs=epochs, **METHODS[method])
    return {"method": method, "effective_lr": effective_lr, "lr": lr, "seed": seed,
            **result}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    jobs = [(method, eff, seed, args.epochs) for method in METHODS
            for eff in EFFECTIVE_LRS for seed in range(args.seeds)]
    start = time.perf_counter()
    with multiprocessing.Pool(args.jobs) as pool:
        runs = pool.map(run, jobs)
    result = {"effective_lrs": EFFECTIVE_LRS, "seeds": list(range(args.seeds)),
              "epochs": args.epochs, "momentum": MOMENTUM, "runs": runs,
              "ddlopt": ddlopt.__version__, "numpy": __import__("numpy").__version__,
              "machine": platform.machine(), "date": datetime.date.today().isoformat(),
              "wall_seconds": round(time.perf_counter() - start, 1)}
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(runs)} runs in {result['wall_seconds']} s -> {OUT}")


if __name__ == "__main__":
    main()
